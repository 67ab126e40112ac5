// ChainReport: the outcome of `pkiflow validate`, as named rules with an outcome and a reason
// (STYLE.md, 1). Rules are added one by one; the verdict is derived, never stored.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pkiflow::pki {

enum class Outcome {
  pass,       // the rule holds
  warn,       // worth a look, does not make the chain invalid
  fail,       // the chain must not be uploaded
  unchecked,  // the rule could not be evaluated (e.g. no CRL given); not a failure
};
const char* to_string(Outcome o);

struct RuleResult {
  std::string rule;  // a name from the rule catalog, e.g. "path.signature"
  Outcome outcome = Outcome::pass;
  std::string reason;               // what was found, in words a user can act on
  std::optional<std::size_t> cert;  // index into ChainReport::path, when about one certificate
};

// One certificate of the path that was checked, leaf first, trust anchor last.
struct PathEntry {
  std::string subject;
  std::string issuer;
  std::string sha256;
  std::string source;  // "cert", "chain" or "trust"
};

enum class Verdict { valid, invalid };

// RFC 5280 6.1.6 outputs about certificate policies, for the path reported.
struct PolicySets {
  std::vector<std::string>
      authority;                  // authority-constrained: what the CAs allow ("2.5.29.32.0" = any)
  std::vector<std::string> user;  // user-constrained: that, within --policy
  bool explicit_required = false;  // an explicit policy was required (explicit_policy 0)
  // The certificate is a CA: the policies a certificate it issues can assert and keep valid
  // ("2.5.29.32.0" = any; empty = none), and whether that certificate must assert one.
  std::optional<std::vector<std::string>> issued;
  bool issued_explicit_required = false;
};

struct ChainReport {
  std::vector<PathEntry> path;  // the chosen (or best failing) candidate path
  std::vector<RuleResult> results;
  std::optional<std::string> profile;
  std::chrono::system_clock::time_point at;
  std::size_t candidates_checked = 0;
  std::vector<std::string> limits_hit;  // path-building caps that stopped the search
  std::optional<PolicySets> policies;   // when the path got through policy processing
  std::string crl_check = "none";       // --crl-check in effect
  std::vector<std::string> relaxed;     // profile-only rules --lenient turned into warnings

  void add(std::string rule, Outcome outcome, std::string reason,
           std::optional<std::size_t> cert = std::nullopt);
  Verdict verdict() const;  // invalid when any rule failed
  std::size_t count(Outcome o) const;
  const RuleResult* find(const std::string& rule, Outcome o) const;
};

}  // namespace pkiflow::pki

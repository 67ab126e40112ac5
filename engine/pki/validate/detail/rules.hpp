// Internal: the rule groups of the validator. Each group reads the context and appends named
// results to the report; none throws for a problem with the input.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <botan/x509path.h>

#include "engine/pki/validate/detail/crl_processing.hpp"
#include "engine/pki/validate/detail/path_builder.hpp"
#include "engine/pki/validate/detail/path_processing.hpp"
#include "engine/pki/validate/validator.hpp"

namespace pkiflow::pki::detail {

// The certificates under validation, deduplicated: [0] is the certificate, then the bundle's
// certificates, then trust anchors not already present.
struct Pool {
  std::vector<PoolEntry> entries;
  std::vector<std::string> source;        // "cert", "chain", "trust", "chain+trust"
  std::vector<std::size_t> bundle;        // the bundle as given: pool index of each item
  std::vector<std::size_t> bundle_dupes;  // positions in the bundle repeating an earlier item
};

Pool make_pool(const ValidationRequest& req);

// One candidate path as Botan judged it.
struct PathCheck {
  std::vector<std::size_t> nodes;
  Botan::CertificatePathStatusCodes status;
  std::size_t errors = 0;
  std::string exception;          // Botan threw while checking (e.g. an unsupported key type)
  std::vector<Finding> findings;  // pkiflow's own RFC 5280 processing (path_processing.hpp)
  PolicyResult policies;
  std::vector<RevocationResult> revocation;  // per certificate below the anchor, when checked
};

struct RuleContext {
  const ValidationRequest& req;
  const Pool& pool;
  const std::optional<PathCheck>& path;  // the accepted path, or the best failing one
  bool path_valid;
  ChainReport& report;
};

void path_rules(const RuleContext& ctx, const std::vector<std::size_t>& partial);
void revocation_rules(const RuleContext& ctx);
void bundle_rules(const RuleContext& ctx);
void csr_rules(const RuleContext& ctx);
void profile_rules(const RuleContext& ctx);
void x509_rules(const RuleContext& ctx);  // RFC 5280 section 4 (x509_rules.cpp)
void hygiene_rules(const RuleContext& ctx);

}  // namespace pkiflow::pki::detail

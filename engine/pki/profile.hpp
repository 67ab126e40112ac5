// Signing profiles: what pkiflow puts into a certificate for a target endpoint, and what
// `pkiflow validate --profile` requires of a certificate for it (the same table, so a
// certificate pkiflow issues always passes its own profile).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/crl.hpp"
#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::pki {

struct SigningProfile {
  std::string name;
  std::string purpose;  // one line, shown by the CLI
  std::string source;   // where the endpoint's rules come from
  bool is_ca = false;
  std::optional<std::size_t> path_len;  // pathLenConstraint issued (CA only); not required
  KeyUsageSet key_usage;                // issued, and required of a validated certificate
  bool key_usage_critical = true;
  std::vector<std::string> ext_key_usage;  // issued (names), and required
  // The EKU may also be absent altogether (a present list must still hold ext_key_usage).
  bool ext_key_usage_may_be_absent = false;
  // CA certificates the endpoint itself puts below this one (GSA: its own intermediate), so
  // this certificate's pathLenConstraint and every issuer's must leave room for them.
  std::size_t ca_room_below = 0;
  int default_days = 365;
  std::optional<int> min_validity_days;  // the endpoint's minimum lifetime
  std::size_t min_rsa_bits = 2048;
  std::size_t min_ec_bits = 256;
  bool chain_must_reach_root = false;  // the uploaded chain bundle must hold the root
  bool crl_expected = false;           // warn when the certificate names no CRL
  // `validate`'s revocation demand when the caller names none (--crl-check wins). Upload-time
  // validation in the workflow has no CRLs and says none itself.
  std::optional<CrlCheck> crl_check;
  // `validate` lists the policy OIDs a certificate issued under this CA can carry (CBA: Entra's
  // authentication bindings map policy OIDs to an authentication strength).
  bool lists_issued_policies = false;
  std::size_t max_der_bytes = 0;  // the endpoint's size limit (0 = none); CBA: 8 KB
};

// The built-in profiles: tls-inspection-ca, cba-ca, code-signing, root-ca.
const std::vector<SigningProfile>& builtin_profiles();
const SigningProfile* find_profile(std::string_view name);
std::string profile_names();  // "a, b, c" for messages

}  // namespace pkiflow::pki

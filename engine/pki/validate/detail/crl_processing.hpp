// Internal: certificate revocation by CRL, RFC 5280 6.3. For one certificate on a candidate
// path: the distribution points it names (or its issuer), every given CRL whose issuer and scope
// cover it (indirect CRLs and cRLIssuer, the issuing distribution point's name, user/CA/attribute
// scope, onlySomeReasons), the CRL's signer (the certificate's issuer, a separate CRL-signing key
// of the same CA, or the other key of a rollover, each with cRLSign and a valid path to the same
// anchor), delta CRLs over their base, removeFromCRL, and unknown critical CRL or entry
// extensions (such a CRL is not used). The result is revoked, good (all reasons covered) or
// undetermined, with the reasons a user can act on.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <botan/x509_crl.h>
#include <botan/x509cert.h>

#include "engine/pki/validate/detail/x509_parts.hpp"

namespace pkiflow::pki::detail {

enum class Revocation { good, revoked, undetermined };

struct RevocationResult {
  Revocation status = Revocation::undetermined;
  std::string reason;
  bool crl_named_issuer = false;  // some CRL from the certificate's CA was given at all
};

// A given CRL, decoded once per validation.
struct CrlEntry {
  Botan::X509_CRL crl;
  std::optional<IssuingDistributionPoint> idp;
  std::optional<std::size_t> delta_base;  // deltaCRLIndicator: the base CRL number
  std::optional<std::size_t> number;      // cRLNumber
  std::string unusable;                   // why it cannot be used at all ("" when it can)
};
std::vector<CrlEntry> prepare_crls(const std::vector<Botan::X509_CRL>& crls);

// Decides whether `signer` may sign CRLs for `path`: it is on the path above the certificate or
// the anchor, or has a valid path of its own to the same anchor (the caller validates that).
using SignerCheck = std::function<bool(const Botan::X509_Certificate& signer)>;

class CrlProcessor {
 public:
  CrlProcessor(const std::vector<CrlEntry>& crls,
               const std::vector<const Botan::X509_Certificate*>& candidates_for_signer,
               std::chrono::system_clock::time_point at)
      : crls_(crls), signers_(candidates_for_signer), at_(at) {}

  // path[p]'s status (p below the anchor); `signer_ok` vets a CRL signer not on the path.
  RevocationResult status(const std::vector<Botan::X509_Certificate>& path, std::size_t p,
                          const SignerCheck& signer_ok) const;

 private:
  const std::vector<CrlEntry>& crls_;
  const std::vector<const Botan::X509_Certificate*>& signers_;
  std::chrono::system_clock::time_point at_;
};

}  // namespace pkiflow::pki::detail

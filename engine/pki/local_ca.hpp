// A CA whose key is on this host: signs CSRs under a profile (the `local-ca` signer) and makes
// self-signed roots.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

struct SignOptions {
  TimePoint not_before;               // from the caller's clock
  std::chrono::days validity{0};      // 0 = the profile's default
  std::vector<std::string> crl_urls;  // CRL distribution points to embed
};

class LocalCa {
 public:
  // Checks that the certificate is a CA certificate and that the key is its key.
  static Result<LocalCa> create(Certificate cert, PrivateKey key);

  // Issues a certificate for the CSR: subject and key from the CSR (after checking its
  // self-signature and key size), everything else from the profile. Refuses a certificate that
  // would outlive the CA.
  Result<Certificate> sign(const Csr& csr, const SigningProfile& profile, const SignOptions& opts,
                           Rng& rng) const;

  // A self-signed root under the root-ca profile (or another CA profile).
  static Result<Certificate> self_signed(const std::string& subject, const PrivateKey& key,
                                         const SigningProfile& profile, const SignOptions& opts,
                                         Rng& rng);

  const Certificate& certificate() const { return cert_; }

 private:
  struct Signing;  // the CA's signer, made at the first signature and kept for the next
  LocalCa(Certificate cert, PrivateKey key);
  Certificate cert_;
  PrivateKey key_;
  std::shared_ptr<Signing> signing_;
};

}  // namespace pkiflow::pki

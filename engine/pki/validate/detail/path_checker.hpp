// Internal: RFC 5280 checks of one candidate path, in the order and with the status codes of
// Botan 3.7's PKIX::check_chain (signatures first, an early return on any signature failure,
// then names, validity, CA flags, Botan's own per-extension checks, path length). Two things
// differ, both for speed: issuer public keys are parsed once and kept, and each signature
// verification is remembered under a digest of everything it covers (signed body, signature,
// issuer key), so a batch that shares intermediates and anchors verifies each signature once.
// Botan still performs every verification and every extension check. tests/pki/
// path_checker_test.cpp holds it to the exact codes of PKIX::check_chain.
//
// Not thread-safe: one PathChecker per thread (the Validator owns one).
#pragma once

#include <botan/pk_keys.h>
#include <botan/x509path.h>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pkiflow::pki::detail {

class PathChecker {
 public:
  explicit PathChecker(const Botan::Path_Validation_Restrictions& restrictions);

  Botan::CertificatePathStatusCodes check(const std::vector<Botan::X509_Certificate>& path,
                                          std::chrono::system_clock::time_point at);

  std::size_t verifications() const { return verifications_; }  // signatures really verified

 private:
  struct Verdict {
    Botan::Certificate_Status_Code code;
    std::string hash;  // hash used by a verified signature
  };
  // Caches stay bounded: when full they are emptied (a batch refills what it still uses).
  static constexpr std::size_t kMaxKeys = 4096;
  static constexpr std::size_t kMaxVerdicts = 65536;

  std::shared_ptr<const Botan::Public_Key> issuer_key(const Botan::X509_Certificate& issuer);
  Verdict verify(const Botan::X509_Certificate& subject, const Botan::X509_Certificate& issuer,
                 const std::shared_ptr<const Botan::Public_Key>& key);
  void check_signatures(const std::vector<Botan::X509_Certificate>& path,
                        Botan::CertificatePathStatusCodes& status);
  void check_certificates(const std::vector<Botan::X509_Certificate>& path,
                          std::chrono::system_clock::time_point at,
                          Botan::CertificatePathStatusCodes& status);
  static void check_path_length(const std::vector<Botan::X509_Certificate>& path,
                                Botan::CertificatePathStatusCodes& status);

  const Botan::Path_Validation_Restrictions& restrictions_;
  std::unordered_map<std::string, std::shared_ptr<const Botan::Public_Key>> keys_;
  std::unordered_map<std::string, Verdict> verdicts_;
  std::size_t verifications_ = 0;
};

}  // namespace pkiflow::pki::detail

// Certificate revocation lists given to `pkiflow validate --crl`.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/result.hpp"

namespace pkiflow::pki {

// Which certificates below the trust anchor must be covered by a valid, in-scope CRL.
enum class CrlCheck {
  none,  // CRLs given are checked; a certificate no CRL covers is reported unchecked
  leaf,  // the certificate under validation must be covered, else the chain is invalid
  all,   // every certificate below the anchor must be covered (PKITS runs this way)
};
const char* to_string(CrlCheck c);
std::optional<CrlCheck> parse_crl_check(const std::string& s);

class Crl {
 public:
  // Every CRL in a file (PEM "X509 CRL" blocks or one DER CRL).
  static Result<std::vector<Crl>> load_all(const std::filesystem::path& path);
  static Result<std::vector<Crl>> decode_all(const Bytes& data);  // PEM blocks or one DER CRL
  std::string issuer() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Crl(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pkiflow::pki

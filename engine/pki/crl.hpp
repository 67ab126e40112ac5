// Certificate revocation lists given to `pkiflow validate --crl`.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

class Crl {
 public:
  // Every CRL in a file (PEM "X509 CRL" blocks or one DER CRL).
  static Result<std::vector<Crl>> load_all(const std::filesystem::path& path);
  std::string issuer() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Crl(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pkiflow::pki

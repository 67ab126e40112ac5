// PKCS#10 certificate signing requests: built locally (CBA CA, code signing) or received from a
// service (GSA TLS inspection), parsed from PEM or DER, self-signature verified.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::pki {

struct CsrSpec {
  std::string subject;                     // "CN=…,O=…,OU=…,C=…"
  std::vector<std::string> dns_names;      // subjectAltName dNSName entries
  std::vector<std::string> emails;         // subjectAltName rfc822Name entries
  std::vector<std::string> uris;           // subjectAltName URI entries
  KeyUsageSet key_usage;                   // requested key usage; empty = none requested
  std::vector<std::string> ext_key_usage;  // names or dotted OIDs
  std::optional<bool> is_ca;               // requested basic constraints (nullopt = not requested)
  std::optional<std::size_t> path_len;     // requested pathLenConstraint (CA only)
};

// What a CSR says, as pkiflow reports it.
struct CsrFacts {
  std::string subject;
  PublicKeyInfo key;
  std::string signature_algorithm;  // e.g. "RSA/PKCS1v15(SHA-256)"
  bool signature_valid = false;
  std::vector<std::string> dns_names;
  std::vector<std::string> emails;
  std::vector<std::string> uris;
  KeyUsageSet key_usage;
  std::vector<std::string> ext_key_usage;
  std::optional<bool> is_ca;
  std::optional<std::size_t> path_len;
};

class Csr {
 public:
  static Result<Csr> build(const CsrSpec& spec, const PrivateKey& key, Rng& rng);
  static Result<Csr> decode(const Bytes& data);
  static Result<Csr> load(const std::filesystem::path& path);

  bool verify_signature() const;
  CsrFacts facts() const;
  std::string subject() const;
  PublicKeyInfo public_key() const;
  Bytes der() const;
  std::string pem() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Csr(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pkiflow::pki

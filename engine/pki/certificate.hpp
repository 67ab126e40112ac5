// An X.509 certificate and the facts about it that the validator and the Graph providers use.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::pki {

using TimePoint = std::chrono::system_clock::time_point;

// Everything pkiflow derives from a certificate (thumbprints as Windows and Graph write them).
struct CertFacts {
  std::string subject;  // RFC 4514, most specific first
  std::string issuer;
  std::string serial_hex;
  std::string sha1_thumbprint;    // upper-case hex of SHA-1(DER): Graph's `thumbprint`
  std::string sha256_thumbprint;  // upper-case hex of SHA-256(DER)
  std::string subject_key_id;     // upper-case hex; empty when absent
  std::string authority_key_id;   // upper-case hex; empty when absent
  std::vector<std::string> crl_urls;
  TimePoint not_before;
  TimePoint not_after;
  bool is_ca = false;
  std::optional<std::size_t> path_len;
  bool self_signed = false;  // subject == issuer and the signature verifies with its own key
  PublicKeyInfo key;
  std::string signature_algorithm;  // e.g. "RSA/PKCS1v15(SHA-256)", "ECDSA/SHA-384"
  std::string signature_hash;       // "SHA-256", "SHA-1", ...
  KeyUsageSet key_usage;
  bool key_usage_present = false;
  bool key_usage_critical = false;
  std::vector<std::string> ext_key_usage;
  std::vector<std::string> dns_names;
  std::size_t version = 3;
};

class Certificate {
 public:
  static Result<Certificate> decode_der(const Bytes& der);
  // Every certificate in a file (PEM blocks labelled CERTIFICATE or TRUSTED CERTIFICATE, or one
  // DER certificate). An empty file gives an empty list; any other PEM label is an error naming
  // the block, so a private key pasted into a bundle is caught.
  static Result<std::vector<Certificate>> load_all(const std::filesystem::path& path);
  static Result<std::vector<Certificate>> decode_all(const Bytes& data);
  // The first certificate of a file; an error when there is none.
  static Result<Certificate> load(const std::filesystem::path& path);

  CertFacts facts() const;
  Bytes der() const;
  std::string pem() const;
  std::string base64_der() const;
  std::string subject() const;
  std::string sha256_hex() const;  // identity of the exact encoding
  // Digest of the DER encoding: "SHA-1" or "SHA-256" (x5t, x5t#S256, thumbprints).
  Bytes der_digest(const char* hash) const;
  TimePoint not_before() const;
  TimePoint not_after() const;
  bool is_ca() const;
  bool same_as(const Certificate& other) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  explicit Certificate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

// Whether two hex strings (thumbprints, key identifiers) are equal ignoring case: the service
// and scripts write both cases (graph-api.md 0). Empty strings are never equal.
bool same_hex(std::string_view a, std::string_view b);

}  // namespace pkiflow::pki

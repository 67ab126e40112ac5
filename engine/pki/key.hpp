// Private keys: generation, encrypted PKCS#8 storage (0600), and reading the forms admins
// already have (PKCS#8 plain or encrypted, PKCS#1 RSA and SEC1 EC PEM as openssl writes them).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/pkcs11_uri.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

enum class KeyAlgorithm { rsa2048, rsa3072, rsa4096, p256, p384 };

Result<KeyAlgorithm> parse_key_algorithm(std::string_view name);
const char* to_string(KeyAlgorithm alg);

// A public key as pkiflow reports and compares it.
struct PublicKeyInfo {
  std::string algorithm;  // "RSA" or "ECDSA"
  std::size_t bits = 0;   // modulus size, or the curve's order size
  std::string curve;      // "secp256r1", "secp384r1" for EC; empty for RSA
  Bytes spki_der;         // SubjectPublicKeyInfo, DER, as Botan re-encodes it (canonical)
};

// Cost of the PBKDF2-HMAC-SHA256 that protects a stored key (OWASP 2023 guidance: 600,000).
inline constexpr std::size_t kKeyPbkdf2Iterations = 600'000;

class PrivateKey {
 public:
  static PrivateKey generate(KeyAlgorithm alg, Rng& rng);

  // Reads a key file; `passphrase` is needed for encrypted PKCS#8 only.
  static Result<PrivateKey> load(const std::filesystem::path& path, const Passphrase* passphrase);
  static Result<PrivateKey> decode(const Bytes& data, const Passphrase* passphrase);

  // A key inside a PKCS#11 token (an HSM), named by an RFC 7512 URI: it signs there and never
  // leaves it. Logs in with the PIN from the URI's pin-source (once; a wrong PIN is reported,
  // never retried, and a token with one try left is not tried at all), finds the private key and
  // its public half, and proves they belong together with one test signature.
  static Result<PrivateKey> open_token(const Pkcs11Uri& uri);
  // Generates a key pair inside the token: private key sensitive and never extractable, both
  // objects persistent under the URI's object label (and id). Refuses a label already in use.
  static Result<PrivateKey> generate_in_token(const Pkcs11Uri& uri, KeyAlgorithm alg);
  // A CA key reference as users write it: a "pkcs11:" URI, or else a key file.
  static Result<PrivateKey> open(const std::string& reference, const Passphrase* passphrase);

  // The key's PKCS#11 URI when it lives in a token (never holds a PIN); empty otherwise.
  const std::string& token_uri() const;

  // PKCS#8 PEM; encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) when a passphrase is
  // given, which every tool that reads PKCS#8 (openssl, Windows, Java) understands.
  std::string to_pem(const Passphrase* passphrase, Rng& rng,
                     std::size_t iterations = kKeyPbkdf2Iterations) const;
  // Writes to_pem() atomically with mode 0600. A key in a token cannot be written: an error.
  Status save(const std::filesystem::path& path, const Passphrase* passphrase, Rng& rng,
              std::size_t iterations = kKeyPbkdf2Iterations) const;

  PublicKeyInfo public_key() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  static PrivateKey decode_finish(std::shared_ptr<Impl> impl);  // internal

 private:
  explicit PrivateKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pkiflow::pki

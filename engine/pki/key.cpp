#include "engine/pki/key.hpp"

#include <stdexcept>

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/exceptn.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>

#include "engine/pki/botan_access.hpp"

namespace pkiflow::pki {

namespace {

Result<PrivateKey> fail(ErrorKind kind, std::string msg) {
  return Error(kind, "", std::move(msg));
}

// SEC1 ECPrivateKey (RFC 5915), as `openssl ecparam -genkey` writes it: the curve is in the
// [0] parameters field, which Botan's PKCS#8 path expects in the AlgorithmIdentifier instead.
std::unique_ptr<Botan::Private_Key> load_sec1(const Bytes& der) {
  Botan::BER_Decoder outer(der);
  Botan::BER_Decoder seq = outer.start_sequence();
  size_t version = 0;
  seq.decode(version);
  if (version != 1) throw Botan::Decoding_Error("SEC1 key version is not 1");
  Botan::secure_vector<uint8_t> priv;
  seq.decode(priv, Botan::ASN1_Type::OctetString);
  std::optional<Botan::OID> curve;
  while (seq.more_items()) {
    Botan::BER_Object obj = seq.get_next_object();
    if (obj.is_a(0, Botan::ASN1_Class::ExplicitContextSpecific)) {
      Botan::OID oid;
      Botan::BER_Decoder(obj).decode(oid);
      curve = oid;
    }
  }
  if (!curve) throw Botan::Decoding_Error("SEC1 key without a named curve");
  auto group = Botan::EC_Group::from_OID(*curve);
  auto scalar = Botan::EC_Scalar::deserialize(group, priv);
  if (!scalar) throw Botan::Decoding_Error("SEC1 private scalar out of range");
  return std::make_unique<Botan::ECDSA_PrivateKey>(group, *scalar);
}

std::unique_ptr<Botan::Private_Key> load_pkcs1_rsa(const Bytes& der) {
  Botan::AlgorithmIdentifier alg("RSA", Botan::AlgorithmIdentifier::USE_NULL_PARAM);
  return std::make_unique<Botan::RSA_PrivateKey>(alg, der);
}

bool is_key_label(const std::string& label) {
  return label == "PRIVATE KEY" || label == "ENCRYPTED PRIVATE KEY" || label == "RSA PRIVATE KEY" ||
         label == "EC PRIVATE KEY" || label.empty();
}

Result<PrivateKey> decode_one(const EncodedObject& obj, const Passphrase* passphrase,
                              std::shared_ptr<PrivateKey::Impl> impl) {
  const bool encrypted = obj.label == "ENCRYPTED PRIVATE KEY";
  if (encrypted && !passphrase)
    return fail(ErrorKind::passphrase,
                "the key is encrypted; give its passphrase with --passphrase-file or "
                "PKIFLOW_PASSPHRASE");
  try {
    if (obj.label == "RSA PRIVATE KEY") {
      impl->key = load_pkcs1_rsa(obj.der);
    } else if (obj.label == "EC PRIVATE KEY") {
      impl->key = load_sec1(obj.der);
    } else if (encrypted || (obj.label.empty() && passphrase)) {
      impl->key = Botan::PKCS8::load_key(obj.der, passphrase->reveal());
    } else {
      impl->key = Botan::PKCS8::load_key(obj.der);
    }
  } catch (const Botan::Exception& e) {
    if (encrypted)
      return fail(ErrorKind::passphrase,
                  "cannot decrypt the private key: wrong passphrase (or a corrupt encrypted key)");
    return fail(ErrorKind::parse, std::string("not a valid private key (") + e.what() + ")");
  }
  const std::string alg = impl->key->algo_name();
  if (alg != "RSA" && alg != "ECDSA")
    return fail(ErrorKind::unsupported, "key algorithm " + alg + " is not supported (RSA, ECDSA)");
  return PrivateKey::decode_finish(std::move(impl));
}

}  // namespace

Result<KeyAlgorithm> parse_key_algorithm(std::string_view name) {
  if (name == "rsa2048") return KeyAlgorithm::rsa2048;
  if (name == "rsa3072") return KeyAlgorithm::rsa3072;
  if (name == "rsa4096") return KeyAlgorithm::rsa4096;
  if (name == "p256") return KeyAlgorithm::p256;
  if (name == "p384") return KeyAlgorithm::p384;
  return Error(ErrorKind::invalid_input, "--alg",
               "unknown key algorithm '" + std::string(name) +
                   "' (expected rsa2048, rsa3072, rsa4096, p256 or p384)");
}

const char* to_string(KeyAlgorithm alg) {
  switch (alg) {
    case KeyAlgorithm::rsa2048:
      return "rsa2048";
    case KeyAlgorithm::rsa3072:
      return "rsa3072";
    case KeyAlgorithm::rsa4096:
      return "rsa4096";
    case KeyAlgorithm::p256:
      return "p256";
    case KeyAlgorithm::p384:
      return "p384";
  }
  return "?";
}

PrivateKey PrivateKey::generate(KeyAlgorithm alg, Rng& rng) {
  auto impl = std::make_shared<Impl>();
  auto& r = botan(rng);
  switch (alg) {
    case KeyAlgorithm::rsa2048:
      impl->key = std::make_unique<Botan::RSA_PrivateKey>(r, 2048);
      break;
    case KeyAlgorithm::rsa3072:
      impl->key = std::make_unique<Botan::RSA_PrivateKey>(r, 3072);
      break;
    case KeyAlgorithm::rsa4096:
      impl->key = std::make_unique<Botan::RSA_PrivateKey>(r, 4096);
      break;
    case KeyAlgorithm::p256:
      impl->key =
          std::make_unique<Botan::ECDSA_PrivateKey>(r, Botan::EC_Group::from_name("secp256r1"));
      break;
    case KeyAlgorithm::p384:
      impl->key =
          std::make_unique<Botan::ECDSA_PrivateKey>(r, Botan::EC_Group::from_name("secp384r1"));
      break;
  }
  return PrivateKey(std::move(impl));
}

PrivateKey PrivateKey::decode_finish(std::shared_ptr<Impl> impl) {
  return PrivateKey(std::move(impl));
}

Result<PrivateKey> PrivateKey::decode(const Bytes& data, const Passphrase* passphrase) {
  auto objects = decode_objects(data);
  if (!objects) return objects.error();
  if (objects->empty()) return fail(ErrorKind::parse, "empty file, expected a private key");
  for (const auto& obj : *objects) {
    if (is_key_label(obj.label)) return decode_one(obj, passphrase, std::make_shared<Impl>());
  }
  return fail(ErrorKind::parse,
              "holds no private key (found a PEM block labelled " + objects->front().label + ")");
}

Result<PrivateKey> PrivateKey::load(const std::filesystem::path& path,
                                    const Passphrase* passphrase) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  auto key = decode(*bytes, passphrase);
  Botan::secure_scrub_memory(bytes->data(), bytes->size());
  if (!key) return key.error().about(path.string());
  return key;
}

std::string PrivateKey::to_pem(const Passphrase* passphrase, Rng& rng,
                               std::size_t iterations) const {
  if (!impl_->token_uri.empty())
    throw std::logic_error("a key in a PKCS#11 token has no PEM form (" + impl_->token_uri + ")");
  if (!passphrase) return Botan::PKCS8::PEM_encode(*impl_->key);
  return Botan::PKCS8::PEM_encode_encrypted_pbkdf_iter(
      *impl_->key, botan(rng), passphrase->reveal(), iterations, "AES-256/CBC", "SHA-256");
}

Status PrivateKey::save(const std::filesystem::path& path, const Passphrase* passphrase, Rng& rng,
                        std::size_t iterations) const {
  if (!impl_->token_uri.empty())
    return Error(ErrorKind::unsupported, path.string(),
                 "the key lives in the PKCS#11 token " + impl_->token_uri +
                     " and never leaves it; nothing to write");
  std::string pem = to_pem(passphrase, rng, iterations);
  auto st = write_file_atomic(path, pem, 0600);
  Botan::secure_scrub_memory(pem.data(), pem.size());
  return st;
}

PublicKeyInfo PrivateKey::public_key() const {
  return describe_public_key(impl_->token_public ? *impl_->token_public : *impl_->key);
}

const std::string& PrivateKey::token_uri() const {
  return impl_->token_uri;
}

Result<PrivateKey> PrivateKey::open(const std::string& reference, const Passphrase* passphrase) {
  if (!is_pkcs11_uri(reference)) return load(reference, passphrase);
  auto uri = parse_pkcs11_uri(reference);
  if (!uri) return uri.error();
  return open_token(*uri);
}

PublicKeyInfo describe_public_key(const Botan::Public_Key& key) {
  PublicKeyInfo info;
  info.algorithm = key.algo_name();
  info.bits = key.key_length();
  if (const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(&key)) {
    info.curve = ec->domain().get_curve_oid().to_formatted_string();
  }
  info.spki_der = key.subject_public_key();
  return info;
}

}  // namespace pkiflow::pki

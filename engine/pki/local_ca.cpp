#include "engine/pki/local_ca.hpp"

#include <botan/bigint.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>

#include <memory>
#include <mutex>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki {

namespace {

namespace CE = Botan::Cert_Extension;

// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents.
std::vector<uint8_t> key_identifier(const Botan::Public_Key& key) {
  auto h = Botan::HashFunction::create_or_throw("SHA-1");
  auto d = h->process(key.public_key_bits());
  return std::vector<uint8_t>(d.begin(), d.end());
}

// 127 random bits, positive, never with a leading zero byte (CA/B Forum: >= 64 bits of entropy).
Botan::BigInt random_serial(Botan::RandomNumberGenerator& rng) {
  std::vector<uint8_t> bytes(16);
  rng.randomize(bytes);
  bytes[0] = static_cast<uint8_t>((bytes[0] & 0x7F) | 0x40);
  return Botan::BigInt::from_bytes(bytes);
}

Result<Botan::Extensions> profile_extensions(const SigningProfile& p,
                                             const Botan::Public_Key& subject_key,
                                             const std::vector<uint8_t>& authority_key_id,
                                             const SignOptions& opts) {
  Botan::Extensions ext;
  size_t limit = p.path_len ? *p.path_len : CE::NO_CERT_PATH_LIMIT;
  ext.add(std::make_unique<CE::Basic_Constraints>(p.is_ca, p.is_ca ? limit : 0), true);
  if (!p.key_usage.empty())
    ext.add(std::make_unique<CE::Key_Usage>(to_botan(p.key_usage)), p.key_usage_critical);
  if (!p.ext_key_usage.empty()) {
    auto oids = eku_oids(p.ext_key_usage);
    if (!oids) return oids.error();
    ext.add(std::make_unique<CE::Extended_Key_Usage>(*oids), false);
  }
  ext.add(std::make_unique<CE::Subject_Key_ID>(key_identifier(subject_key)), false);
  if (!authority_key_id.empty())
    ext.add(std::make_unique<CE::Authority_Key_ID>(authority_key_id), false);
  if (!opts.crl_urls.empty()) {
    std::vector<CE::CRL_Distribution_Points::Distribution_Point> points;
    for (const auto& url : opts.crl_urls) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 &&
          url.rfind("ldap://", 0) != 0)
        return Error(ErrorKind::invalid_input, "CRL URL",
                     "'" + url + "' is not an http(s) or ldap URL");
      Botan::AlternativeName name;
      name.add_uri(url);
      points.emplace_back(name);
    }
    ext.add(std::make_unique<CE::CRL_Distribution_Points>(points), false);
  }
  return ext;
}

Status check_key_size(const SigningProfile& p, const PublicKeyInfo& key) {
  if (key.algorithm == "RSA" && key.bits < p.min_rsa_bits)
    return Error(ErrorKind::invalid_input, "CSR",
                 "RSA key of " + std::to_string(key.bits) + " bits is below the " + p.name +
                     " minimum of " + std::to_string(p.min_rsa_bits));
  if (key.algorithm == "ECDSA" && key.bits < p.min_ec_bits)
    return Error(ErrorKind::invalid_input, "CSR",
                 "EC key of " + std::to_string(key.bits) + " bits is below the " + p.name +
                     " minimum of " + std::to_string(p.min_ec_bits));
  if (key.algorithm != "RSA" && key.algorithm != "ECDSA")
    return Error(ErrorKind::unsupported, "CSR",
                 "key algorithm " + key.algorithm + " is not supported");
  return Ok{};
}

// A CA key in a token that went away (unplugged, its session gone) says IoError: try later.
Error signing_failed(const Botan::Exception& e) {
  return Error(
      e.error_type() == Botan::ErrorType::IoError ? ErrorKind::unavailable : ErrorKind::crypto,
      "signing", e.what());
}

std::chrono::days validity_of(const SigningProfile& p, const SignOptions& opts) {
  return opts.validity.count() > 0 ? opts.validity : std::chrono::days(p.default_days);
}

}  // namespace

// Botan's X509_CA chooses the signature format and makes a PK_Signer (for ECDSA: new blinding
// values, a modular inversion) each time it is made: made once per CA instead of once per
// certificate. A PK_Signer is not thread-safe, so signatures take turns.
struct LocalCa::Signing {
  std::mutex mutex;
  std::unique_ptr<Botan::X509_CA> ca;
};

LocalCa::LocalCa(Certificate cert, PrivateKey key)
    : cert_(std::move(cert)), key_(std::move(key)), signing_(std::make_shared<Signing>()) {}

Result<LocalCa> LocalCa::create(Certificate cert, PrivateKey key) {
  const auto& c = botan(cert);
  if (!c.is_CA_cert())
    return Error(
        ErrorKind::invalid_input, "CA certificate",
        "'" + cert.subject() + "' is not a CA certificate (basicConstraints CA:FALSE or absent)");
  if (describe_public_key(*c.subject_public_key()).spki_der != key.public_key().spki_der)
    return Error(ErrorKind::invalid_input, "CA key",
                 "the private key does not belong to the CA certificate '" + cert.subject() + "'");
  return LocalCa(std::move(cert), std::move(key));
}

Result<Certificate> LocalCa::sign(const Csr& csr, const SigningProfile& profile,
                                  const SignOptions& opts, Rng& rng) const {
  const auto& req = botan(csr);
  if (!csr.verify_signature())
    return Error(ErrorKind::invalid_input, "CSR",
                 "its self-signature does not verify; refusing to sign");
  if (req.subject_dn().empty())
    return Error(ErrorKind::invalid_input, "CSR", "has an empty subject");
  auto key_info = csr.public_key();
  if (auto st = check_key_size(profile, key_info); !st) return st.error();
  const auto& ca_cert = botan(cert_);
  const auto not_after = opts.not_before + validity_of(profile, opts);
  if (not_after > time_point_of(ca_cert.not_after()))
    return Error(ErrorKind::invalid_input, "validity",
                 "the certificate would outlive its CA '" + cert_.subject() +
                     "'; shorten --days or renew the CA first");
  auto subject_key = req.subject_public_key();
  auto aki = ca_cert.subject_key_id();
  if (aki.empty()) aki = key_identifier(*ca_cert.subject_public_key());
  // Nothing from the request but its subject and key: not even its subjectAltName.
  auto ext = profile_extensions(profile, *subject_key, aki, opts);
  if (!ext) return ext.error();
  try {
    std::lock_guard lock(signing_->mutex);
    if (!signing_->ca) {
      auto scheme = signature_scheme_for(botan(key_));
      signing_->ca = std::make_unique<Botan::X509_CA>(ca_cert, botan(key_), scheme.hash,
                                                      scheme.padding, botan(rng));
    }
    Botan::X509_CA& ca = *signing_->ca;
    auto cert = Botan::X509_CA::make_cert(
        ca.signature_op(), botan(rng), random_serial(botan(rng)), ca.algorithm_identifier(),
        req.raw_public_key(), Botan::X509_Time(opts.not_before), Botan::X509_Time(not_after),
        ca_cert.subject_dn(), req.subject_dn(), *ext);
    return wrap(cert);
  } catch (const Botan::Exception& e) {
    return signing_failed(e);
  }
}

Result<Certificate> LocalCa::self_signed(const std::string& subject, const PrivateKey& key,
                                         const SigningProfile& profile, const SignOptions& opts,
                                         Rng& rng) {
  if (!profile.is_ca)
    return Error(ErrorKind::invalid_input, "profile", profile.name + " is not a CA profile");
  auto dn = parse_dn(subject);
  if (!dn) return dn.error();
  const auto& k = botan(key);
  if (auto st = check_key_size(profile, key.public_key()); !st) return st.error().about("key");
  auto ext = profile_extensions(profile, k, key_identifier(k), opts);
  if (!ext) return ext.error();
  try {
    auto scheme = signature_scheme_for(k);
    auto format = k.algo_name() == "RSA" ? Botan::Signature_Format::Standard
                                         : Botan::Signature_Format::DerSequence;
    Botan::PK_Signer signer(k, botan(rng), scheme.padding, format);
    auto name = to_botan(*dn);
    auto cert = Botan::X509_CA::make_cert(
        signer, botan(rng), random_serial(botan(rng)), signer.algorithm_identifier(),
        k.subject_public_key(), Botan::X509_Time(opts.not_before),
        Botan::X509_Time(opts.not_before + validity_of(profile, opts)), name, name, *ext);
    return wrap(cert);
  } catch (const Botan::Exception& e) {
    return signing_failed(e);
  }
}

}  // namespace pkiflow::pki

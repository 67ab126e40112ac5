#include "engine/pki/certificate.hpp"

#include <cctype>

#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/x509_ext.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki {

namespace {

std::string digest_hex(const char* algo, const std::vector<uint8_t>& data) {
  auto h = Botan::HashFunction::create_or_throw(algo);
  auto d = h->process(data);
  return upper_hex(std::vector<uint8_t>(d.begin(), d.end()));
}

bool is_cert_label(const std::string& label) {
  return label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" || label == "X509 CERTIFICATE" ||
         label.empty();
}

}  // namespace

Certificate wrap(const Botan::X509_Certificate& cert) {
  return Certificate(std::make_shared<const Certificate::Impl>(Certificate::Impl{cert}));
}

Result<Certificate> Certificate::decode_der(const Bytes& der) {
  try {
    return wrap(Botan::X509_Certificate(der));
  } catch (const Botan::Exception& e) {
    return Error(ErrorKind::parse, "",
                 std::string("not a valid X.509 certificate (") + e.what() + ")");
  }
}

Result<std::vector<Certificate>> Certificate::decode_all(const Bytes& data) {
  auto objects = decode_objects(data);
  if (!objects) return objects.error();
  std::vector<Certificate> out;
  int index = 0;
  for (const auto& obj : *objects) {
    ++index;
    if (!is_cert_label(obj.label))
      return Error(
          ErrorKind::parse, "",
          "PEM block " + std::to_string(index) + " is a " + obj.label + ", expected a CERTIFICATE");
    auto cert = decode_der(obj.der);
    if (!cert) {
      if (objects->size() == 1) return cert.error();
      return Error(ErrorKind::parse, "",
                   "PEM block " + std::to_string(index) + ": " + cert.error().message());
    }
    out.push_back(std::move(*cert));
  }
  return out;
}

Result<std::vector<Certificate>> Certificate::load_all(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  auto certs = decode_all(*bytes);
  if (!certs) return certs.error().about(path.string());
  return certs;
}

Result<Certificate> Certificate::load(const std::filesystem::path& path) {
  auto all = load_all(path);
  if (!all) return all.error();
  if (all->empty())
    return Error(ErrorKind::parse, path.string(), "empty file, expected a certificate");
  return all->front();
}

Bytes Certificate::der() const {
  return impl_->cert.BER_encode();
}
std::string Certificate::pem() const {
  return pem_encode(der(), "CERTIFICATE");
}
std::string Certificate::base64_der() const {
  return base64_encode(der());
}
std::string Certificate::subject() const {
  return format_dn(impl_->cert.subject_dn());
}
std::string Certificate::sha256_hex() const {
  return digest_hex("SHA-256", der());
}

Bytes Certificate::der_digest(const char* hash) const {
  auto h = Botan::HashFunction::create_or_throw(hash);
  auto d = h->process(der());
  return Bytes(d.begin(), d.end());
}
TimePoint Certificate::not_before() const {
  return time_point_of(impl_->cert.not_before());
}
TimePoint Certificate::not_after() const {
  return time_point_of(impl_->cert.not_after());
}
bool Certificate::is_ca() const {
  return impl_->cert.is_CA_cert();
}
bool Certificate::same_as(const Certificate& other) const {
  return impl_->cert == other.impl_->cert;
}

CertFacts Certificate::facts() const {
  const auto& c = impl_->cert;
  CertFacts f;
  f.subject = format_dn(c.subject_dn());
  f.issuer = format_dn(c.issuer_dn());
  f.serial_hex = upper_hex(c.serial_number());
  auto der_bytes = der();
  f.sha1_thumbprint = digest_hex("SHA-1", der_bytes);
  f.sha256_thumbprint = digest_hex("SHA-256", der_bytes);
  f.subject_key_id = upper_hex(c.subject_key_id());
  f.authority_key_id = upper_hex(c.authority_key_id());
  f.crl_urls = crl_urls(c);
  f.not_before = not_before();
  f.not_after = not_after();
  f.is_ca = c.is_CA_cert();
  if (f.is_ca && c.path_limit() != Botan::Cert_Extension::NO_CERT_PATH_LIMIT)
    f.path_len = c.path_limit();
  f.self_signed = c.is_self_signed();
  try {
    f.key = describe_public_key(*c.subject_public_key());
  } catch (const Botan::Exception&) {
    f.key.algorithm = c.subject_public_key_algo().oid().to_string();
  }
  const auto& sig_oid = c.signature_algorithm().oid();
  f.signature_algorithm = sig_oid.to_formatted_string();
  f.signature_hash = signature_hash(c.signature_algorithm());
  f.key_usage = from_botan(c.constraints());
  const auto& ext = c.v3_extensions();
  const Botan::OID ku_oid = Botan::Cert_Extension::Key_Usage::static_oid();
  f.key_usage_present = ext.extension_set(ku_oid);
  f.key_usage_critical = ext.critical_extension_set(ku_oid);
  f.ext_key_usage = eku_names(c.extended_key_usage());
  const auto& alt = c.subject_alt_name();
  f.dns_names.assign(alt.dns().begin(), alt.dns().end());
  f.version = c.x509_version();
  return f;
}

Result<std::vector<Crl>> Crl::decode_all(const Bytes& data) {
  auto objects = decode_objects(data);
  if (!objects) return objects.error();
  std::vector<Crl> out;
  for (const auto& obj : *objects) {
    if (obj.label != "X509 CRL" && !obj.label.empty())
      return Error(ErrorKind::parse, "", "holds a " + obj.label + ", expected an X509 CRL");
    try {
      out.emplace_back(std::make_shared<const Crl::Impl>(Crl::Impl{Botan::X509_CRL(obj.der)}));
    } catch (const Botan::Exception& e) {
      return Error(ErrorKind::parse, "", std::string("not a valid CRL (") + e.what() + ")");
    }
  }
  if (out.empty()) return Error(ErrorKind::parse, "", "empty, expected a CRL");
  return out;
}

Result<std::vector<Crl>> Crl::load_all(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  auto crls = decode_all(*bytes);
  if (!crls) return crls.error().about(path.string());
  return crls;
}

std::string Crl::issuer() const {
  return format_dn(impl_->crl.issuer_dn());
}

bool same_hex(std::string_view a, std::string_view b) {
  if (a.empty() || a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

const char* to_string(CrlCheck c) {
  switch (c) {
    case CrlCheck::none:
      return "none";
    case CrlCheck::leaf:
      return "leaf";
    case CrlCheck::all:
      return "all";
  }
  return "none";
}

std::optional<CrlCheck> parse_crl_check(const std::string& s) {
  for (auto c : {CrlCheck::none, CrlCheck::leaf, CrlCheck::all})
    if (s == to_string(c)) return c;
  return std::nullopt;
}

}  // namespace pkiflow::pki

#include "engine/pki/x509_botan.hpp"

#include <botan/x509_ext.h>

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/bigint.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pk_keys.h>
#include <botan/pss_params.h>
#include <map>

#include "engine/pki/time_format.hpp"

namespace pkiflow::pki {

namespace {

struct DnType {
  const char* short_name;
  const char* oid;
  Botan::ASN1_Type string_type;  // NoObject: let Botan choose Printable/UTF8
};
const std::vector<DnType>& dn_types() {
  static const std::vector<DnType> types{
      {"CN", "2.5.4.3", Botan::ASN1_Type::NoObject},
      {"O", "2.5.4.10", Botan::ASN1_Type::NoObject},
      {"OU", "2.5.4.11", Botan::ASN1_Type::NoObject},
      {"C", "2.5.4.6", Botan::ASN1_Type::PrintableString},
      {"L", "2.5.4.7", Botan::ASN1_Type::NoObject},
      {"ST", "2.5.4.8", Botan::ASN1_Type::NoObject},
      {"serialNumber", "2.5.4.5", Botan::ASN1_Type::PrintableString},
      {"DC", "0.9.2342.19200300.100.1.25", Botan::ASN1_Type::Ia5String},
      {"E", "1.2.840.113549.1.9.1", Botan::ASN1_Type::Ia5String},
  };
  return types;
}

constexpr std::pair<KeyUsageSet::Bit, Botan::Key_Constraints::Bits> kKuMap[] = {
    {KeyUsageSet::digitalSignature, Botan::Key_Constraints::DigitalSignature},
    {KeyUsageSet::nonRepudiation, Botan::Key_Constraints::NonRepudiation},
    {KeyUsageSet::keyEncipherment, Botan::Key_Constraints::KeyEncipherment},
    {KeyUsageSet::dataEncipherment, Botan::Key_Constraints::DataEncipherment},
    {KeyUsageSet::keyAgreement, Botan::Key_Constraints::KeyAgreement},
    {KeyUsageSet::keyCertSign, Botan::Key_Constraints::KeyCertSign},
    {KeyUsageSet::cRLSign, Botan::Key_Constraints::CrlSign},
    {KeyUsageSet::encipherOnly, Botan::Key_Constraints::EncipherOnly},
    {KeyUsageSet::decipherOnly, Botan::Key_Constraints::DecipherOnly},
};

std::string escape_rfc4514(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
                   c == ';' || (c == '#' && i == 0) || (c == ' ' && (i == 0 || i + 1 == v.size()));
    if (special) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Botan::Key_Constraints to_botan(KeyUsageSet ku) {
  uint32_t bits = 0;
  for (auto [ours, theirs] : kKuMap)
    if (ku.has(ours)) bits |= theirs;
  return Botan::Key_Constraints(bits);
}

KeyUsageSet from_botan(Botan::Key_Constraints kc) {
  std::uint16_t bits = 0;
  for (auto [ours, theirs] : kKuMap)
    if (kc.includes(theirs)) bits |= ours;
  return KeyUsageSet(bits);
}

Botan::X509_DN to_botan(const DnAttributes& dn) {
  Botan::X509_DN out;
  for (const auto& attr : dn) {
    for (const auto& t : dn_types()) {
      if (attr.type != t.short_name) continue;
      Botan::OID oid = Botan::OID::from_string(t.oid);
      if (t.string_type == Botan::ASN1_Type::NoObject)
        out.add_attribute(oid, Botan::ASN1_String(attr.value));
      else
        out.add_attribute(oid, Botan::ASN1_String(attr.value, t.string_type));
    }
  }
  return out;
}

std::string format_dn(const Botan::X509_DN& dn) {
  static const std::map<std::string, std::string> names = [] {
    std::map<std::string, std::string> m;
    for (const auto& t : dn_types())
      m[t.oid] = t.short_name;
    return m;
  }();
  std::string out;
  const auto& rdns = dn.dn_info();
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    std::string oid = it->first.to_string();
    auto n = names.find(oid);
    if (!out.empty()) out += ',';
    out += (n == names.end() ? oid : n->second) + "=" + escape_rfc4514(it->second.value());
  }
  return out;
}

std::vector<std::string> eku_names(const std::vector<Botan::OID>& oids) {
  std::vector<std::string> out;
  out.reserve(oids.size());
  for (const auto& o : oids)
    out.push_back(eku_name(o.to_string()));
  return out;
}

Result<std::vector<Botan::OID>> eku_oids(const std::vector<std::string>& names) {
  std::vector<Botan::OID> oids;
  for (const auto& e : names) {
    auto oid = eku_oid(e);
    if (!oid) return oid.error();
    oids.push_back(Botan::OID::from_string(*oid));
  }
  return oids;
}

SignatureScheme signature_scheme_for(const Botan::Public_Key& key) {
  if (key.algo_name() == "RSA") return {"SHA-256", "PKCS1v15(SHA-256)"};
  if (key.key_length() > 256) return {"SHA-384", "SHA-384"};
  return {"SHA-256", "SHA-256"};
}

std::string upper_hex(const std::vector<uint8_t>& bytes) {
  return Botan::hex_encode(bytes, true);
}

}  // namespace pkiflow::pki

namespace pkiflow::pki {

std::string sha256_hex(const Botan::X509_Certificate& cert) {
  auto h = Botan::HashFunction::create_or_throw("SHA-256");
  auto d = h->process(cert.BER_encode());
  return upper_hex(std::vector<uint8_t>(d.begin(), d.end()));
}

}  // namespace pkiflow::pki

namespace pkiflow::pki {

std::string signature_hash(const Botan::AlgorithmIdentifier& alg) {
  std::string name;
  try {
    name = alg.oid().to_formatted_string();
  } catch (const std::exception&) {
    return "";
  }
  if (name == "RSA/PSS") {
    try {
      return Botan::PSS_Params(alg.parameters()).hash_function();
    } catch (const std::exception&) {
      return "";
    }
  }
  for (const char* h : {"SHA-512", "SHA-384", "SHA-256", "SHA-224", "SHA-1", "MD5", "MD2",
                        "SHA-3(256)", "SHA-3(384)", "SHA-3(512)"})
    if (name.find(h) != std::string::npos) return h;
  return "";
}

}  // namespace pkiflow::pki

namespace pkiflow::pki {

KeyStrength key_strength(const Botan::X509_Certificate& cert) {
  const auto& alg = cert.subject_public_key_algo();
  const std::string oid = alg.oid().to_string();
  try {
    if (oid == "1.2.840.113549.1.1.1") {  // rsaEncryption: RSAPublicKey ::= SEQUENCE { n, e }
      Botan::BigInt n;
      Botan::BER_Decoder(cert.subject_public_key_bitstring()).start_sequence().decode(n);
      return {"RSA", n.bits()};
    }
    if (oid == "1.2.840.10045.2.1") {  // id-ecPublicKey with a named curve
      Botan::OID curve;
      Botan::BER_Decoder(alg.parameters()).decode(curve);
      const std::string c = curve.to_string();
      if (c == "1.2.840.10045.3.1.7") return {"ECDSA", 256};
      if (c == "1.3.132.0.34") return {"ECDSA", 384};
      if (c == "1.3.132.0.35") return {"ECDSA", 521};
    }
  } catch (const std::exception&) {
    // fall through to the full key load, which reports a malformed key properly
  }
  auto key = cert.subject_public_key();
  return {key->algo_name(), key->key_length()};
}

std::vector<std::string> crl_urls(const Botan::X509_Certificate& cert) {
  std::vector<std::string> out;
  for (const auto& dp : cert.crl_distribution_points()) {
    if (dp.find("URI:") == std::string::npos) {
      out.push_back(dp);
      continue;
    }
    std::size_t pos = 0;
    while ((pos = dp.find("URI:", pos)) != std::string::npos) {
      pos += 4;
      while (pos < dp.size() && dp[pos] == ' ')
        ++pos;
      std::size_t end = dp.find(" URI:", pos);
      std::string url = dp.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      while (!url.empty() && (url.back() == ' ' || url.back() == '\n'))
        url.pop_back();
      out.push_back(url);
      if (end == std::string::npos) break;
      pos = end;
    }
  }
  return out;
}

std::size_t minimum_key_bits(const std::string& algorithm) {
  return algorithm == "RSA" ? 2048 : 256;
}

bool weak_signature_hash(const std::string& hash) {
  return hash == "SHA-1" || hash == "MD5" || hash == "MD2";
}

bool asserts_ca(const Botan::X509_Certificate& cert) {
  auto bc =
      cert.v3_extensions().get_extension_object_as<Botan::Cert_Extension::Basic_Constraints>();
  return bc && bc->get_is_ca();
}

std::string quoted_subject(const Botan::X509_Certificate& cert) {
  return "'" + format_dn(cert.subject_dn()) + "'";
}

std::chrono::system_clock::time_point time_point_of(const Botan::ASN1_Time& t) {
  // to_string() is the encoding's own text: YYMMDDhhmmssZ (UTCTime) or YYYYMMDDhhmmssZ.
  const std::string s = t.to_string();
  auto num = [&](std::size_t at, std::size_t len) {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i)
      v = v * 10 + (s[i] - '0');
    return v;
  };
  const std::size_t y_len = s.size() == 13 ? 2 : 4;
  int year = num(0, y_len);
  if (y_len == 2) year += year >= 50 ? 1900 : 2000;
  const unsigned month = static_cast<unsigned>(num(y_len, 2));
  const unsigned day = static_cast<unsigned>(num(y_len + 2, 2));
  const std::chrono::sys_days date{std::chrono::year{year} / std::chrono::month{month} /
                                   std::chrono::day{day}};
  return clamped_time_point(date + std::chrono::hours(num(y_len + 4, 2)) +
                            std::chrono::minutes(num(y_len + 6, 2)) +
                            std::chrono::seconds(num(y_len + 8, 2)));
}

}  // namespace pkiflow::pki

// RFC 5280 section 4 profile rules: what a conforming CA puts in a certificate. They are checked
// on every certificate of the reported path (the anchor included) and are the rules --lenient
// relaxes to warnings for legacy PKIs; path validation (section 6) never is.
#include <botan/ber_dec.h>
#include <botan/der_enc.h>
#include <botan/exceptn.h>
#include <botan/x509_ext.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/validate/detail/rules.hpp"
#include "engine/pki/validate/detail/x509_parts.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki::detail {

namespace {

namespace CE = Botan::Cert_Extension;

// 4.1.2.2: a positive INTEGER of at most 20 octets (its DER content, sign octet included).
std::optional<std::string> serial_problem(const Botan::X509_Certificate& c) {
  if (c.is_serial_negative()) return "the serial number is negative";
  const auto& s = c.serial_number();
  std::size_t first = 0;
  while (first < s.size() && s[first] == 0)
    ++first;
  if (first == s.size()) return "the serial number is zero";
  const std::size_t octets = s.size() - first + ((s[first] & 0x80) ? 1 : 0);
  if (octets > 20)
    return "the serial number takes " + std::to_string(octets) + " octets (at most 20)";
  return std::nullopt;
}

// 4.2.1.1, 4.2.1.2
std::optional<std::string> key_id_problem(const Botan::X509_Certificate& c) {
  const auto& aki = c.authority_key_id();
  const auto& ski = c.subject_key_id();
  if (c.x509_version() < 3) return std::nullopt;  // v1 and v2 carry no extensions
  if (c.is_self_signed()) {
    if (!aki.empty() && !ski.empty() && aki != ski)
      return "a self-signed certificate whose authorityKeyIdentifier differs from its "
             "subjectKeyIdentifier";
  } else if (aki.empty()) {
    return "no authorityKeyIdentifier (required on every certificate that is not self-signed" +
           std::string(self_issued(c) ? ", a cross-signed or rollover CA included)" : ")");
  }
  if (asserts_ca(c) && ski.empty()) return "a CA certificate without a subjectKeyIdentifier";
  return std::nullopt;
}

// 4.2.1.9, with 4.1.2.6 (a CA's subject is not empty).
std::optional<std::string> ca_problem(const Botan::X509_Certificate& c) {
  const auto& ext = c.v3_extensions();
  auto bc = ext.get_extension_object_as<CE::Basic_Constraints>();
  if (!bc) return std::nullopt;
  if (bc->get_is_ca()) {
    if (c.subject_dn().empty()) return "a CA certificate with an empty subject";
    if (!ext.critical_extension_set(CE::Basic_Constraints::static_oid()))
      return "basicConstraints CA:TRUE is not marked critical";
  }
  return std::nullopt;
}

// 4.2.1.3: a CA has keyUsage with keyCertSign; keyCertSign only with CA:TRUE; at least one bit.
std::optional<std::string> key_usage_problem(const Botan::X509_Certificate& c) {
  if (c.x509_version() < 3) return std::nullopt;
  const bool has = c.v3_extensions().extension_set(CE::Key_Usage::static_oid());
  const bool cert_sign = c.has_constraints(Botan::Key_Constraints::KeyCertSign);
  if (asserts_ca(c) && !has) return "a CA certificate without keyUsage";
  if (asserts_ca(c) && !cert_sign) return "a CA certificate whose keyUsage lacks keyCertSign";
  if (!asserts_ca(c) && has && cert_sign) return "keyCertSign without basicConstraints CA:TRUE";
  if (has && c.constraints().empty()) return "keyUsage with no bit set";
  return std::nullopt;
}

// 4.2.1.12: KeyPurposeId SEQUENCE SIZE (1..MAX).
std::optional<std::string> eku_problem(const Botan::X509_Certificate& c) {
  auto value = extension_value(c.v3_extensions(), oids::kExtKeyUsage);
  if (!value) return std::nullopt;
  try {
    Botan::BER_Decoder in(*value);
    auto seq = in.start_sequence();
    if (!seq.more_items()) return "extendedKeyUsage is empty";
  } catch (const Botan::Exception& e) {
    return "extendedKeyUsage cannot be read (" + std::string(e.what()) + ")";
  }
  return std::nullopt;
}

// 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. Read from the encoding: a UTCTime is
// before 2050 by its nature; a GeneralizedTime's year is its first four digits.
std::optional<std::string> validity_problem(const Botan::X509_Certificate& c) {
  for (const auto* t : {&c.not_before(), &c.not_after()}) {
    std::vector<std::uint8_t> der;
    Botan::DER_Encoder(der).encode(*t);
    const char* which = t == &c.not_before() ? "notBefore" : "notAfter";
    if (der.size() < 6 || der[0] != static_cast<std::uint8_t>(Botan::ASN1_Type::GeneralizedTime))
      continue;
    const int year =
        (der[2] - '0') * 1000 + (der[3] - '0') * 100 + (der[4] - '0') * 10 + (der[5] - '0');
    if (year < 2050)
      return std::string(which) + " is a GeneralizedTime before 2050 (UTCTime required)";
  }
  return std::nullopt;
}

struct Check {
  const char* rule;
  std::optional<std::string> (*problem)(const Botan::X509_Certificate&);
  const char* pass;
};

}  // namespace

void x509_rules(const RuleContext& ctx) {
  static const Check kChecks[] = {
      {"x509.serial", serial_problem, "every serial number is positive and at most 20 octets"},
      {"x509.key-identifiers", key_id_problem,
       "key identifiers present where required and consistent"},
      {"x509.ca-certificate", ca_problem,
       "every CA certificate has a subject and a critical basicConstraints"},
      {"x509.key-usage", key_usage_problem, "keyUsage agrees with basicConstraints"},
      {"x509.ext-key-usage", eku_problem, "no extendedKeyUsage is empty"},
      {"x509.validity-encoding", validity_problem,
       "validity dates are UTCTime through 2049, GeneralizedTime after"},
  };
  std::vector<const Botan::X509_Certificate*> certs;
  if (ctx.path)
    for (auto n : ctx.path->nodes)
      certs.push_back(&ctx.pool.entries[n].cert);
  else
    certs.push_back(&botan(ctx.req.cert));
  const bool lenient = ctx.req.options.lenient;
  for (const auto& check : kChecks) {
    bool found = false;
    for (std::size_t i = 0; i < certs.size(); ++i) {
      std::optional<std::string> problem;
      try {
        problem = check.problem(*certs[i]);
      } catch (const Botan::Exception& e) {
        problem = std::string("cannot be checked (") + e.what() + ")";
      }
      if (!problem) continue;
      found = true;
      ctx.report.add(
          check.rule, lenient ? Outcome::warn : Outcome::fail,
          quoted_subject(*certs[i]) + ": " + *problem + (lenient ? " (relaxed by --lenient)" : ""),
          i);
    }
    if (!found)
      ctx.report.add(check.rule, Outcome::pass, check.pass);
    else if (lenient)
      ctx.report.relaxed.emplace_back(check.rule);
  }
}

}  // namespace pkiflow::pki::detail

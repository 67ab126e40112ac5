#include "providers/entra_cba/cba_messages.hpp"

#include <botan/asn1_obj.h>
#include <botan/der_enc.h>
#include <botan/hash.h>
#include <botan/hex.h>

#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "providers/detail/remote_facts.hpp"
#include "providers/graph/detail/json_reading.hpp"

namespace pkiflow::cba {

using json = nlohmann::ordered_json;
using graph::detail::common_name;
using graph::detail::str;
using providers::RemoteObject;
using state::Record;

CaFields derive_ca_fields(const pki::Certificate& cert, const CbaSettings& s,
                          const std::string& display_name) {
  const auto f = cert.facts();
  CaFields out;
  out.certificate = cert.base64_der();
  out.type = f.self_signed ? "root" : "intermediate";
  out.display_name = !display_name.empty() ? display_name : common_name(f.subject);
  if (out.display_name.empty()) out.display_name = f.subject;
  out.issuer = f.issuer;
  out.issuer_ski = !f.authority_key_id.empty() ? f.authority_key_id : f.subject_key_id;
  out.expiration = pki::format_rfc3339(f.not_after);
  out.thumbprint = f.sha1_thumbprint;
  for (const auto& u : f.crl_urls)
    if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) {
      out.crl_url = u;
      break;
    }
  if (out.crl_url.empty()) out.crl_url = s.crl_url;
  out.delta_crl_url = s.delta_crl_url;
  out.issuer_hint = s.issuer_hint;
  return out;
}

std::string ca_body(const CaFields& f, bool create) {
  json j;
  if (create) {
    j["@odata.type"] = "#microsoft.graph.certificateAuthorityDetail";
    j["certificate"] = f.certificate;
    j["thumbprint"] = f.thumbprint;
  }
  j["certificateAuthorityType"] = f.type;
  j["displayName"] = f.display_name;
  j["issuer"] = f.issuer;
  if (!f.issuer_ski.empty()) j["issuerSubjectKeyIdentifier"] = f.issuer_ski;
  j["expirationDateTime"] = f.expiration;
  j["certificateRevocationListUrl"] = f.crl_url.empty() ? json(nullptr) : json(f.crl_url);
  // The CSDL spelling (graph-api.md 2); the emulator and the service accept both.
  j["deltaCertificateRevocationListUrl"] =
      f.delta_crl_url.empty() ? json(nullptr) : json(f.delta_crl_url);
  j["isIssuerHintEnabled"] = f.issuer_hint;
  return json_text(j);
}

std::vector<providers::FieldChange> ca_field_changes(const nlohmann::ordered_json& ca,
                                                     const CaFields& f) {
  auto text = [](const json& v) -> std::string {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  auto member = [&](const char* key) { return ca.contains(key) ? ca[key] : json(nullptr); };
  // The delta-CRL URL under either spelling (graph-api.md 2).
  json delta = member("deltaCertificateRevocationListUrl");
  if (delta.is_null()) delta = member("deltacertificateRevocationListUrl");
  const std::pair<std::string, std::pair<json, json>> fields[] = {
      {"displayName", {member("displayName"), json(f.display_name)}},
      {"certificateRevocationListUrl",
       {member("certificateRevocationListUrl"),
        f.crl_url.empty() ? json(nullptr) : json(f.crl_url)}},
      {"deltaCertificateRevocationListUrl",
       {delta, f.delta_crl_url.empty() ? json(nullptr) : json(f.delta_crl_url)}},
      {"isIssuerHintEnabled",
       {member("isIssuerHintEnabled").is_boolean() ? member("isIssuerHintEnabled") : json(false),
        json(f.issuer_hint)}},
  };
  std::vector<providers::FieldChange> out;
  for (const auto& [name, values] : fields) {
    // An empty string and null both mean "none" on the service.
    const std::string have = text(values.first).empty() ? "null" : text(values.first);
    const std::string want = text(values.second);
    if (have != want) out.push_back({name, have, want});
  }
  return out;
}

Status check_record_matches(const Record& r, const pki::Certificate& cert) {
  const auto f = cert.facts();
  const std::string subject = "record " + r.id + " (" + r.name + ")";
  if (!r.thumbprint_sha1.empty() && !pki::same_hex(r.thumbprint_sha1, f.sha1_thumbprint))
    return Error(ErrorKind::invalid_input, subject,
                 "its stored thumbprint " + r.thumbprint_sha1 +
                     " does not match its certificate (" + f.sha1_thumbprint +
                     "); nothing was sent");
  if (r.not_after && *r.not_after != f.not_after)
    return Error(ErrorKind::invalid_input, subject,
                 "its stored expiry " + pki::format_rfc3339(*r.not_after) +
                     " does not match its certificate (" + pki::format_rfc3339(f.not_after) +
                     "); nothing was sent");
  return Ok{};
}

Result<P7bBundle> make_p7b(const std::vector<pki::Certificate>& cas) {
  if (cas.empty()) return Error(ErrorKind::invalid_input, "bundle", "no certificates");
  try {
    P7bBundle out;
    Botan::DER_Encoder enc(out.der);
    enc.start_sequence()
        .encode(Botan::OID("1.2.840.113549.1.7.2"))  // signedData
        .start_explicit(0)
        .start_sequence()
        .encode(static_cast<std::size_t>(1))
        .start_set()
        .end_cons()  // digestAlgorithms: none
        .start_sequence()
        .encode(Botan::OID("1.2.840.113549.1.7.1"))  // data, no content
        .end_cons()
        .start_context_specific(0);  // certificates [0] IMPLICIT SET OF Certificate
    for (const auto& c : cas)
      enc.raw_bytes(c.der());
    enc.end_cons().start_set().end_cons().end_cons().end_explicit().end_cons();  // no signers
    auto h = Botan::HashFunction::create_or_throw("SHA-256");
    out.sha256_hex = Botan::hex_encode(h->process(out.der), false);
    return out;
  } catch (const std::exception& e) {
    return Error(ErrorKind::crypto, "bundle", e.what());
  }
}

PkiState state_of(const json& p) {
  if (!p.is_object()) return {};
  return {str(p, "id"), str(p, "displayName"), str(p, "status"), str(p, "statusDetails")};
}

RemoteObject listed_ca(const json& pki, const json& ca) {
  RemoteObject o;
  o.id = str(pki, "id") + "/" + str(ca, "id");
  o.name = str(ca, "displayName");
  o.status = "listed";
  o.note = "in PKI \"" + str(pki, "displayName") + "\"";
  if (!providers::detail::fill_from_certificate(o, str(ca, "certificate"))) {
    o.thumbprint_sha1 = str(ca, "thumbprint");
    if (auto t = pki::parse_rfc3339(str(ca, "expirationDateTime"))) o.not_after = *t;
  }
  return o;
}

}  // namespace pkiflow::cba

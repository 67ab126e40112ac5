#include "providers/intune_codesigning/intune_messages.hpp"

#include "engine/pki/time_format.hpp"
#include "providers/detail/remote_facts.hpp"
#include "providers/graph/detail/json_reading.hpp"

namespace pkiflow::intune {

using json = nlohmann::ordered_json;
using graph::detail::common_name;
using graph::detail::str;
using providers::RemoteObject;

namespace {

bool same_second(const json& v, pki::TimePoint t) {
  if (!v.is_string()) return false;
  auto p = pki::parse_rfc3339(v.get<std::string>());
  if (!p) return false;
  // In seconds before subtracting: two far-apart times (a hostile service's 1678 against a
  // certificate's 2262) overflow a difference in nanoseconds.
  using std::chrono::seconds;
  const auto d = std::chrono::duration_cast<seconds>(p->time_since_epoch()).count() -
                 std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
  return d >= -1 && d <= 1;
}

}  // namespace

CodeSigningFields derive_fields(const pki::Certificate& cert,
                                std::chrono::system_clock::time_point now) {
  const auto f = cert.facts();
  CodeSigningFields out;
  out.content = cert.base64_der();
  out.subject = f.subject;
  out.subject_name = common_name(f.subject);
  out.issuer = f.issuer;
  out.issuer_name = common_name(f.issuer);
  out.expiration = pki::format_rfc3339(f.not_after);
  out.upload_time = pki::format_rfc3339(now);
  return out;
}

std::string upload_body(const CodeSigningFields& f) {
  return json{{"@odata.type", "#microsoft.graph.enterpriseCodeSigningCertificate"},
              {"content", f.content},
              {"status", f.status},
              {"subjectName", f.subject_name},
              {"subject", f.subject},
              {"issuerName", f.issuer_name},
              {"issuer", f.issuer},
              {"expirationDateTime", f.expiration},
              {"uploadDateTime", f.upload_time}}
      .dump();
}

std::string reported_mismatch(const json& j, const pki::CertFacts& f) {
  if (str(j, "subject") != f.subject) return "subject";
  if (str(j, "issuer") != f.issuer) return "issuer";
  if (!same_second(j.value("expirationDateTime", json(nullptr)), f.not_after))
    return "expirationDateTime";
  return "";
}

RemoteObject listed_certificate(const json& j) {
  RemoteObject o;
  o.id = str(j, "id");
  o.name = str(j, "subjectName");
  o.status = str(j, "status");
  // content is nulled once parsed (graph-api.md 3): then only what the service reports.
  if (!providers::detail::fill_from_certificate(o, str(j, "content"))) {
    o.subject = str(j, "subject");
    o.issuer = str(j, "issuer");
    if (auto t = pki::parse_rfc3339(str(j, "expirationDateTime"))) o.not_after = *t;
  }
  return o;
}

}  // namespace pkiflow::intune

// The emulator's Entra certificate-based-auth trust store (PKI containers, their
// certificateAuthorities, the bulk upload job, soft delete) and Intune enterprise code-signing
// certificates, as graph-api.md 2, 3 and 7 describe them. Uploaded certificates are checked
// against the fields sent with them, as the service does: a thumbprint or expiry that does not
// match → 400.
#include <botan/base64.h>

#include "engine/pki/certificate.hpp"
#include "engine/pki/time_format.hpp"
#include "tools/graph-emulator/emulator_impl.hpp"

namespace pkiflow::emulator {

namespace {

constexpr const char* kPkiType = "#microsoft.graph.certificateBasedAuthPki";
constexpr const char* kCaType = "#microsoft.graph.certificateAuthorityDetail";
constexpr const char* kCodeSigningType = "#microsoft.graph.enterpriseCodeSigningCertificate";
constexpr std::size_t kMaxCas = 250;
constexpr std::size_t kMaxCaBytes = 8 * 1024;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The certificate of a Binary property (padded standard base64 of the DER), or why not.
std::optional<pki::Certificate> binary_certificate(const json& v, std::string& why) {
  if (!v.is_string()) {
    why = "must be a base64 string";
    return std::nullopt;
  }
  try {
    auto der = Botan::base64_decode(v.get<std::string>());
    if (der.size() > kMaxCaBytes) {
      why = "is larger than 8 KB";
      return std::nullopt;
    }
    auto cert = pki::Certificate::decode_der(pki::Bytes(der.begin(), der.end()));
    if (!cert) {
      why = "is not a DER certificate";
      return std::nullopt;
    }
    return *cert;
  } catch (const std::exception&) {
    why = "is not valid base64";
    return std::nullopt;
  }
}

// Whether a DateTimeOffset value names the same second as `t`.
bool same_time(const json& v, TimePoint t) {
  if (!v.is_string()) return false;
  auto parsed = pki::parse_rfc3339(v.get<std::string>());
  if (!parsed) return false;
  const auto d = std::chrono::duration_cast<std::chrono::seconds>(*parsed - t).count();
  return d >= -1 && d <= 1;
}

// The fields of a certificateAuthorityDetail body, checked against its certificate. Returns
// "" or the message of the 400.
std::string check_authority(const json& body, const json* existing, bool create) {
  static const std::set<std::string> known{"@odata.type",
                                           "certificate",
                                           "certificateAuthorityType",
                                           "displayName",
                                           "issuer",
                                           "issuerSubjectKeyIdentifier",
                                           "expirationDateTime",
                                           "thumbprint",
                                           "certificateRevocationListUrl",
                                           "deltaCertificateRevocationListUrl",
                                           "deltacertificateRevocationListUrl",
                                           "isIssuerHintEnabled"};
  for (auto it = body.begin(); it != body.end(); ++it)
    if (!known.count(it.key())) return "Invalid property '" + it.key() + "' in the request body.";
  if (create)
    for (const char* k : {"certificate", "expirationDateTime", "thumbprint"})
      if (!body.contains(k)) return std::string("The property '") + k + "' is required.";
  const json& cert_value = body.contains("certificate") ? body["certificate"]
                           : existing                   ? (*existing)["certificate"]
                                                        : body["certificate"];
  std::string why;
  auto cert = binary_certificate(cert_value, why);
  if (!cert) return "The property 'certificate' " + why + ".";
  const auto f = cert->facts();
  if (body.contains("thumbprint") &&
      (!body["thumbprint"].is_string() || upper(body["thumbprint"]) != f.sha1_thumbprint))
    return "The thumbprint does not match the certificate (SHA-1 of its DER is " +
           f.sha1_thumbprint + ").";
  if (body.contains("expirationDateTime") && !same_time(body["expirationDateTime"], f.not_after))
    return "The expirationDateTime does not match the certificate's notAfter (" +
           pki::format_rfc3339(f.not_after) + ").";
  if (body.contains("issuerSubjectKeyIdentifier") && !f.authority_key_id.empty() &&
      (!body["issuerSubjectKeyIdentifier"].is_string() ||
       upper(body["issuerSubjectKeyIdentifier"]) != f.authority_key_id))
    return "The issuerSubjectKeyIdentifier does not match the certificate's authority key "
           "identifier.";
  if (body.contains("certificateAuthorityType") && body["certificateAuthorityType"] != "root" &&
      body["certificateAuthorityType"] != "intermediate")
    return "The certificateAuthorityType must be 'root' or 'intermediate'.";
  if (body.contains("isIssuerHintEnabled") && !body["isIssuerHintEnabled"].is_boolean())
    return "The property 'isIssuerHintEnabled' must be a Boolean.";
  return "";
}

}  // namespace

json GraphEmulator::Impl::page(const std::vector<json>& items, const std::string& path,
                               const std::string& query) const {
  std::size_t top = 100, skip = 0;
  try {
    if (auto t = query_value(query, "$top"); !t.empty())
      top = std::clamp<std::size_t>(std::stoul(t), 1, 999);
    if (auto k = query_value(query, "$skiptoken"); !k.empty()) skip = std::stoul(k);
  } catch (const std::exception&) {
  }
  json value = json::array();
  for (std::size_t i = skip; i < items.size() && i < skip + top; ++i)
    value.push_back(items[i]);
  json out{{"value", value}};
  if (skip + top < items.size())
    out["@odata.nextLink"] = base_url + path + "?$top=" + std::to_string(top) +
                             "&$skiptoken=" + std::to_string(skip + top);
  return out;
}

void GraphEmulator::Impl::advance_directory() {
  const auto now = clock();
  for (auto& p : pkis)
    if (p.job_done_at && now >= *p.job_done_at) {
      p.object["status"] = "succeeded";
      p.object["statusDetails"] = "The upload job finished.";
      p.object["lastModifiedDateTime"] = pki::format_rfc3339(now);
      p.job_done_at.reset();
    }
  for (auto& c : code_signing)
    if (c.object["status"] == "notProvisioned" && now >= c.parsed_at) {
      c.object["status"] = "provisioned";
      if (opt.code_signing_content_nulled) c.object["content"] = nullptr;  // as documented
    }
}

Response GraphEmulator::Impl::cba(const Request& req, const std::string& rid,
                                  const std::string& rest, const std::string& query) {
  advance_directory();
  auto ok = [](int status, const json& body) {
    return Response{status, {{"Content-Type", "application/json"}}, body.dump()};
  };
  auto body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (rest.empty()) {
    if (req.method == "GET") {
      std::vector<json> all;
      for (const auto& p : pkis)
        all.push_back(p.object);
      return ok(200, page(all, std::string(kCbaPath), query));
    }
    if (req.method != "POST")
      return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
    if (!body.is_object() || !body.contains("displayName") || !body["displayName"].is_string())
      return graph_error(400, "BadRequest", "The property 'displayName' is required.", req, rid);
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "displayName" && it.key() != "@odata.type")
        return graph_error(400, "BadRequest",
                           "Invalid property '" + it.key() + "' in the request body.", req, rid);
    Pki p;
    p.object = json{{"@odata.type", kPkiType},
                    {"id", hex_guid(rng)},
                    {"displayName", body["displayName"]},
                    {"status", nullptr},
                    {"statusDetails", nullptr},
                    {"lastModifiedDateTime", pki::format_rfc3339(clock())},
                    {"deletedDateTime", nullptr}};
    pkis.push_back(p);
    return ok(201, p.object);
  }
  const auto slash = rest.find('/');
  const std::string id = rest.substr(0, slash);
  const std::string sub = slash == std::string::npos ? "" : rest.substr(slash + 1);
  auto it =
      std::find_if(pkis.begin(), pkis.end(), [&](const Pki& p) { return p.object["id"] == id; });
  if (it == pkis.end())
    return graph_error(404, "Request_ResourceNotFound",
                       "Resource '" + id +
                           "' does not exist or one of its queried reference-property "
                           "objects are not present.",
                       req, rid);
  if (sub == "upload") {
    if (req.method != "POST")
      return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
    if (it->job_done_at)
      return graph_error(400, "BadRequest",
                         "Another operation is running on this PKI; retry when its status is no "
                         "longer 'running'.",
                         req, rid);
    const std::string url = body.is_object() ? body.value("uploadUrl", "") : "";
    const std::string hash = body.is_object() ? body.value("sha256FileHash", "") : "";
    if (url.rfind("https://", 0) != 0 || hash.size() != 64 ||
        hash.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return graph_error(400, "BadRequest",
                         "uploadUrl must be an https URL and sha256FileHash 64 hex digits.", req,
                         rid);
    it->object["status"] = "running";
    it->object["statusDetails"] = "Uploading the certificate authorities of " + url;
    it->job_done_at = clock() + opt.activation_delay;
    return {204, {}, ""};
  }
  if (sub == "certificateAuthorities" || sub.rfind("certificateAuthorities/", 0) == 0)
    return cba_authorities(req, rid, *it, sub.size() > 23 ? sub.substr(23) : "", query);
  if (!sub.empty())
    return graph_error(404, "ResourceNotFound", "Resource not found for the segment '" + sub + "'.",
                       req, rid);
  if (req.method == "GET") return ok(200, it->object);
  if (req.method == "PATCH") {
    for (auto k = body.begin(); body.is_object() && k != body.end(); ++k)
      if (k.key() != "displayName")
        return graph_error(400, "BadRequest", "Property '" + k.key() + "' is read-only.", req, rid);
    if (body.contains("displayName")) it->object["displayName"] = body["displayName"];
    it->object["lastModifiedDateTime"] = pki::format_rfc3339(clock());
    return ok(200, it->object);
  }
  if (req.method == "DELETE") {
    json gone = it->object;
    gone["deletedDateTime"] = pki::format_rfc3339(clock());
    deleted_items.push_back(gone);
    pkis.erase(it);
    return {204, {}, ""};
  }
  return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
}

Response GraphEmulator::Impl::cba_authorities(const Request& req, const std::string& rid, Pki& pki,
                                              const std::string& ca_id, const std::string& query) {
  auto ok = [](int status, const json& body) {
    return Response{status, {{"Content-Type", "application/json"}}, body.dump()};
  };
  auto body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object())
    return graph_error(400, "BadRequest", "The request body is not a JSON object.", req, rid);
  if (ca_id.empty()) {
    if (req.method == "GET")
      return ok(200, page(pki.authorities,
                          std::string(kCbaPath) + "/" + pki.object["id"].get<std::string>() +
                              "/certificateAuthorities",
                          query));
    if (req.method != "POST")
      return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
    if (auto why = check_authority(body, nullptr, true); !why.empty())
      return graph_error(400, "BadRequest", why, req, rid);
    for (const auto& a : pki.authorities)
      if (a["thumbprint"] == upper(body["thumbprint"]))
        return graph_error(400, "BadRequest", "Duplicate Certificate exists.", req, rid);
    if (pki.authorities.size() >= kMaxCas)
      return graph_error(400, "BadRequest", "A PKI holds at most 250 certificate authorities.", req,
                         rid);
    json ca{
        {"@odata.type", kCaType},
        {"id", hex_guid(rng)},
        {"certificateAuthorityType", body.value("certificateAuthorityType", "intermediate")},
        {"certificate", body["certificate"]},
        {"displayName", body.value("displayName", "")},
        {"issuer", body.value("issuer", "")},
        {"issuerSubjectKeyIdentifier", body.value("issuerSubjectKeyIdentifier", "")},
        {"createdDateTime", pki::format_rfc3339(clock())},
        {"expirationDateTime", body["expirationDateTime"]},
        {"thumbprint", upper(body["thumbprint"])},
        {"certificateRevocationListUrl", body.value("certificateRevocationListUrl", json(nullptr))},
        {"deltaCertificateRevocationListUrl",
         body.contains("deltaCertificateRevocationListUrl")
             ? body["deltaCertificateRevocationListUrl"]
             : body.value("deltacertificateRevocationListUrl", json(nullptr))},
        {"isIssuerHintEnabled", body.value("isIssuerHintEnabled", false)},
        {"deletedDateTime", nullptr}};
    pki.authorities.push_back(ca);
    return ok(201, ca);
  }
  auto it = std::find_if(pki.authorities.begin(), pki.authorities.end(),
                         [&](const json& a) { return a["id"] == ca_id; });
  if (it == pki.authorities.end())
    return graph_error(404, "Request_ResourceNotFound", "Resource '" + ca_id + "' does not exist.",
                       req, rid);
  if (req.method == "GET") return ok(200, *it);
  if (req.method == "DELETE") {
    json gone = *it;
    gone["deletedDateTime"] = pki::format_rfc3339(clock());
    deleted_items.push_back(gone);
    pki.authorities.erase(it);
    return {204, {}, ""};
  }
  if (req.method != "PATCH")
    return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
  if (auto why = check_authority(body, &*it, false); !why.empty())
    return graph_error(400, "BadRequest", why, req, rid);
  for (auto k = body.begin(); k != body.end(); ++k) {
    if (k.key() == "@odata.type") continue;
    const std::string key = k.key() == "deltacertificateRevocationListUrl"
                                ? "deltaCertificateRevocationListUrl"
                                : k.key();
    (*it)[key] = key == "thumbprint" ? json(upper(k.value())) : k.value();
  }
  return ok(200, *it);
}

Response GraphEmulator::Impl::intune(const Request& req, const std::string& rid,
                                     const std::string& rest) {
  advance_directory();
  auto ok = [](int status, const json& body) {
    return Response{status, {{"Content-Type", "application/json"}}, body.dump()};
  };
  auto body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object())
    return graph_error(400, "BadRequest", "The request body is not a JSON object.", req, rid);
  static const std::set<std::string> known{
      "@odata.type",   "content",    "status", "subjectName",
      "subject",       "issuerName", "issuer", "expirationDateTime",
      "uploadDateTime"};
  for (auto k = body.begin(); k != body.end(); ++k)
    if (!known.count(k.key()))
      return graph_error(400, "BadRequest",
                         "Invalid property '" + k.key() + "' in the request body.", req, rid);
  // The content must be a certificate and agree with the fields sent alongside it.
  auto check = [&](const json& b) -> std::string {
    if (!b.contains("content")) return "";
    std::string why;
    auto cert = binary_certificate(b["content"], why);
    if (!cert) return "The property 'content' " + why + ".";
    const auto f = cert->facts();
    if (b.contains("expirationDateTime") && !same_time(b["expirationDateTime"], f.not_after))
      return "The expirationDateTime does not match the certificate (" +
             pki::format_rfc3339(f.not_after) + ").";
    if (b.contains("subject") && b["subject"] != f.subject)
      return "The subject does not match the certificate ('" + f.subject + "').";
    if (b.contains("issuer") && b["issuer"] != f.issuer)
      return "The issuer does not match the certificate ('" + f.issuer + "').";
    if (b.contains("status") && b["status"] != "notProvisioned" && b["status"] != "provisioned")
      return "The status must be 'notProvisioned' or 'provisioned'.";
    return "";
  };
  if (rest.empty()) {
    if (req.method == "GET") {
      std::vector<json> all;
      for (const auto& c : code_signing)
        all.push_back(c.object);
      return ok(200, json{{"value", all}});
    }
    if (req.method != "POST")
      return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
    if (!body.contains("content"))
      return graph_error(400, "BadRequest", "The property 'content' is required.", req, rid);
    if (auto why = check(body); !why.empty()) return graph_error(400, "BadRequest", why, req, rid);
    CodeSigning c;
    c.object = body;
    c.object["@odata.type"] = kCodeSigningType;
    c.object["id"] = hex_guid(rng);
    c.object["status"] = "notProvisioned";
    for (const char* k : {"subjectName", "subject", "issuerName", "issuer", "expirationDateTime"})
      if (!c.object.contains(k)) c.object[k] = nullptr;
    c.object["uploadDateTime"] = pki::format_rfc3339(clock());
    c.parsed_at = clock() + opt.activation_delay;
    code_signing.push_back(c);
    return ok(201, c.object);
  }
  auto it = std::find_if(code_signing.begin(), code_signing.end(),
                         [&](const CodeSigning& c) { return c.object["id"] == rest; });
  if (it == code_signing.end())
    return graph_error(404, "ResourceNotFound", "The resource '" + rest + "' does not exist.", req,
                       rid);
  if (req.method == "GET") return ok(200, it->object);
  if (req.method == "DELETE") {
    code_signing.erase(it);
    return {204, {}, ""};
  }
  if (req.method != "PATCH")
    return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
  if (auto why = check(body); !why.empty()) return graph_error(400, "BadRequest", why, req, rid);
  for (auto k = body.begin(); k != body.end(); ++k)
    it->object[k.key()] = k.value();
  if (body.contains("content")) {  // new content is parsed again
    it->object["status"] = "notProvisioned";
    it->parsed_at = clock() + opt.activation_delay;
  }
  return ok(200, it->object);
}

json GraphEmulator::Impl::directory_state() const {
  json pk = json::array();
  for (const auto& p : pkis)
    pk.push_back(
        {{"object", p.object},
         {"authorities", p.authorities},
         {"job_done_ms", p.job_done_at ? json(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  p.job_done_at->time_since_epoch())
                                                  .count())
                                       : json(nullptr)}});
  json cs = json::array();
  for (const auto& c : code_signing)
    cs.push_back({{"object", c.object},
                  {"parsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                    c.parsed_at.time_since_epoch())
                                    .count()}});
  return json{{"pkis", pk}, {"deleted_items", deleted_items}, {"code_signing", cs}};
}

void GraphEmulator::Impl::load_directory_state(const json& j) {
  for (const auto& p : j.value("pkis", json::array())) {
    Pki x;
    x.object = p.at("object");
    for (const auto& a : p.at("authorities"))
      x.authorities.push_back(a);
    if (p.at("job_done_ms").is_number())
      x.job_done_at = TimePoint(std::chrono::milliseconds(p.at("job_done_ms").get<long long>()));
    pkis.push_back(std::move(x));
  }
  for (const auto& d : j.value("deleted_items", json::array()))
    deleted_items.push_back(d);
  for (const auto& c : j.value("code_signing", json::array()))
    code_signing.push_back(
        {c.at("object"), TimePoint(std::chrono::milliseconds(c.at("parsed_ms").get<long long>()))});
}

}  // namespace pkiflow::emulator

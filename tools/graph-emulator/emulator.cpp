#include "tools/graph-emulator/emulator.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"

namespace pkiflow::emulator {

namespace {

using json = nlohmann::ordered_json;
constexpr const char* kGsaPath = "/beta/networkAccess/tls/externalCertificateAuthorityCertificates";
constexpr const char* kGsaType =
    "#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string find_header(const std::vector<std::pair<std::string, std::string>>& h,
                        const std::string& name) {
  for (const auto& [k, v] : h)
    if (lower(k) == lower(name)) return v;
  return "";
}

std::string hex_guid(pki::Rng& rng) {
  return pki::random_guid(rng);
}

// Decodes %XX and '+' of a form or query component.
std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(pos, amp - pos);
    auto eq = pair.find('=');
    out[url_decode(pair.substr(0, eq))] =
        eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return out;
}

// The service's view of one TLS-inspection CA object.
struct TlsObject {
  std::string id;
  std::string name;
  std::string common_name;
  std::string organization_name;
  std::string status = "csrGenerated";
  std::string csr_pem;
  std::string spki;  // the service key's SubjectPublicKeyInfo (the key itself never leaves)
  std::string certificate;
  std::string chain;
  TimePoint created{};
  std::optional<TimePoint> uploaded;
};

// Members after unknownFutureValue reach only clients that ask for them (graph-api.md 1).
bool evolvable_member(const std::string& s) {
  return s == "expiring" || s == "expired" || s == "enabled" || s == "disabled" ||
         s == "creating" || s == "revoked";
}

}  // namespace

std::string Request::header(const std::string& name) const {
  return find_header(headers, name);
}
std::string Response::header(const std::string& name) const {
  return find_header(headers, name);
}

struct GraphEmulator::Impl {
  Options opt;
  std::function<TimePoint()> clock;
  pki::Rng rng;
  std::map<std::string, TimePoint> tokens;  // issued access tokens and their expiry
  std::vector<TlsObject> objects;
  std::set<std::string> names_used;  // GSA names are never reusable
  std::vector<LogEntry> log;

  Impl(Options o, std::function<TimePoint()> c, std::uint64_t seed)
      : opt(std::move(o)), clock(std::move(c)), rng(pki::Rng::deterministic(seed)) {}

  // Graph's error body, with innerError {date, request-id, client-request-id}.
  Response graph_error(int status, const std::string& code, const std::string& message,
                       const Request& req, const std::string& request_id) {
    json inner{{"date", pki::format_rfc3339(clock())},
               {"request-id", request_id},
               {"client-request-id", req.header("client-request-id")}};
    return {status,
            {{"Content-Type", "application/json"}},
            json{{"error", {{"code", code}, {"message", message}, {"innerError", inner}}}}.dump()};
  }

  Response token(const Request& req) {
    auto form = parse_form(req.body);
    auto aad_error = [&](int status, const std::string& error, const std::string& description) {
      json body{{"error", error},
                {"error_description", description},
                {"error_codes", json::array()},
                {"trace_id", hex_guid(rng)},
                {"correlation_id", hex_guid(rng)}};
      return Response{status, {{"Content-Type", "application/json"}}, body.dump()};
    };
    if (form["grant_type"] != "client_credentials")
      return aad_error(400, "unsupported_grant_type",
                       "AADSTS70003: The app requested an unsupported grant type.");
    if (form["client_id"] != opt.client_id)
      return aad_error(400, "unauthorized_client",
                       "AADSTS700016: Application with identifier '" + form["client_id"] +
                           "' was not found in the directory '" + opt.tenant + "'.");
    if (form["scope"].empty() || form["scope"].find("/.default") == std::string::npos)
      return aad_error(400, "invalid_scope",
                       "AADSTS1002012: The provided value for scope is not valid.");
    if (form.count("client_assertion"))
      return aad_error(400, "invalid_request",
                       "client assertions are not supported by this emulator yet");
    if (opt.client_secret.empty() || form["client_secret"] != opt.client_secret)
      return aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    std::string token = hex_guid(rng) + hex_guid(rng);
    tokens[token] = clock() + opt.token_lifetime;
    json body{{"token_type", "Bearer"},
              {"expires_in", opt.token_lifetime.count()},
              {"ext_expires_in", opt.token_lifetime.count()},
              {"access_token", token}};
    return {200, {{"Content-Type", "application/json"}}, body.dump()};
  }

  bool authorised(const Request& req) {
    const std::string auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) return false;
    auto it = tokens.find(auth.substr(7));
    return it != tokens.end() && clock() < it->second;
  }

  // Uploaded certificates become active after the delay; one active certificate at a time, so
  // an older active one is switched off (modelled as "disabled").
  void advance() {
    const auto now = clock();
    for (auto& o : objects) {
      if (o.status != "enrolling" || !o.uploaded || now < *o.uploaded + opt.activation_delay)
        continue;
      for (auto& other : objects)
        if (&other != &o && (other.status == "active" || other.status == "enabled"))
          other.status = "disabled";
      o.status = "active";
    }
  }

  json object_json(const TlsObject& o, bool with_csr, bool unknown_members) const {
    std::string status = o.status;
    if (evolvable_member(status) && !unknown_members) status = "unknownFutureValue";
    json j{{"@odata.type", kGsaType},
           {"id", o.id},
           {"name", o.name},
           {"commonName", o.common_name},
           {"organizationName", o.organization_name},
           {"status", status},
           {"validity",
            {{"startDateTime", pki::format_rfc3339(o.created)},
             {"endDateTime", pki::format_rfc3339(o.created + std::chrono::hours(24 * 365))}}},
           {"certificate", o.certificate.empty() ? json(nullptr) : json(o.certificate)},
           {"chain", o.chain.empty() ? json(nullptr) : json(o.chain)}};
    j["certificateSigningRequest"] = with_csr ? json(o.csr_pem) : json(nullptr);
    return j;
  }

  TlsObject* find(const std::string& id) {
    for (auto& o : objects)
      if (o.id == id) return &o;
    return nullptr;
  }

  Response gsa(const Request& req, const std::string& rid, const std::string& rest,
               const std::string& query);
  Response gsa_create(const Request& req, const std::string& rid);
  Response gsa_upload(const Request& req, const std::string& rid, TlsObject& o, const json& body);
};

Response GraphEmulator::Impl::gsa_create(const Request& req, const std::string& rid) {
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object())
    return graph_error(400, "BadRequest", "The request body is not a JSON object.", req, rid);
  for (auto it = body.begin(); it != body.end(); ++it)
    if (it.key() != "@odata.type" && it.key() != "name" && it.key() != "commonName" &&
        it.key() != "organizationName")
      return graph_error(400, "BadRequest",
                         "Invalid property '" + it.key() + "' in the request body.", req, rid);
  for (const char* k : {"name", "commonName", "organizationName"})
    if (!body.contains(k) || !body[k].is_string() || body[k].get<std::string>().empty())
      return graph_error(400, "BadRequest", std::string("The property '") + k + "' is required.",
                         req, rid);
  const std::string name = body["name"];
  if (opt.name_rules) {
    if (name.size() > 12 || name.find(' ') != std::string::npos)
      return graph_error(400, "BadRequest",
                         "The name must have at most 12 characters and no spaces.", req, rid);
    if (names_used.count(name))
      return graph_error(
          409, "Conflict",
          "The name '" + name + "' is in use or was used before; names cannot be reused.", req,
          rid);
  }
  TlsObject o;
  o.id = hex_guid(rng);
  o.name = name;
  o.common_name = body["commonName"];
  o.organization_name = body["organizationName"];
  o.created = clock();
  auto key = pki::PrivateKey::generate(
      opt.rsa_service_keys ? pki::KeyAlgorithm::rsa2048 : pki::KeyAlgorithm::p256, rng);
  pki::CsrSpec spec;
  std::string cn = o.common_name, org = o.organization_name;
  for (auto* s : {&cn, &org})  // the subject parser takes commas as separators
    s->erase(std::remove(s->begin(), s->end(), ','), s->end());
  spec.subject = "CN=" + cn + ",O=" + org;
  auto csr = pki::Csr::build(spec, key, rng);
  if (!csr)
    return graph_error(400, "BadRequest",
                       "Cannot make a CSR for that subject: " + csr.error().message(), req, rid);
  o.csr_pem = csr->pem();
  auto spki = key.public_key().spki_der;
  o.spki.assign(spki.begin(), spki.end());
  names_used.insert(name);
  objects.push_back(o);
  return {201,
          {{"Content-Type", "application/json"}, {"Location", std::string(kGsaPath) + "/" + o.id}},
          object_json(o, true, !req.header("Prefer").empty()).dump()};
}

Response GraphEmulator::Impl::gsa_upload(const Request& req, const std::string& rid, TlsObject& o,
                                         const json& body) {
  if (!body.contains("certificate") || !body["certificate"].is_string())
    return graph_error(400, "BadRequest", "The property 'certificate' is required.", req, rid);
  const std::string pem = body["certificate"];
  auto certs = pki::Certificate::decode_all(pki::Bytes(pem.begin(), pem.end()));
  if (!certs || certs->empty())
    return graph_error(400, "BadRequest", "The certificate is not a valid PEM certificate.", req,
                       rid);
  const auto facts = certs->front().facts();
  if (std::string(facts.key.spki_der.begin(), facts.key.spki_der.end()) != o.spki)
    return graph_error(
        400, "BadRequest",
        "The certificate's public key does not match the certificate signing request.", req, rid);
  if (!facts.is_ca)
    return graph_error(400, "BadRequest",
                       "The certificate is not a CA certificate (basicConstraints CA:TRUE).", req,
                       rid);
  const std::string chain =
      body.contains("chain") && body["chain"].is_string() ? body["chain"].get<std::string>() : "";
  auto chain_certs = pki::Certificate::decode_all(pki::Bytes(chain.begin(), chain.end()));
  if (!chain_certs || chain_certs->empty())
    return graph_error(400, "BadRequest", "The chain is missing or not valid PEM.", req, rid);
  o.certificate = pem;
  o.chain = chain;
  o.status = "enrolling";
  o.uploaded = clock();
  return {204, {}, ""};
}

Response GraphEmulator::Impl::gsa(const Request& req, const std::string& rid,
                                  const std::string& rest, const std::string& query) {
  const bool unknown_members =
      lower(req.header("Prefer")).find("include-unknown-enum-members") != std::string::npos;
  advance();
  if (rest.empty()) {
    if (req.method == "POST") return gsa_create(req, rid);
    if (req.method != "GET")
      return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
    // $filter on name: eq '…' or startsWith(name, '…') (graph-api.md 1).
    std::string name_filter;
    bool starts_with = false;
    const std::string decoded = url_decode(query);
    const std::string eq = "$filter=name eq '";
    const std::string sw = "$filter=startsWith(name, '";
    if (decoded.rfind(eq, 0) == 0 && decoded.size() > eq.size() && decoded.back() == '\'') {
      name_filter = decoded.substr(eq.size(), decoded.size() - eq.size() - 1);
    } else if (decoded.rfind(sw, 0) == 0 && decoded.size() > sw.size() + 1 &&
               decoded.substr(decoded.size() - 2) == "')") {
      name_filter = decoded.substr(sw.size(), decoded.size() - sw.size() - 2);
      starts_with = true;
    } else if (!decoded.empty()) {
      return graph_error(400, "BadRequest", "Unsupported query '" + decoded + "'.", req, rid);
    }
    json value = json::array();
    for (const auto& o : objects)
      if (name_filter.empty() || (starts_with ? o.name.rfind(name_filter, 0) == 0
                                              : o.name == name_filter))
        value.push_back(object_json(o, opt.csr_in_get, unknown_members));
    return {200, {{"Content-Type", "application/json"}}, json{{"value", value}}.dump()};
  }
  TlsObject* o = find(rest);
  if (!o)
    return graph_error(404, "ResourceNotFound", "The resource '" + rest + "' does not exist.", req,
                       rid);
  if (req.method == "GET")
    return {200,
            {{"Content-Type", "application/json"}},
            object_json(*o, opt.csr_in_get, unknown_members).dump()};
  if (req.method == "DELETE") {
    objects.erase(std::remove_if(objects.begin(), objects.end(),
                                 [&](const TlsObject& x) { return x.id == rest; }),
                  objects.end());
    return {204, {}, ""};
  }
  if (req.method != "PATCH")
    return graph_error(405, "MethodNotAllowed", "Method not allowed.", req, rid);
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object())
    return graph_error(400, "BadRequest", "The request body is not a JSON object.", req, rid);
  for (auto it = body.begin(); it != body.end(); ++it)
    if (it.key() != "certificate" && it.key() != "chain" && it.key() != "status")
      return graph_error(400, "BadRequest",
                         "Invalid property '" + it.key() + "' in the request body.", req, rid);
  if (body.contains("status")) {
    if (body["status"] != "enabled" || o->status != "active")
      return graph_error(400, "BadRequest", "Only an active certificate can be set to 'enabled'.",
                         req, rid);
    o->status = "enabled";
    return {204, {}, ""};
  }
  return gsa_upload(req, rid, *o, body);
}

GraphEmulator::GraphEmulator(Options options, std::function<TimePoint()> clock, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(clock), seed)) {}
GraphEmulator::~GraphEmulator() = default;

Response GraphEmulator::handle(const Request& req) {
  auto& m = *impl_;
  const std::string rid = hex_guid(m.rng);
  const auto q = req.target.find('?');
  const std::string path = req.target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  Response res;
  const std::string token_path = "/" + m.opt.tenant + "/oauth2/v2.0/token";
  if (path == token_path && req.method == "POST") {
    res = m.token(req);
  } else if (path.rfind("/beta/", 0) != 0) {
    res = m.graph_error(404, "ResourceNotFound",
                        "Resource not found for the segment '" + path + "'.", req, rid);
  } else if (!m.authorised(req)) {
    res = m.graph_error(401, "InvalidAuthenticationToken",
                        "Access token is empty, invalid or expired.", req, rid);
  } else if (path == kGsaPath || path.rfind(std::string(kGsaPath) + "/", 0) == 0) {
    const std::string rest = path.size() > std::string(kGsaPath).size()
                                 ? path.substr(std::string(kGsaPath).size() + 1)
                                 : "";
    res = m.gsa(req, rid, rest, query);
  } else {
    res = m.graph_error(404, "ResourceNotFound",
                        "Resource not found for the segment '" + path + "'.", req, rid);
  }
  res.headers.emplace_back("request-id", rid);
  const std::string crid = req.header("client-request-id");
  if (!crid.empty()) res.headers.emplace_back("client-request-id", crid);
  m.log.push_back({m.clock(), req.method, req.target, res.status, rid, crid});
  return res;
}

const std::vector<LogEntry>& GraphEmulator::log() const {
  return impl_->log;
}
std::size_t GraphEmulator::tls_object_count() const {
  return impl_->objects.size();
}

std::string log_line_json(const LogEntry& e) {
  return json{{"at", pki::format_rfc3339(e.at)},
              {"method", e.method},
              {"target", e.target},
              {"status", e.status},
              {"request_id", e.request_id},
              {"client_request_id", e.client_request_id}}
      .dump();
}

}  // namespace pkiflow::emulator

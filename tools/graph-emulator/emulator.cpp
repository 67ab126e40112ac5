#include "tools/graph-emulator/emulator.hpp"
#include "tools/graph-emulator/emulator_impl.hpp"

#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/x509cert.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"

namespace pkiflow::emulator {

std::string Request::header(const std::string& name) const {
  return find_header(headers, name);
}
std::string Response::header(const std::string& name) const {
  return find_header(headers, name);
}

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
    const bool alnum = std::all_of(name.begin(), name.end(),
                                   [](unsigned char c) { return c < 0x80 && std::isalnum(c); });
    if (name.size() > 12 || !alnum)
      return graph_error(400, "BadRequest",
                         "The name must be 1 to 12 letters and digits ([A-Za-z0-9]).", req, rid);
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
  // The service refuses a second upload once the object left csrGenerated (graph-api.md 0).
  if (o.status != "csrGenerated")
    return graph_error(400, "BadRequest",
                       "Certificate is in status '" + o.status + "' and cannot be uploaded again.",
                       req, rid);
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
  if (facts.path_len && *facts.path_len < 1)
    return graph_error(400, "BadRequest",
                       "The certificate's path length constraint leaves no room for the service's "
                       "intermediate CA (pathLenConstraint must be at least 1 or absent).",
                       req, rid);
  const std::string chain =
      body.contains("chain") && body["chain"].is_string() ? body["chain"].get<std::string>() : "";
  auto chain_certs = pki::Certificate::decode_all(pki::Bytes(chain.begin(), chain.end()));
  if (!chain_certs || chain_certs->empty())
    return graph_error(400, "BadRequest", "The chain is missing or not valid PEM.", req, rid);
  o.certificate = pem;
  o.chain = chain;
  o.status = opt.staged_flow ? "disabled" : "enrolling";  // staged until enabled, or enrolling
  o.uploaded = clock();
  return {204, {}, ""};
}

// PATCH {"status":"enabled"}: in the staged flow the switch that puts an upload live; on the
// direct flow a no-op kept for tenants that ask for it (--require-enable).
Response GraphEmulator::Impl::gsa_enable(const Request& req, const std::string& rid, TlsObject& o) {
  if (o.certificate.empty())
    return graph_error(400, "BadRequest",
                       "Certificate is in status '" + o.status +
                           "'; only an uploaded certificate can be set to 'enabled'.",
                       req, rid);
  o.enable_requested = true;
  if (opt.staged_flow) {
    if (o.status == "disabled") {
      o.status = "creating";
      o.enabled_at = clock();
    }
    return {204, {}, ""};
  }
  if (o.status == "active") o.status = "enabled";
  if (o.status == "disabled") {  // switched on again: one enabled certificate per tenant
    for (auto& other : objects)
      if (&other != &o && (other.status == "active" || other.status == "enabled"))
        other.status = "disabled";
    o.status = "enabled";
  }
  return {204, {}, ""};
}

// The collection: $filter on name (eq, startsWith) unless --ignore-filter, paged with
// @odata.nextLink, 404 on an empty tenant when asked to (graph-api.md 0).
Response GraphEmulator::Impl::gsa_list(const Request& req, const std::string& rid,
                                       const std::string& query, bool unknown_members) {
  std::string name_filter;
  bool starts_with = false;
  const std::string filter = query_value(query, "$filter");
  const std::string eq = "name eq '";
  const std::string sw = "startsWith(name, '";
  if (opt.ignore_filter || filter.empty()) {
  } else if (filter.rfind(eq, 0) == 0 && filter.size() > eq.size() && filter.back() == '\'') {
    name_filter = filter.substr(eq.size(), filter.size() - eq.size() - 1);
  } else if (filter.rfind(sw, 0) == 0 && filter.size() > sw.size() + 1 &&
             filter.substr(filter.size() - 2) == "')") {
    name_filter = filter.substr(sw.size(), filter.size() - sw.size() - 2);
    starts_with = true;
  } else {
    return graph_error(400, "BadRequest", "Unsupported query '" + url_decode(query) + "'.", req,
                       rid);
  }
  if (objects.empty() && opt.gsa_404_when_empty)
    return graph_error(404, "ResourceNotFound", "Tenant TLS Tenant Settings does not exist.", req,
                       rid);
  std::vector<const TlsObject*> matching;
  for (const auto& o : objects)
    if (name_filter.empty() ||
        (starts_with ? o.name.rfind(name_filter, 0) == 0 : o.name == name_filter))
      matching.push_back(&o);
  std::size_t skip = 0;
  try {
    if (auto k = query_value(query, "$skiptoken"); !k.empty()) skip = std::stoul(k);
  } catch (const std::exception&) {
    return graph_error(400, "BadRequest", "Invalid $skiptoken.", req, rid);
  }
  const std::size_t size = std::max<std::size_t>(1, opt.gsa_page_size);
  json value = json::array();
  for (std::size_t i = skip; i < matching.size() && i < skip + size; ++i)
    value.push_back(object_json(*matching[i], false, unknown_members));
  json out{{"value", value}};
  if (skip + size < matching.size()) {
    std::string next = base_url + kGsaPath + "?";
    if (!filter.empty()) next += "$filter=" + url_encode(filter) + "&";
    out["@odata.nextLink"] = next + "$skiptoken=" + std::to_string(skip + size);
  }
  return {200, {{"Content-Type", "application/json"}}, out.dump()};
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
    return gsa_list(req, rid, query, unknown_members);
  }
  TlsObject* o = find(rest);
  if (!o)
    return graph_error(404, "ResourceNotFound", "The resource '" + rest + "' does not exist.", req,
                       rid);
  if (req.method == "GET") {
    // The CSR is in the POST answer only, unless $select asks for it (graph-api.md 0).
    const bool csr =
        opt.csr_in_get ||
        query_value(query, "$select").find("certificateSigningRequest") != std::string::npos;
    return {
        200, {{"Content-Type", "application/json"}}, object_json(*o, csr, unknown_members).dump()};
  }
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
    if (body.size() != 1 || (body["status"] != "enabled" && body["status"] != "disabled"))
      return graph_error(400, "BadRequest", "Only 'enabled' or 'disabled' can be set, on its own.",
                         req, rid);
    if (body["status"] == "disabled") {  // an admin switching it off in the portal
      if (o->status != "active" && o->status != "enabled")
        return graph_error(400, "BadRequest",
                           "Certificate is in status '" + o->status + "' and cannot be disabled.",
                           req, rid);
      o->status = "disabled";
      return {204, {}, ""};
    }
    return gsa_enable(req, rid, *o);
  }
  return gsa_upload(req, rid, *o, body);
}

namespace {

std::string b64url_decode(std::string v) {
  for (auto& c : v) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (v.size() % 4)
    v += '=';
  auto bytes = Botan::base64_decode(v);
  return std::string(bytes.begin(), bytes.end());
}

std::string b64url_encode(const std::vector<std::uint8_t>& bytes) {
  std::string v = Botan::base64_encode(bytes);
  while (!v.empty() && v.back() == '=')
    v.pop_back();
  for (auto& c : v) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return v;
}

long long millis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_millis(long long ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

}  // namespace

// The assertion checks of the v2.0 token endpoint (graph-api.md 6): a registered certificate
// (by x5t#S256 for PS256, x5t for RS256), a signature by its key, aud = this token endpoint,
// iss = sub = the client id, a lifetime that includes now, and a jti not seen before.
// Independent of the client's JWT code (engine/pki/jws), on Botan directly.
std::string GraphEmulator::Impl::verify_assertion(const std::map<std::string, std::string>& form) {
  if (opt.client_certificate_pem.empty())
    return "AADSTS700027: No certificate is registered for this application; start the "
           "emulator with --client-certificate.";
  const std::string jwt = form.at("client_assertion");
  const auto d1 = jwt.find('.');
  const auto d2 = d1 == std::string::npos ? d1 : jwt.find('.', d1 + 1);
  if (d2 == std::string::npos || jwt.find('.', d2 + 1) != std::string::npos)
    return "AADSTS50012: The client assertion is not a compact JWT.";
  json header, claims;
  std::string signature;
  try {
    header = json::parse(b64url_decode(jwt.substr(0, d1)));
    claims = json::parse(b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1)));
    signature = b64url_decode(jwt.substr(d2 + 1));
  } catch (const std::exception&) {
    return "AADSTS50012: The client assertion cannot be decoded.";
  }
  Botan::DataSource_Memory src(opt.client_certificate_pem);
  Botan::X509_Certificate cert(src);
  const auto der = cert.BER_encode();
  const std::string alg = header.value("alg", "");
  std::string padding, thumb_field, thumb;
  if (alg == "PS256") {
    padding = "PSS(SHA-256,MGF1,32)";
    thumb_field = "x5t#S256";
    thumb = b64url_encode(
        Botan::HashFunction::create_or_throw("SHA-256")->process<std::vector<std::uint8_t>>(der));
  } else if (alg == "RS256") {
    padding = "PKCS1v15(SHA-256)";
    thumb_field = "x5t";
    thumb = b64url_encode(
        Botan::HashFunction::create_or_throw("SHA-1")->process<std::vector<std::uint8_t>>(der));
  } else {
    return "AADSTS5002730: Unsupported client assertion algorithm '" + alg + "'.";
  }
  if (header.value(thumb_field, "") != thumb)
    return "AADSTS700027: The certificate with identifier " + thumb_field + "=" +
           header.value(thumb_field, std::string("(none)")) +
           " used to sign the client assertion is not registered on application.";
  const std::string input = jwt.substr(0, d2);
  Botan::PK_Verifier verifier(*cert.subject_public_key(), padding);
  if (!verifier.verify_message(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(),
                               reinterpret_cast<const std::uint8_t*>(signature.data()),
                               signature.size()))
    return "AADSTS7000274: The client assertion signature is invalid.";
  const std::string aud = claims.value("aud", "");
  const std::string suffix = "/" + current + "/oauth2/v2.0/token";
  if (aud.size() < suffix.size() || aud.compare(aud.size() - suffix.size(), suffix.size(), suffix))
    return "AADSTS700212: The audience '" + aud + "' is not this token endpoint.";
  if (claims.value("iss", "") != opt.client_id || claims.value("sub", "") != opt.client_id)
    return "AADSTS700023: iss and sub must be the client id.";
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(clock().time_since_epoch()).count();
  if (!claims.contains("exp") || !claims["exp"].is_number() ||
      claims["exp"].get<long long>() <= now)
    return "AADSTS700024: The client assertion has expired.";
  if (claims.contains("nbf") && claims["nbf"].is_number() &&
      claims["nbf"].get<long long>() > now + 300)
    return "AADSTS700024: The client assertion is not valid yet.";
  const std::string jti = claims.value("jti", "");
  if (jti.empty() || !assertion_ids.insert(jti).second)
    return "AADSTS700025: The client assertion was used before (jti '" + jti + "').";
  return "";
}

std::string GraphEmulator::Impl::draw_fault(const Request& req) {
  const auto& f = opt.faults;
  if (req.method != "GET" && changes_seen++ < f.first_count) return f.first_kind;
  const double x = std::uniform_real_distribution<double>(0.0, 1.0)(fault_draws);
  double edge = f.throttle;
  if (x < edge) return "429";
  if (x < (edge += f.server_error)) return "500";
  if (x < (edge += f.unavailable)) return "503";
  if (x < (edge += f.drop)) return "drop";
  if (x < (edge += f.lost)) return "lost";
  return "";
}

void GraphEmulator::Impl::load_state() {
  std::error_code ec;
  if (!std::filesystem::exists(opt.state_file, ec)) return;  // a new state file
  auto bytes = pki::read_file_bytes(opt.state_file, std::uintmax_t{64} * 1024 * 1024);
  if (!bytes) {
    load_error = bytes.error().what();
    return;
  }
  auto j = json::parse(std::string(bytes->begin(), bytes->end()), nullptr, false);
  if (!j.is_object() || !j.contains("objects") || !j["objects"].is_array()) {
    load_error = opt.state_file + ": not an emulator state file";
    return;
  }
  try {
    for (const auto& o : j["objects"]) {
      TlsObject t;
      t.id = o.at("id");
      t.name = o.at("name");
      t.common_name = o.at("commonName");
      t.organization_name = o.at("organizationName");
      t.status = o.at("status");
      t.csr_pem = o.at("csr");
      t.spki = b64url_decode(o.at("spki"));
      t.certificate = o.at("certificate");
      t.chain = o.at("chain");
      t.created = from_millis(o.at("created_ms"));
      if (o.contains("uploaded_ms")) t.uploaded = from_millis(o.at("uploaded_ms"));
      t.enable_requested = o.value("enable_requested", false);
      if (o.contains("enabled_ms")) t.enabled_at = from_millis(o.at("enabled_ms"));
      t.foreign = o.value("foreign", false);
      objects.push_back(std::move(t));
    }
    for (const auto& n : j.at("names_used"))
      names_used.insert(n.get<std::string>());
    if (j.contains("directory")) load_directory_state(j["directory"]);
  } catch (const std::exception& e) {
    load_error = opt.state_file + ": damaged emulator state: " + e.what();
  }
}

void GraphEmulator::Impl::save_state() {
  json objs = json::array();
  for (const auto& o : objects) {
    json j{{"id", o.id},
           {"name", o.name},
           {"commonName", o.common_name},
           {"organizationName", o.organization_name},
           {"status", o.status},
           {"csr", o.csr_pem},
           {"spki", b64url_encode(std::vector<std::uint8_t>(o.spki.begin(), o.spki.end()))},
           {"certificate", o.certificate},
           {"chain", o.chain},
           {"created_ms", millis(o.created)}};
    if (o.uploaded) j["uploaded_ms"] = millis(*o.uploaded);
    if (o.enable_requested) j["enable_requested"] = true;
    if (o.enabled_at) j["enabled_ms"] = millis(*o.enabled_at);
    if (o.foreign) j["foreign"] = true;
    objs.push_back(std::move(j));
  }
  json all{{"objects", objs}, {"names_used", names_used}, {"directory", directory_state()}};
  const std::string text = all.dump(1);
  (void)pki::write_file_atomic(opt.state_file, text, 0600);
}

bool parse_faults(const std::string& spec, Faults& out, std::string& error) {
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      error = "'" + item + "' is not NAME=VALUE";
      return false;
    }
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    try {
      std::size_t used = 0;
      if (k == "first") {  // first=KIND:COUNT
        const auto colon = v.find(':');
        const std::string kind = v.substr(0, colon);
        if (colon == std::string::npos ||
            (kind != "429" && kind != "500" && kind != "503" && kind != "drop" && kind != "lost"))
          throw std::invalid_argument("first");
        out.first_kind = kind;
        out.first_count = std::stoi(v.substr(colon + 1));
        used = v.size();
      } else if (k == "retry-after") {
        (void)std::stod(v, &used);
        out.retry_after = v;
      } else if (k == "latency") {
        out.latency = std::chrono::milliseconds(std::stol(v, &used));
      } else {
        const double rate = std::stod(v, &used);
        if (rate < 0 || rate > 1) throw std::out_of_range("rate");
        if (k == "429")
          out.throttle = rate;
        else if (k == "500")
          out.server_error = rate;
        else if (k == "503")
          out.unavailable = rate;
        else if (k == "drop")
          out.drop = rate;
        else if (k == "lost")
          out.lost = rate;
        else {
          error = "unknown fault '" + k + "' (429, 500, 503, drop, lost, latency, retry-after)";
          return false;
        }
      }
      if (used != v.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      error = "bad value in '" + item + "' (rates are 0..1, latency in ms, retry-after in s)";
      return false;
    }
  }
  return true;
}

GraphEmulator::GraphEmulator(Options options, std::function<TimePoint()> clock, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(clock), seed)) {}
GraphEmulator::~GraphEmulator() = default;

namespace {

// The rest of `path` below the collection `base` ("" for the collection itself), or nullopt.
std::optional<std::string> under(const std::string& path, const char* base) {
  const std::string b(base);
  if (path == b) return std::string();
  if (path.rfind(b + "/", 0) == 0) return path.substr(b.size() + 1);
  return std::nullopt;
}

}  // namespace

Response GraphEmulator::Impl::deleted(const Request& req, const std::string& rid,
                                      const std::string& rest) {
  json value = json::array();
  for (const auto& d : deleted_items) {
    if (!rest.empty() && d["id"] == rest)
      return {200, {{"Content-Type", "application/json"}}, d.dump()};
    value.push_back(d);
  }
  if (!rest.empty())
    return graph_error(404, "Request_ResourceNotFound", "Resource '" + rest + "' does not exist.",
                       req, rid);
  return {200, {{"Content-Type", "application/json"}}, json{{"value", value}}.dump()};
}

void GraphEmulator::Impl::select_tenant(const std::string& tenant) {
  if (tenant == current) return;
  auto swap_with = [this](TenantData& d) {
    std::swap(objects, d.objects);
    std::swap(names_used, d.names_used);
    std::swap(pkis, d.pkis);
    std::swap(deleted_items, d.deleted_items);
    std::swap(code_signing, d.code_signing);
  };
  swap_with(parked[current]);  // park the current tenant's objects
  swap_with(parked[tenant]);   // and take up the other's (an empty one the first time)
  parked.erase(tenant);
  current = tenant;
}

std::vector<std::string> GraphEmulator::Impl::tenant_names() const {
  std::vector<std::string> out{opt.tenant};
  if (current != opt.tenant) out.push_back(current);
  for (const auto& [name, data] : parked)
    if (name != opt.tenant && name != current) out.push_back(name);
  return out;
}

namespace {

// The tenant of a token endpoint path "/{tenant}/oauth2/v2.0/token", or "".
std::string token_tenant(const std::string& path) {
  const std::string suffix = "/oauth2/v2.0/token";
  if (path.size() <= suffix.size() + 1 || path[0] != '/' ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return "";
  std::string t = path.substr(1, path.size() - suffix.size() - 1);
  for (const char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return "";
  return t;
}

}  // namespace

Response GraphEmulator::handle(const Request& req, LogEntry* logged) {
  auto& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  const std::string rid = hex_guid(m.rng);
  const auto q = req.target.find('?');
  const std::string path = req.target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  Response res;
  std::string fault;
  const std::string token_for = req.method == "POST" ? token_tenant(path) : "";
  try {
    if (!token_for.empty() && (token_for == m.opt.tenant || m.opt.multi_tenant)) {
      m.select_tenant(token_for);
      res = m.token(req);
    } else if (path.rfind("/beta/", 0) != 0) {
      res = m.graph_error(404, "ResourceNotFound",
                          "Resource not found for the segment '" + path + "'.", req, rid);
    } else if (!m.authorised(req)) {
      res = m.graph_error(401, "InvalidAuthenticationToken",
                          "Access token is empty, invalid or expired.", req, rid);
    } else if (m.denied(path)) {
      res = m.graph_error(403, "Authorization_RequestDenied",
                          "Insufficient privileges to complete the operation.", req, rid);
    } else {
      fault = m.draw_fault(req);
      if (fault == "429") {
        res = m.graph_error(429, "TooManyRequests",
                            "Too many requests; retry after the time in Retry-After.", req, rid);
        res.headers.emplace_back("Retry-After", m.opt.faults.retry_after);
      } else if (fault == "500") {
        res = m.graph_error(500, "InternalServerError", "An internal server error occurred.", req,
                            rid);
      } else if (fault == "503") {
        res = m.graph_error(503, "ServiceUnavailable", "The service is temporarily unavailable.",
                            req, rid);
        res.headers.emplace_back("Retry-After", m.opt.faults.retry_after);
      } else if (fault == "drop") {
        res.drop_connection = true;
      } else if (path == kGsaManagedPath && req.method == "GET" && m.opt.gsa_managed_ca) {
        const json managed{
            {"@odata.type",
             "#microsoft.graph.networkaccess.managedCertificateAuthorityCertificate"},
            {"id", "00000000-0000-4000-8000-0000000000ca"},
            {"name", "MicrosoftCA"},
            {"commonName", "Microsoft Global Secure Access Managed CA"},
            {"organizationName", "Microsoft Corporation"},
            {"status", "active"}};
        res = {200,
               {{"Content-Type", "application/json"}},
               json{{"value", json::array({managed})}}.dump()};
      } else if (auto rest = under(path, kGsaPath)) {
        res = m.gsa(req, rid, *rest, query);
      } else if (auto cba = under(path, kCbaPath)) {
        res = m.cba(req, rid, *cba, query);
      } else if (auto code = under(path, kIntunePath)) {
        res = m.intune(req, rid, *code);
      } else if (auto del = under(path, kDeletedPath); del && req.method == "GET") {
        res = m.deleted(req, rid, *del);
      } else {
        res = m.graph_error(404, "ResourceNotFound",
                            "Resource not found for the segment '" + path + "'.", req, rid);
      }
      if (req.method != "GET" && res.status < 300 && !m.opt.state_file.empty()) m.save_state();
      if (fault == "lost") res.drop_connection = true;  // applied, but the answer is lost
      res.delay = m.opt.faults.latency;
    }
  } catch (const std::exception& e) {  // an emulator bug must not take the server down
    res = m.graph_error(500, "InternalServerError",
                        std::string("The emulator failed on this request: ") + e.what(), req, rid);
  }
  res.headers.emplace_back("request-id", rid);
  const std::string crid = req.header("client-request-id");
  if (!crid.empty()) res.headers.emplace_back("client-request-id", crid);
  m.log.push_back(
      {m.clock(), req.method, req.target, res.drop_connection ? 0 : res.status, rid, crid, fault});
  if (logged) *logged = m.log.back();
  return res;
}

std::vector<LogEntry> GraphEmulator::log() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->log;
}
std::vector<std::string> GraphEmulator::secrets_seen() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<std::string> out = impl_->assertions;
  for (const auto& [token, issued] : impl_->tokens)
    out.push_back(token);
  return out;
}
std::size_t GraphEmulator::tls_object_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::size_t n = 0;
  impl_->for_each_tenant([&](const std::string&) { n += impl_->objects.size(); });
  return n;
}
std::vector<std::string> GraphEmulator::tls_object_names() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<std::string> out;
  impl_->for_each_tenant([&](const std::string&) {
    for (const auto& o : impl_->objects)
      out.push_back(o.name);
  });
  return out;
}
std::vector<TlsObjectView> GraphEmulator::tls_objects() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<TlsObjectView> out;
  impl_->for_each_tenant([&](const std::string& tenant) {
    impl_->advance();
    for (const auto& o : impl_->objects)
      out.push_back({tenant, o.id, o.name, o.status, o.certificate, o.foreign});
  });
  return out;
}
std::vector<std::string> GraphEmulator::cba_thumbprints() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<std::string> out;
  impl_->for_each_tenant([&](const std::string&) {
    for (const auto& p : impl_->pkis)
      for (const auto& a : p.authorities)
        out.push_back(a["thumbprint"]);
  });
  return out;
}
std::size_t GraphEmulator::cba_container_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::size_t n = 0;
  impl_->for_each_tenant([&](const std::string&) { n += impl_->pkis.size(); });
  return n;
}
std::size_t GraphEmulator::code_signing_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::size_t n = 0;
  impl_->for_each_tenant([&](const std::string&) { n += impl_->code_signing.size(); });
  return n;
}
std::vector<std::string> GraphEmulator::tenants() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->tenant_names();
}
void GraphEmulator::set_base_url(const std::string& url) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->base_url = url;
}
const std::string& GraphEmulator::load_error() const {
  return impl_->load_error;
}

std::string log_line_json(const LogEntry& e) {
  json j{{"at", pki::format_rfc3339(e.at)},
         {"at_ms", millis(e.at)},
         {"method", e.method},
         {"target", e.target},
         {"status", e.status},
         {"request_id", e.request_id},
         {"client_request_id", e.client_request_id}};
  if (!e.fault.empty()) j["fault"] = e.fault;
  return j.dump();
}

}  // namespace pkiflow::emulator

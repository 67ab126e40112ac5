// Internal to the emulator: its in-memory tenant and request handling state, shared by the
// files that implement the endpoint families (GSA here; CBA and Intune in
// directory_families.cpp). Not installed, not used by pkiflow itself.
#pragma once
#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "tools/graph-emulator/emulator.hpp"

namespace pkiflow::emulator {

namespace detail {

using json = nlohmann::ordered_json;
inline constexpr const char* kGsaPath =
    "/beta/networkAccess/tls/externalCertificateAuthorityCertificates";
// The Microsoft-managed CA (preview, graph-api.md 0): read-only here.
inline constexpr const char* kGsaManagedPath =
    "/beta/networkAccess/tls/managedCertificateAuthorityCertificates";
inline constexpr const char* kCbaPath =
    "/beta/directory/publicKeyInfrastructure/certificateBasedAuthConfigurations";
inline constexpr const char* kDeletedPath = "/beta/directory/deletedItems";
inline constexpr const char* kIntunePath =
    "/beta/deviceAppManagement/enterpriseCodeSigningCertificates";
inline constexpr const char* kGsaType =
    "#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate";

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline std::string find_header(const std::vector<std::pair<std::string, std::string>>& h,
                               const std::string& name) {
  for (const auto& [k, v] : h)
    if (lower(k) == lower(name)) return v;
  return "";
}

inline std::string hex_guid(pki::Rng& rng) {
  return pki::random_guid(rng);
}

// Decodes %XX and '+' of a form or query component.
inline std::string url_decode(const std::string& s) {
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

// Percent-encodes everything but unreserved characters (for @odata.nextLink).
inline std::string url_encode(const std::string& s) {
  return pki::percent_encode(s);
}

// The value of `key` in a query string ("" when absent).
inline std::string query_value(const std::string& query, const std::string& key) {
  const std::string decoded = url_decode(query);
  std::size_t pos = 0;
  while (pos < decoded.size()) {
    std::size_t amp = decoded.find('&', pos);
    if (amp == std::string::npos) amp = decoded.size();
    const std::string item = decoded.substr(pos, amp - pos);
    if (item.rfind(key + "=", 0) == 0) return item.substr(key.size() + 1);
    pos = amp + 1;
  }
  return "";
}

inline std::map<std::string, std::string> parse_form(const std::string& body) {
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
  bool enable_requested = false;        // PATCH {"status":"enabled"} seen
  std::optional<TimePoint> enabled_at;  // staged flow: when the enable PATCH arrived
  bool foreign = false;                 // made by someone else (Options::foreign)
};

// Members after unknownFutureValue reach only clients that ask for them (graph-api.md 1).
inline bool evolvable_member(const std::string& s) {
  return s == "expiring" || s == "expired" || s == "enabled" || s == "disabled" ||
         s == "creating" || s == "revoked";
}

}  // namespace detail

using namespace detail;

struct GraphEmulator::Impl {
  Options opt;
  std::function<TimePoint()> clock;
  pki::Rng rng;
  struct Issued {
    TimePoint expiry;
    std::string tenant;
  };
  std::map<std::string, Issued> tokens;  // issued access tokens: their expiry and tenant
  // Every client assertion received, in memory only: the secret-scan test looks for them in
  // what pkiflow writes.
  std::vector<std::string> assertions;
  std::vector<TlsObject> objects;
  std::set<std::string> names_used;  // GSA names are never reusable
  std::vector<LogEntry> log;
  std::mt19937_64 fault_draws;          // separate from rng, so faults do not shift ids and keys
  std::set<std::string> assertion_ids;  // jti values seen: an assertion is good once
  std::string load_error;
  mutable std::mutex mutex;
  std::string base_url;  // for @odata.nextLink; set by the server

  // Entra CBA trust store: PKI containers with their CAs, and soft-deleted objects.
  // NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move is read as throwing
  struct Pki {
    json object;                           // the certificateBasedAuthPki as returned
    std::vector<json> authorities;         // certificateAuthorityDetail objects
    std::optional<TimePoint> job_done_at;  // an upload job runs until then
  };
  std::vector<Pki> pkis;
  std::vector<json> deleted_items;
  // Intune enterprise code-signing certificates, and when each was parsed (provisioned).
  struct CodeSigning {
    json object;
    TimePoint parsed_at{};
  };
  std::vector<CodeSigning> code_signing;
  // What the tenants other than `current` hold (Options::multi_tenant).
  struct TenantData {
    std::vector<TlsObject> objects;
    std::set<std::string> names_used;
    std::vector<Pki> pkis;
    std::vector<json> deleted_items;
    std::vector<CodeSigning> code_signing;
  };
  std::map<std::string, TenantData> parked;

  Impl(Options o, std::function<TimePoint()> c, std::uint64_t seed)
      : opt(std::move(o)),
        clock(std::move(c)),
        rng(pki::Rng::deterministic(seed)),
        fault_draws(seed ^ 0x9e3779b97f4a7c15ULL) {
    current = opt.tenant;
    if (!opt.state_file.empty()) load_state();
    if (objects.empty()) add_foreign_objects();
  }

  Response cba(const Request& req, const std::string& rid, const std::string& rest,
               const std::string& query);
  Response cba_authorities(const Request& req, const std::string& rid, Pki& pki,
                           const std::string& ca_id, const std::string& query);
  Response intune(const Request& req, const std::string& rid, const std::string& rest);
  void advance_directory();
  // Whether the app lacks the permission for the family `path` belongs to (Options::denied).
  bool denied(const std::string& path) const {
    for (const auto& f : opt.denied) {
      const char* base = f == "gsa"      ? kGsaPath
                         : f == "cba"    ? kCbaPath
                         : f == "intune" ? kIntunePath
                                         : nullptr;
      if (base && path.rfind(base, 0) == 0) return true;
    }
    return false;
  }
  Response deleted(const Request& req, const std::string& rid, const std::string& rest);
  json directory_state() const;
  void load_directory_state(const json& j);
  // A page of `items` per $top (default 100, at most 999) and $skiptoken, with @odata.nextLink.
  json page(const std::vector<json>& items, const std::string& path,
            const std::string& query) const;
  void load_state();
  void save_state();
  std::string verify_assertion(const std::map<std::string, std::string>& form);
  std::string draw_fault(const Request& req);
  int changes_seen = 0;  // for Faults::first_count

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
                           "' was not found in the directory '" + current + "'.");
    if (form["scope"].empty() || form["scope"].find("/.default") == std::string::npos)
      return aad_error(400, "invalid_scope",
                       "AADSTS1002012: The provided value for scope is not valid.");
    if (form.count("client_assertion")) {
      assertions.push_back(form["client_assertion"]);
      if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        return aad_error(400, "invalid_request",
                         "AADSTS50027: client_assertion_type must be "
                         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
      if (auto why = verify_assertion(form); !why.empty())
        return aad_error(401, "invalid_client", why);
    } else if (opt.client_secret.empty() || form["client_secret"] != opt.client_secret) {
      return aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    std::string token = hex_guid(rng) + hex_guid(rng);
    tokens[token] = {clock() + opt.token_lifetime, current};
    json body{{"token_type", "Bearer"},
              {"expires_in", opt.token_lifetime.count()},
              {"ext_expires_in", opt.token_lifetime.count()},
              {"access_token", token}};
    return {200, {{"Content-Type", "application/json"}}, body.dump()};
  }

  // Whether the request carries a live token; its tenant's objects are then the ones served.
  bool authorised(const Request& req) {
    const std::string auth = req.header("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) return false;
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end() || clock() >= it->second.expiry) return false;
    select_tenant(it->second.tenant);
    return true;
  }

  // The tenant whose objects are in the members below; the others wait in `parked`. Switching
  // swaps the containers (constant time), so the handlers work on members as for one tenant.
  std::string current;
  void select_tenant(const std::string& tenant);
  // Calls f(tenant) with each tenant's objects in the members in turn, then restores `current`.
  template <class F>
  void for_each_tenant(F f) {
    const std::string was = current;
    for (const auto& t : tenant_names()) {
      select_tenant(t);
      f(t);
    }
    select_tenant(was);
  }
  std::vector<std::string> tenant_names() const;

  // Uploaded certificates become active after the delay; one active certificate at a time, so
  // an older active one is switched off ("disabled"). In the staged flow the clock starts at
  // the enable, not at the upload.
  void advance() {
    const auto now = clock();
    for (auto& o : objects) {
      if (o.status != "enrolling" && o.status != "creating") continue;
      const auto since = opt.staged_flow ? o.enabled_at : o.uploaded;
      if (!since) continue;
      if (opt.staged_flow && o.status == "creating" && now >= *since + opt.activation_delay / 3)
        o.status = "enrolling";
      if (now < *since + opt.activation_delay) continue;
      if (opt.require_enable && !o.enable_requested) continue;  // staged until switched on
      for (auto& other : objects)
        if (&other != &o && (other.status == "active" || other.status == "enabled"))
          other.status = "disabled";
      o.status = o.enable_requested && !opt.staged_flow ? "enabled" : "active";
    }
  }

  // Objects made by someone else before pkiflow came (Options::foreign): half of them named
  // like pkiflow's ("pf" + 10 characters), so only a client that matches its own journaled
  // names exactly leaves them alone.
  void add_foreign_objects() {
    static constexpr const char* kAlnum = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz";
    for (int i = 0; i < opt.foreign; ++i) {
      TlsObject o;
      o.id = hex_guid(rng);
      if (i % 2 == 0) {
        o.name = "pf";
        auto b = pki::random_bytes(rng, 10);
        for (auto c : b)
          o.name += kAlnum[c % 52];
      } else {
        o.name = "AdminCA" + std::to_string(i);
      }
      o.common_name = "Hand-made Inspection CA " + std::to_string(i);
      o.organization_name = "Someone Else";
      o.status = i % 4 == 3 ? "disabled" : "csrGenerated";
      o.created = clock();
      o.foreign = true;
      names_used.insert(o.name);
      objects.push_back(std::move(o));
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
  Response gsa_enable(const Request& req, const std::string& rid, TlsObject& o);
  Response gsa_list(const Request& req, const std::string& rid, const std::string& query,
                    bool unknown_members);
};

}  // namespace pkiflow::emulator

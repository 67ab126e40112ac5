#include "engine/config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/closest_name.hpp"
#include "engine/config_keys.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/pkcs11_uri.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "engine/signers/command.hpp"
#include "providers/graph/cloud.hpp"

namespace pkiflow::engine {

namespace {

Error bad(const std::filesystem::path& file, const std::string& where, const std::string& what) {
  return Error(ErrorKind::invalid_input, file.string(), where + ": " + what);
}

// " (did you mean \"x\"?)" for the known name closest to `got`, or "" when none is close.
std::string suggestion(const std::string& got, const std::set<std::string>& known) {
  const std::string best = closest_name(got, std::vector<std::string>(known.begin(), known.end()));
  return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
}

// `text` as a JSON string literal: what a user typed, with control characters made visible.
std::string json_quoted(const std::string& text) {
  return json_text(nlohmann::json(text));
}

std::string listed(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// Reads the fields of one object of the configuration: refuses unknown keys, names the field
// in every error, resolves relative paths against the configuration file's directory.
class Fields {
 public:
  Fields(const nlohmann::json& j, const std::filesystem::path& file, std::string where)
      : j_(j), file_(file), where_(std::move(where)) {}

  Status only(const std::set<std::string>& known) const {
    if (!j_.is_object()) return bad(file_, where_, "must be an object");
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!known.count(it.key()))
        return bad(file_, where_,
                   "unknown field \"" + it.key() + "\"" + suggestion(it.key(), known) +
                       "; the fields here are " + listed(known));
    return Ok{};
  }
  Status text(const char* key, std::string& out, bool required = false) const {
    const auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) return bad(file_, where_, std::string("\"") + key + "\" is required");
      return Ok{};
    }
    const auto* value = it->get_ptr<const std::string*>();
    if (value == nullptr || value->empty())
      return bad(file_, where_, std::string("\"") + key + "\" must be a non-empty string");
    out = *value;
    return Ok{};
  }
  Status path(const char* key, std::filesystem::path& out, bool required = false) const {
    std::string t;
    if (auto st = text(key, t, required); !st) return st;
    if (t.empty()) return Ok{};
    std::filesystem::path p(t);
    out = p.is_absolute() || file_.empty() ? p : file_.parent_path() / p;
    return Ok{};
  }
  // The same, kept as text (TenantAuth says why).
  Status path(const char* key, std::string& out, bool required = false) const {
    std::filesystem::path p;
    if (auto st = path(key, p, required); !st) return st;
    out = p.string();
    return Ok{};
  }
  Status flag(const char* key, bool& out) const {
    const auto it = j_.find(key);
    if (it == j_.end()) return Ok{};
    if (!it->is_boolean())
      return bad(file_, where_, std::string("\"") + key + "\" must be true or false");
    out = it->get<bool>();
    return Ok{};
  }
  Status count(const char* key, long long& out, long long min, long long max) const {
    const auto it = j_.find(key);
    if (it == j_.end()) return Ok{};
    if (!it->is_number_integer() || it->get<long long>() < min || it->get<long long>() > max)
      return bad(file_, where_,
                 std::string("\"") + key + "\" must be an integer from " + std::to_string(min) +
                     " to " + std::to_string(max));
    out = it->get<long long>();
    return Ok{};
  }
  Error error(const std::string& what) const { return bad(file_, where_, what); }

 private:
  const nlohmann::json& j_;
  const std::filesystem::path& file_;
  std::string where_;
};

// "renew_before" (a duration) and "renew_at_fraction" (0 < f < 1) of the object `f` reads.
Status renewal_fields(const nlohmann::json& j, const Fields& f,
                      std::optional<std::chrono::seconds>& before,
                      std::optional<double>& fraction) {
  if (j.contains("renew_before")) {
    std::string text;
    if (auto st = f.text("renew_before", text); !st) return st;
    auto d = parse_duration(text);
    if (!d) return f.error("\"renew_before\": " + d.error().message());
    if (d->count() <= 0) return f.error("\"renew_before\" must be longer than 0");
    before = *d;
  }
  if (j.contains("renew_at_fraction")) {
    if (!j["renew_at_fraction"].is_number() || !(j["renew_at_fraction"].get<double>() > 0.0) ||
        !(j["renew_at_fraction"].get<double>() < 1.0))
      return f.error("\"renew_at_fraction\" must be a number between 0 and 1, e.g. 0.66");
    fraction = j["renew_at_fraction"].get<double>();
  }
  return Ok{};
}

Status first_error(std::initializer_list<Status> all) {
  for (const auto& st : all)
    if (!st) return st.error();
  return Ok{};
}

Result<CertificateSpec> parse_certificate(const nlohmann::json& j,
                                          const std::filesystem::path& file,
                                          const std::string& where) {
  Fields f(j, file, where);
  CertificateSpec c;
  std::string kind;
  if (auto st = first_error({f.only(keys_of("certificates[]")), f.text("kind", kind, true),
                             f.text("name", c.name, true), f.text("tenant", c.tenant, true),
                             f.text("subject", c.subject), f.text("key_algorithm", c.key_algorithm),
                             f.text("signer", c.signer)});
      !st)
    return st.error();
  auto k = state::parse_kind(kind);
  if (!k)
    return bad(file, where,
               "unknown kind \"" + kind + "\" (gsa-tls-ca, cba-ca, intune-codesigning)");
  c.kind = *k;
  if (c.kind == state::RecordKind::gsa_tls_ca && j.contains("key_algorithm"))
    return bad(file, where + ".key_algorithm",
               "the service makes a TLS-inspection CA's key pair and CSR; drop key_algorithm");
  if (auto why = pki::printable_text_problem(c.name, kRecordNameMaxChars); !why.empty())
    return bad(file, where + ".name", json_quoted(c.name.substr(0, 80)) + " " + why);
  if (c.name.front() == ' ' || c.name.back() == ' ')
    return bad(file, where + ".name", json_quoted(c.name) + " starts or ends with a space");
  if (auto alg = pki::parse_key_algorithm(c.key_algorithm); !alg)
    return bad(file, where, alg.error().message());
  if (!c.subject.empty()) {
    auto dn = pki::parse_dn(c.subject);
    if (!dn) return bad(file, where + ".subject", dn.error().message());
    if (c.kind == state::RecordKind::gsa_tls_ca) {
      // The service makes the CSR from a commonName and an organizationName (graph-api.md).
      bool cn = false, org = false;
      for (const auto& a : *dn) {
        cn = cn || a.type == "CN";
        org = org || a.type == "O" || a.type == "OU";
      }
      if (!cn || !org)
        return bad(file, where + ".subject",
                   "a TLS-inspection CA's subject needs a CN and an O (the service makes the "
                   "CSR from them), e.g. \"CN=Contoso TLS Inspection CA,O=Contoso\"");
    }
  } else if (c.kind == state::RecordKind::gsa_tls_ca) {
    return bad(file, where + ".subject",
               "is required for a TLS-inspection CA: \"CN=…,O=…\" (the service makes the CSR "
               "from them)");
  }
  if (j.contains("validity_days")) {
    if (!j["validity_days"].is_number_integer() ||
        j["validity_days"].get<long long>() < kValidityDaysBounds.min ||
        j["validity_days"].get<long long>() > kValidityDaysBounds.max)
      return bad(file, where,
                 "\"validity_days\" must be an integer from " +
                     std::to_string(kValidityDaysBounds.min) + " to " +
                     std::to_string(kValidityDaysBounds.max));
    c.validity_days = j["validity_days"].get<int>();
  }
  if (auto st = renewal_fields(j, f, c.renew_before, c.renew_at_fraction); !st) return st.error();
  if (j.contains("renewal_window")) {
    auto w = parse_window(j["renewal_window"].dump());
    if (!w) return bad(file, where + ".renewal_window", w.error().message());
    c.renewal_window = *w;
  }
  if (j.contains("retire_superseded")) {
    std::string text;
    if (auto st = f.text("retire_superseded", text); !st) return st.error();
    c.retire_superseded = parse_retire(text);
    if (!c.retire_superseded)
      return bad(file, where + ".retire_superseded",
                 "\"" + text + "\" is not one of at-expiry, after-cutover, never");
    if (c.kind == state::RecordKind::gsa_tls_ca && *c.retire_superseded == Retire::at_expiry)
      return bad(file, where + ".retire_superseded",
                 "a TLS-inspection CA cannot stay until it expires: the tenant keeps one "
                 "enabled certificate (after-cutover or never)");
  }
  return c;
}

Result<TenantConfig> parse_tenant(const std::string& name, const nlohmann::json& j,
                                  const std::filesystem::path& file) {
  Fields f(j, file, "tenants." + name);
  TenantConfig t;
  t.name = name;
  TenantExtras x;
  if (auto st = first_error(
          {f.only(keys_of("tenants.NAME")), f.text("cba_pki_name", x.cba_pki_name),
           f.flag("cba_issuer_hint", x.cba_issuer_hint), f.text("cba_crl_url", x.cba_crl_url),
           f.text("cba_delta_crl_url", x.cba_delta_crl_url), f.text("tenant_id", t.tenant_id, true),
           f.text("client_id", t.client_id, true), f.text("cloud", x.cloud),
           f.text("graph_url", t.graph_url), f.text("token_url", t.token_url),
           f.path("tls_ca_file", x.tls_ca_file), f.text("gsa_activation", x.gsa_activation),
           f.flag("gsa_enable_after_upload", x.gsa_enable_after_upload)});
      !st)
    return st.error();
  if (!(x == *TenantExtras::defaults())) t.extras = std::make_shared<const TenantExtras>(x);
  if (!x.cba_pki_name.empty())
    if (auto why = pki::printable_text_problem(x.cba_pki_name, 256); !why.empty())
      return f.error("\"cba_pki_name\" " + why + " (a container's displayName)");
  if (auto cloud = graph::parse_cloud(x.cloud); !cloud)
    return f.error("\"cloud\": " + cloud.error().message());
  // https only, except to loopback (the emulator): TLS to Graph is always verified, and there
  // is no setting that turns that off.
  for (const auto& [key, url] : {std::pair{"graph_url", &t.graph_url}, {"token_url", &t.token_url}})
    if (!url->empty())
      if (auto u = graph::parse_url(*url, key); !u)
        return f.error(std::string("\"") + key + "\" " + u.error().message());
  if (x.gsa_activation != "auto" && x.gsa_activation != "manual")
    return f.error("\"gsa_activation\" must be \"auto\" or \"manual\", not \"" + x.gsa_activation +
                   "\"");
  if (j.contains("gsa_enable_after_upload") && j.contains("gsa_activation") &&
      x.gsa_enable_after_upload && x.gsa_activation == "manual")
    return f.error(
        "\"gsa_enable_after_upload\": true contradicts \"gsa_activation\": \"manual\"; "
        "drop the deprecated gsa_enable_after_upload");
  if (!j.contains("auth")) return f.error("\"auth\" is required");
  Fields a(j["auth"], file, "tenants." + name + ".auth");
  TenantAuth au;
  if (auto st = first_error(
          {a.only(keys_of("tenants.NAME.auth")), a.text("client_secret_env", au.secret_env),
           a.path("client_secret_file", au.secret_file), a.path("certificate", au.certificate),
           a.path("key", au.key), a.text("key_passphrase_env", au.key_passphrase_env),
           a.path("key_passphrase_file", au.key_passphrase_file),
           a.text("algorithm", au.algorithm)});
      !st)
    return st.error();
  const bool secret = !au.secret_env.empty() || !au.secret_file.empty();
  const bool cert = !au.certificate.empty() || !au.key.empty();
  if (secret == cert)
    return a.error(
        "give either a client secret (\"client_secret_env\" or \"client_secret_file\") or a "
        "certificate credential (\"certificate\" and \"key\"), not both and not neither");
  if (!au.secret_env.empty() && !au.secret_file.empty())
    return a.error("give \"client_secret_env\" or \"client_secret_file\", not both");
  if (cert && (au.certificate.empty() || au.key.empty()))
    return a.error("a certificate credential needs both \"certificate\" and \"key\"");
  if (au.algorithm != "PS256" && au.algorithm != "RS256")
    return a.error("\"algorithm\" must be PS256 or RS256");
  au.kind = secret ? TenantAuth::Kind::secret : TenantAuth::Kind::certificate;
  t.auth = std::make_shared<const TenantAuth>(std::move(au));
  return t;
}

// A string array field (e.g. "command", "pass_environment"); `what` names one element.
Status string_list(const nlohmann::json& j, const Fields& f, const char* key,
                   std::vector<std::string>& out, const char* what) {
  if (!j.contains(key)) return Ok{};
  const std::string must = std::string("\"") + key + "\" must be an array of " + what;
  if (!j[key].is_array()) return f.error(must);
  for (const auto& v : j[key]) {
    if (!v.is_string() || v.get<std::string>().empty()) return f.error(must);
    out.push_back(v.get<std::string>());
  }
  return Ok{};
}

bool env_name(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The fields of a "command" signer (engine/signers/command.hpp).
Status command_fields(const nlohmann::json& j, const Fields& f, SignerConfig& s) {
  long long timeout = s.timeout.count();
  if (auto st = first_error(
          {string_list(j, f, "command", s.command, "strings (program, arguments)"),
           f.count("timeout_seconds", timeout, 1, 86'400),
           string_list(j, f, "pass_environment", s.pass_environment, "environment variable names"),
           f.path("working_directory", s.working_directory)});
      !st)
    return st;
  s.timeout = std::chrono::seconds(timeout);
  if (s.command.empty())
    return f.error(
        "\"command\" is required for a command signer: the program and its "
        "arguments, e.g. [\"/usr/local/bin/sign\", \"{csr}\", \"{cert}\"]");
  if (auto st = signers::check_command(s.command); !st)
    return f.error("\"command\": " + st.error().message());
  for (const auto& n : s.pass_environment)
    if (!env_name(n))
      return f.error("\"pass_environment\": \"" + n + "\" is not an environment variable name");
  if (j.contains("environment")) {
    const char* must = "\"environment\" must be an object of NAME: \"value\" strings";
    if (!j["environment"].is_object()) return f.error(must);
    for (auto it = j["environment"].begin(); it != j["environment"].end(); ++it) {
      if (!env_name(it.key()))
        return f.error("\"environment\": \"" + it.key() + "\" is not an environment variable name");
      if (!it.value().is_string()) return f.error(must);
      s.environment[it.key()] = it.value().get<std::string>();
    }
  }
  return Ok{};
}

Result<SignerConfig> parse_signer(const std::string& name, const nlohmann::json& j,
                                  const std::filesystem::path& file) {
  Fields f(j, file, "signers." + name);
  SignerConfig s;
  s.name = name;
  if (auto st = first_error({f.only(keys_of("signers.NAME")), f.text("type", s.type)}); !st)
    return st.error();
  // Each type's own fields: a local CA's key does not belong to a command and the reverse.
  static const std::map<std::string, std::set<std::string>> fields_of{
      {"local-ca",
       {"type", "certificate", "key", "chain", "passphrase_env", "passphrase_file", "offline_key",
        "crl_urls"}},
      {"command",
       {"type", "command", "timeout_seconds", "environment", "pass_environment",
        "working_directory", "chain"}},
      {"offline", {"type", "certificate", "chain"}}};
  const auto own = fields_of.find(s.type);
  if (own == fields_of.end())
    return f.error("unknown type \"" + s.type +
                   "\" (local-ca, command or offline; or leave a certificate without "
                   "a signer to sign it elsewhere and import it)");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!own->second.count(it.key()))
      return f.error("\"" + it.key() + "\" is not a field of a " + s.type + " signer");
  if (auto st = f.path("chain", s.chain); !st) return st.error();
  if (s.type == "command") {
    if (auto st = command_fields(j, f, s); !st) return st.error();
    return s;
  }
  if (s.type == "offline") {
    // The offline CA's certificate, when given: a bundle must come back signed by it.
    if (auto st = f.path("certificate", s.certificate); !st) return st.error();
    return s;
  }
  std::string key_text;
  if (auto st = f.text("key", key_text, true); !st) return st.error();
  if (pki::is_pkcs11_uri(key_text)) {
    // A key in an HSM: the URI is checked now, the token is reached when the signer is made.
    if (auto uri = pki::parse_pkcs11_uri(key_text); !uri)
      return f.error("\"key\": " + uri.error().message());
    s.key = key_text;
  } else if (auto st = f.path("key", s.key, true); !st) {
    return st.error();
  }
  if (auto st = first_error(
          {f.path("certificate", s.certificate, true), f.text("passphrase_env", s.passphrase_env),
           f.path("passphrase_file", s.passphrase_file), f.flag("offline_key", s.offline_key)});
      !st)
    return st.error();
  if (j.contains("crl_urls")) {
    if (!j["crl_urls"].is_array()) return f.error("\"crl_urls\" must be an array of URLs");
    for (const auto& u : j["crl_urls"]) {
      if (!u.is_string()) return f.error("\"crl_urls\" must be an array of URLs");
      s.crl_urls.push_back(u.get<std::string>());
    }
  }
  return s;
}

Result<RunSettings> parse_run(const nlohmann::json& j, const std::filesystem::path& file) {
  Fields f(j, file, "run");
  RunSettings r;
  long long conc = static_cast<long long>(r.concurrency), poll = r.poll_interval.count(),
            wait = r.confirm_wait.count() / 1000,
            inflight = static_cast<long long>(r.max_in_flight), base = r.retry_base.count(),
            cap = r.retry_cap.count(), request_timeout = r.request_timeout.count(),
            deadline = r.deadline.count(), max_retry_after = r.max_retry_after.count();
  if (auto st = first_error(
          {f.only(keys_of("run")), f.count("retry_base_seconds", base, 0, 86'400),
           f.count("retry_cap_seconds", cap, 0, 7 * 86'400),
           f.count("concurrency", conc, kConcurrencyBounds.min, kConcurrencyBounds.max),
           f.count("poll_interval_ms", poll, kPollIntervalMsBounds.min, kPollIntervalMsBounds.max),
           f.count("confirm_wait_seconds", wait, kConfirmWaitSecondsBounds.min,
                   kConfirmWaitSecondsBounds.max),
           f.count("max_in_flight", inflight, 1, 256),
           f.count("request_timeout_seconds", request_timeout, 1, 600),
           f.count("deadline_seconds", deadline, 0, 7 * 86'400),
           f.count("max_retry_after_seconds", max_retry_after, 0, 86'400)});
      !st)
    return st.error();
  r.concurrency = static_cast<std::size_t>(conc);
  r.poll_interval = std::chrono::milliseconds(poll);
  r.confirm_wait = std::chrono::seconds(wait);
  r.max_in_flight = static_cast<std::size_t>(inflight);
  r.retry_base = std::chrono::seconds(base);
  r.retry_cap = std::chrono::seconds(cap);
  r.request_timeout = std::chrono::seconds(request_timeout);
  r.deadline = std::chrono::seconds(deadline);
  r.max_retry_after = std::chrono::seconds(max_retry_after);
  if (j.contains("verify_interval")) {
    const auto& v = j["verify_interval"];
    if (v.is_string() && v.get<std::string>() == "off") {
      r.verify_interval = std::chrono::seconds(0);
    } else {
      std::optional<std::chrono::seconds> d;
      if (v.is_string())
        if (auto parsed = parse_duration(v.get<std::string>())) d = *parsed;
      if (!d || d->count() < 60)
        return f.error(
            "\"verify_interval\" must be a duration of at least a minute (\"24h\", "
            "\"7d\") or \"off\"");
      r.verify_interval = *d;
    }
  }
  return r;
}

}  // namespace

const std::shared_ptr<const TenantExtras>& TenantExtras::defaults() {
  static const std::shared_ptr<const TenantExtras> one = std::make_shared<const TenantExtras>();
  return one;
}

const TenantConfig* Config::tenant(const std::string& name) const {
  // parse_config sorts them by name: a binary search finds a configured tenant. Tenants added
  // otherwise may not be sorted, so a miss is confirmed by a scan (a miss is an error anyway).
  auto it =
      std::lower_bound(tenants.begin(), tenants.end(), name,
                       [](const TenantConfig& t, const std::string& n) { return t.name < n; });
  if (it != tenants.end() && it->name == name) return &*it;
  for (const auto& t : tenants)
    if (t.name == name) return &t;
  return nullptr;
}

const SignerConfig* Config::signer(const std::string& name) const {
  for (const auto& s : signers)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

// The order of certificate_order: kind, tenant, name.
auto certificate_key(const CertificateSpec& c) {
  return std::tie(c.kind, c.tenant, c.name);
}

}  // namespace

const CertificateSpec* Config::certificate(state::RecordKind kind, const std::string& name,
                                           const std::string& tenant) const {
  const auto wanted = std::tie(kind, tenant, name);
  if (certificate_order.size() == certificates.size()) {
    auto it = std::lower_bound(certificate_order.begin(), certificate_order.end(), wanted,
                               [this](std::uint32_t i, const auto& key) {
                                 return certificate_key(certificates[i]) < key;
                               });
    if (it != certificate_order.end() && certificate_key(certificates[*it]) == wanted)
      return &certificates[*it];
  }
  // Not indexed (entries added or changed after parsing): confirmed by a scan.
  for (const auto& c : certificates)
    if (certificate_key(c) == wanted) return &c;
  return nullptr;
}

const pki::SigningProfile& profile_for(state::RecordKind kind) {
  switch (kind) {
    case state::RecordKind::gsa_tls_ca:
      return *pki::find_profile("tls-inspection-ca");
    case state::RecordKind::cba_ca:
      return *pki::find_profile("cba-ca");
    case state::RecordKind::intune_codesigning:
      return *pki::find_profile("code-signing");
  }
  return *pki::find_profile("tls-inspection-ca");
}

int validity_days_of(const state::Record& r, const pki::SigningProfile& profile) {
  auto p = nlohmann::json::parse(r.profile_json, nullptr, false);
  if (p.is_object() && p.contains("validity_days") && p["validity_days"].is_number_integer())
    return p["validity_days"].get<int>();
  return profile.default_days;
}

std::string signer_of(const state::Record& r) {
  auto p = nlohmann::json::parse(r.profile_json, nullptr, false);
  if (p.is_object() && p.contains("signer") && p["signer"].is_string())
    return p["signer"].get<std::string>();
  return "";
}

int CertificateSpec::days() const {
  return validity_days > 0 ? validity_days : profile_for(kind).default_days;
}

RenewalPolicy Config::renewal_policy(state::RecordKind kind, const std::string& name,
                                     const std::string& tenant) const {
  RenewalPolicy p = renewal;
  if (const auto* spec = certificate(kind, name, tenant)) {
    if (spec->renew_before) p.renew_before = spec->renew_before;
    if (spec->renew_at_fraction) p.renew_at_fraction = *spec->renew_at_fraction;
    if (spec->retire_superseded) p.retire_superseded = spec->retire_superseded;
    if (spec->renewal_window) p.window = spec->renewal_window;
  }
  return p;
}

std::vector<std::string> profile_changes(const std::string& record_profile_json,
                                         const CertificateSpec& configured) {
  const auto had = nlohmann::json::parse(record_profile_json, nullptr, false);
  const auto wants = nlohmann::json::parse(configured.profile_json());
  std::vector<std::string> out;
  for (const char* field : {"subject", "key_algorithm", "validity_days", "signer"}) {
    const bool in_had = had.is_object() && had.contains(field);
    const bool in_wants = wants.contains(field);
    if (!in_had && !in_wants) continue;
    if (in_had && in_wants && had[field] == wants[field]) continue;
    out.push_back(std::string(field) + " " + (in_had ? had[field].dump() : "(default)") + " -> " +
                  (in_wants ? wants[field].dump() : "(default)"));
  }
  return out;
}

std::string CertificateSpec::profile_json() const {
  nlohmann::ordered_json j{{"subject", subject}};
  // The service makes a TLS-inspection CA's key pair and CSR; the record names no algorithm it
  // does not choose (`pkiflow show` reads the key from the CSR once there is one).
  if (kind == state::RecordKind::gsa_tls_ca)
    j["key"] = "made by the service";
  else
    j["key_algorithm"] = key_algorithm;
  if (validity_days > 0) j["validity_days"] = validity_days;
  if (!signer.empty()) j["signer"] = signer;
  return j.dump();
}

namespace {

// "NAME" is not defined under "SECTION" (did you mean …?) (defined: …), for a reference.
template <class Items>
Error undefined(const std::filesystem::path& file, const std::string& where,
                const std::string& name, const char* section, const Items& items) {
  std::set<std::string> defined;
  for (const auto& item : items)
    defined.insert(item.name);
  return bad(file, where,
             "\"" + name + "\" is not defined under \"" + section + "\"" +
                 suggestion(name, defined) + " (defined: " + listed(defined) + ")");
}

// A certificate's tenant and signer must be defined (a typo would otherwise fail every night).
Status check_references(const CertificateSpec& spec, const Config& c,
                        const std::filesystem::path& file, const std::string& where) {
  if (!spec.signer.empty() && !c.signer(spec.signer))
    return undefined(file, where + ".signer", spec.signer, "signers", c.signers);
  if (!c.tenant(spec.tenant))
    return undefined(file, where + ".tenant", spec.tenant, "tenants", c.tenants);
  return Ok{};
}

}  // namespace

Result<CertificateSpec> parse_certificate_entry(const std::string& json_text, const Config& c,
                                                const std::string& where) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  const std::filesystem::path source(where);
  auto spec = parse_certificate(j, source, "certificate");
  if (!spec) return spec.error();
  if (auto st = check_references(*spec, c, source, "certificate"); !st) return st.error();
  // A validity the configuration's renewal policy is always due for would renew every run.
  if (auto why =
          unsatisfiable(c.renewal_policy(spec->kind, spec->name, spec->tenant), spec->days());
      !why.empty())
    return bad(source, "certificate.validity_days", why + " (\"renewal\" in the configuration)");
  return spec;
}

namespace {

// Tenants and certificates taken out of the document while it is parsed: a configuration of
// 10,000 tenants never holds them all as JSON (a map per object) and as configuration at once.
// Each is parsed as it ends, in file order, and dropped from the document; the first problem
// found is kept for the point where the sections are checked. Anything else (a section that is
// not an object or array, an entry that is not an object) stays for those checks.
class SectionStream {
 public:
  explicit SectionStream(const std::filesystem::path& file) : file_(file) {}

  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth == 1 && event == Event::key) {
      section_ = parsed.get<std::string>();
      in_tenants_ = in_certificates_ = false;
      next_ = 0;
    } else if (depth == 1 && (event == Event::object_start || event == Event::array_start)) {
      in_tenants_ = section_ == "tenants" && event == Event::object_start;
      in_certificates_ = section_ == "certificates" && event == Event::array_start;
    } else if (depth == 2 && event == Event::key && in_tenants_) {
      name_ = parsed.get<std::string>();
    } else if (depth == 2 && event == Event::object_end && in_tenants_) {
      tenant(parsed);
      return false;
    } else if (depth == 2 && event == Event::object_end && in_certificates_) {
      certificate(parsed);
      return false;
    } else if (depth == 2 && in_certificates_ &&
               (event == Event::value || event == Event::array_end)) {
      left_in_place.push_back(next_++);  // not an object: reported by the checks after parsing
    }
    return true;
  }

  std::deque<TenantConfig> tenants;
  std::vector<std::string> deprecated;  // tenants that still say gsa_enable_after_upload
  std::deque<CertificateSpec> certificates;
  std::vector<std::size_t> certificate_index;  // each one's index in certificates[]
  std::vector<std::size_t> left_in_place;      // indexes of certificates[] entries not objects
  std::optional<Error> tenant_problem;         // the first tenant that does not parse
  std::optional<Error> certificate_problem;    // the first certificate that does not parse

 private:
  void tenant(const nlohmann::json& j) {
    if (tenant_problem) return;
    auto t = parse_tenant(name_, j, file_);
    if (!t) {
      tenant_problem = t.error();
      return;
    }
    if (j.contains("gsa_enable_after_upload")) deprecated.push_back(name_);
    if (!tenants.empty() && *tenants.back().auth == *t->auth) t->auth = tenants.back().auth;
    tenants.push_back(std::move(*t));
  }

  void certificate(const nlohmann::json& j) {
    const std::size_t i = next_++;
    if (certificate_problem) return;
    auto spec = parse_certificate(j, file_, "certificates[" + std::to_string(i) + "]");
    if (!spec) {
      certificate_problem = spec.error();
      return;
    }
    certificates.push_back(std::move(*spec));
    certificate_index.push_back(i);
  }

  const std::filesystem::path& file_;
  std::string section_;
  bool in_tenants_ = false;
  bool in_certificates_ = false;
  std::string name_;      // the tenant being parsed
  std::size_t next_ = 0;  // the index of the next certificates[] entry
};

}  // namespace

Result<Config> parse_config(const std::string& text, const std::filesystem::path& file) {
  nlohmann::json j;
  SectionStream stream(file);
  try {
    j = nlohmann::json::parse(
        text,
        [&stream](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
          return stream(depth, event, parsed);
        },
        true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {  // syntax, or a number past a double (4e3454)
    return Error(ErrorKind::parse, file.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return bad(file, "top level", "must be a JSON object");
  Config c;
  c.file = file;
  if (auto st = Fields(j, file, "top level").only(keys_of("")); !st) return st.error();
  if (j.contains("state_url")) {
    if (!j["state_url"].is_string()) return bad(file, "state_url", "must be a string");
    c.state_url = j["state_url"].get<std::string>();
  }
  if (j.contains("state_password_file")) {
    Fields f(j, file, "top level");
    if (auto st = f.path("state_password_file", c.state_password_file); !st) return st.error();
  }
  for (const char* section : {"tenants", "signers"}) {
    if (!j.contains(section)) continue;
    if (!j[section].is_object()) return bad(file, section, "must be an object keyed by name");
  }
  // What the stream left of "tenants" is not an object: parse_tenant says so.
  if (j.contains("tenants"))
    for (auto it = j["tenants"].begin(); it != j["tenants"].end(); ++it)
      if (auto t = parse_tenant(it.key(), it.value(), file); !t) return t.error();
  if (stream.tenant_problem) return *stream.tenant_problem;
  c.tenants = std::move(stream.tenants);
  // By name, as before the stream (and as `pkiflow config show` lists them); a name given twice
  // is refused rather than one of them silently dropped.
  std::sort(c.tenants.begin(), c.tenants.end(),
            [](const TenantConfig& a, const TenantConfig& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < c.tenants.size(); ++i)
    if (c.tenants[i].name == c.tenants[i - 1].name)
      return bad(file, "tenants." + c.tenants[i].name, "is given twice");
  std::sort(stream.deprecated.begin(), stream.deprecated.end());
  for (const auto& name : stream.deprecated)
    c.notices.push_back(file.string() + ": tenants." + name +
                        ".gsa_enable_after_upload is deprecated: GSA uploads are switched on by "
                        "\"gsa_activation\" (\"auto\", the default, or \"manual\")");
  if (j.contains("signers")) {
    c.signers.reserve(j["signers"].size());
    for (auto it = j["signers"].begin(); it != j["signers"].end(); ++it) {
      auto sg = parse_signer(it.key(), it.value(), file);
      if (!sg) return sg.error();
      c.signers.push_back(std::move(*sg));
    }
  }
  if (j.contains("trust_anchors")) {
    Fields f(j, file, "trust_anchors");
    if (auto st = f.path("trust_anchors", c.trust_anchors); !st) return st.error();
  }
  if (j.contains("keys")) {
    Fields f(j["keys"], file, "keys");
    if (auto st = first_error({f.only(keys_of("keys")), f.path("dir", c.keys.dir),
                               f.text("passphrase_env", c.keys.passphrase_env),
                               f.path("passphrase_file", c.keys.passphrase_file)});
        !st)
      return st.error();
  }
  if (j.contains("run")) {
    auto r = parse_run(j["run"], file);
    if (!r) return r.error();
    c.run = *r;
  }
  if (j.contains("renewal")) {
    Fields f(j["renewal"], file, "renewal");
    std::optional<std::chrono::seconds> before;
    std::optional<double> fraction;
    if (auto st = first_error(
            {f.only(keys_of("renewal")), renewal_fields(j["renewal"], f, before, fraction)});
        !st)
      return st.error();
    c.renewal.renew_before = before;
    if (fraction) c.renewal.renew_at_fraction = *fraction;
    if (j["renewal"].contains("window")) {
      auto w = parse_window(j["renewal"]["window"].dump());
      if (!w) return bad(file, "renewal.window", w.error().message());
      c.renewal.window = *w;
    }
  }
  if (j.contains("certificates")) {
    if (!j["certificates"].is_array()) return bad(file, "certificates", "must be an array");
    // What the stream left in the array is not an object: parse_certificate says so.
    const auto& left = j["certificates"];
    for (std::size_t k = 0; k < left.size() && k < stream.left_in_place.size(); ++k)
      if (auto spec = parse_certificate(
              left[k], file, "certificates[" + std::to_string(stream.left_in_place[k]) + "]");
          !spec)
        return spec.error();
    if (stream.certificate_problem) return *stream.certificate_problem;
    auto& specs = stream.certificates;
    // Sorted by key (file order among equals): the first entry in file order that repeats an
    // earlier one is reported where the checks in file order reach it.
    std::vector<std::uint32_t> order(specs.size());
    for (std::size_t k = 0; k < order.size(); ++k)
      order[k] = static_cast<std::uint32_t>(k);
    std::stable_sort(order.begin(), order.end(), [&specs](std::uint32_t a, std::uint32_t b) {
      return certificate_key(specs[a]) < certificate_key(specs[b]);
    });
    std::size_t first_duplicate = specs.size();
    for (std::size_t k = 1; k < order.size(); ++k)
      if (certificate_key(specs[order[k]]) == certificate_key(specs[order[k - 1]]))
        first_duplicate = std::min<std::size_t>(first_duplicate, order[k]);
    for (std::size_t k = 0; k < specs.size(); ++k) {
      const CertificateSpec* spec = &specs[k];
      const std::size_t i = stream.certificate_index[k];
      if (k == first_duplicate) {
        const auto key =
            std::string(state::to_string(spec->kind)) + "/" + spec->tenant + "/" + spec->name;
        return bad(file, "certificates[" + std::to_string(i) + "]",
                   "duplicate of an earlier entry (" + key + ")");
      }
      const std::string where = "certificates[" + std::to_string(i) + "]";
      if (auto st = check_references(*spec, c, file, where); !st) return st.error();
      // A policy that is due the moment a certificate is issued would renew it every run.
      RenewalPolicy policy = c.renewal;
      if (spec->renew_before) policy.renew_before = spec->renew_before;
      if (spec->renew_at_fraction) policy.renew_at_fraction = *spec->renew_at_fraction;
      if (auto why = unsatisfiable(policy, spec->days()); !why.empty())
        return bad(file,
                   spec->renew_before ? where + ".renew_before"
                                      : "renewal.renew_before (for " + where + ")",
                   why);
    }
    c.certificates = std::move(specs);
    c.certificate_order = std::move(order);
  }
  return c;
}

Result<Config> load_config(const std::optional<std::filesystem::path>& explicit_path) {
  std::filesystem::path file;
  if (explicit_path) {
    file = *explicit_path;
  } else if (const char* env = std::getenv("PKIFLOW_CONFIG"); env && *env) {
    file = env;
  } else if (std::filesystem::exists("pkiflow.json")) {
    file = "pkiflow.json";
  } else {
    return Config{};
  }
  // The input limit of every file: 10,000 tenants with a certificate each are about 4 MiB
  // written compactly, twice that indented.
  auto text = pki::read_file_text(file, pki::kMaxInputFileBytes);
  if (!text) return text.error();
  return parse_config(*text, file);
}

Result<std::string> default_state_url() {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    dir = std::filesystem::path(xdg) / "pkiflow";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dir = std::filesystem::path(home) / ".local/state/pkiflow";
  } else {
    return Error(
        ErrorKind::invalid_input, "state store",
        "neither XDG_STATE_HOME nor HOME is set; give --state-url or state_url in the config");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorKind::io, dir.string(), "cannot create: " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return "sqlite://" + (dir / "state.db").string();
}

}  // namespace pkiflow::engine

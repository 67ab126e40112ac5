#include "tools/pkiflow/cli_support.hpp"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include "engine/api/record_json.hpp"
#include "engine/closest_name.hpp"
#include "engine/config_check.hpp"
#include "engine/run/run_owner.hpp"

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"

namespace pkiflow::cli {

const std::vector<ExitCodeInfo>& exit_codes() {
  static const std::vector<ExitCodeInfo> all{
      {kOk, "ok", "success (validate: the chain is valid)"},
      {kInvalid, "invalid", "validate, import: the certificate or chain is invalid"},
      {kBadInput, "invalid-input",
       "unusable input: a bad argument, configuration, file, passphrase or record id; nothing "
       "was changed"},
      {kCannotWrite, "io", "an output file could not be written"},
      {kInternal, "internal", "a bug: an unexpected exception (please report it)"},
      {kRecordsFailed, "records-failed",
       "run: the run went through and some records failed (see the report)"},
      {kCannotRun, "cannot-run",
       "no run happened: the store is busy or unreadable, sign-in failed, Graph unreachable"},
      {kInterrupted, "interrupted",
       "run: stopped by SIGTERM/SIGINT; steps in flight finished, leases freed"},
      {kHeldByAnotherRun, "busy",
       "a live run holds the record(s): run, cancel and enable left them alone"},
      {kDrift, "drift",
       "run, verify: a live object differs from its record (gone, switched off, replaced, "
       "expired, revoked); `pkiflow repair ID` puts it right"},
  };
  return all;
}

namespace {
bool g_json = false;
bool g_written = false;
}  // namespace

void set_json_output(bool on) {
  g_json = on;
}
bool json_output() {
  return g_json;
}
void document_written() {
  g_written = true;
}
bool has_written_document() {
  return g_written;
}

int report_exit(const Exit& e) {
  if (!e.message.empty()) std::cerr << "pkiflow: " << e.message << "\n";
  if (!g_json || g_written || e.code == kOk) return e.code;
  std::string kind = e.kind;
  if (kind.empty())
    for (const auto& c : exit_codes())
      if (c.code == e.code) kind = c.kind;
  nlohmann::ordered_json doc{{"error",
                              {{"kind", kind},
                               {"subject", e.subject},
                               {"message", e.detail.empty() ? e.message : e.detail}}},
                             {"exit", e.code}};
  std::cout << json_text(doc) << "\n";
  g_written = true;
  return e.code;
}

void fail(const Error& e, int code) {
  throw Exit(code == kByKind ? exit_code_of(e) : code, e);
}
void fail(int code, std::string message) {
  throw Exit(code, std::move(message));
}

void PassphraseOption::add_to(CLI::App& cmd) {
  cmd.add_option("--passphrase-file", file,
                 "file holding the private key's passphrase (else $PKIFLOW_PASSPHRASE)");
}

std::optional<pki::Passphrase> PassphraseOption::get() const {
  std::optional<std::filesystem::path> f;
  if (!file.empty()) f = file;
  return take(pki::find_passphrase(f));
}

void check_new_file(const std::filesystem::path& p, bool force) {
  if (!force && std::filesystem::exists(p))
    fail(kBadInput, p.string() + ": already exists; refusing to overwrite it (use --force)");
}

void write_output(const std::filesystem::path& p, const std::string& content, unsigned mode) {
  auto st = pki::write_file_atomic(p, content, mode);
  if (!st) fail(st.error(), kCannotWrite);
}

nlohmann::ordered_json to_json(const pki::PublicKeyInfo& k) {
  return engine::key_json(k);
}

nlohmann::ordered_json to_json(const pki::CertFacts& f, const pki::Certificate& c) {
  nlohmann::ordered_json j;
  j["subject"] = f.subject;
  j["issuer"] = f.issuer;
  j["serial"] = f.serial_hex;
  j["thumbprint_sha1"] = f.sha1_thumbprint;
  j["thumbprint_sha256"] = f.sha256_thumbprint;
  j["subject_key_id"] = f.subject_key_id;
  j["authority_key_id"] = f.authority_key_id;
  j["not_before"] = pki::format_rfc3339(f.not_before);
  j["not_after"] = pki::format_rfc3339(f.not_after);
  j["is_ca"] = f.is_ca;
  j["path_len"] =
      f.path_len ? nlohmann::ordered_json(*f.path_len) : nlohmann::ordered_json(nullptr);
  j["self_signed"] = f.self_signed;
  j["key"] = to_json(f.key);
  j["signature_algorithm"] = f.signature_algorithm;
  j["signature_hash"] = f.signature_hash;
  j["key_usage"] = f.key_usage.names();
  j["key_usage_critical"] = f.key_usage_critical;
  j["extended_key_usage"] = f.ext_key_usage;
  j["dns_names"] = f.dns_names;
  j["crl_urls"] = f.crl_urls;
  j["pem"] = c.pem();
  j["der_base64"] = c.base64_der();
  return j;
}

nlohmann::ordered_json to_json(const pki::CsrFacts& f) {
  nlohmann::ordered_json j;
  j["subject"] = f.subject;
  j["key"] = to_json(f.key);
  j["signature_algorithm"] = f.signature_algorithm;
  j["signature_valid"] = f.signature_valid;
  j["dns_names"] = f.dns_names;
  j["emails"] = f.emails;
  j["uris"] = f.uris;
  j["key_usage"] = f.key_usage.names();
  j["extended_key_usage"] = f.ext_key_usage;
  j["is_ca"] = f.is_ca ? nlohmann::ordered_json(*f.is_ca) : nlohmann::ordered_json(nullptr);
  j["path_len"] =
      f.path_len ? nlohmann::ordered_json(*f.path_len) : nlohmann::ordered_json(nullptr);
  return j;
}

void print_json(const nlohmann::ordered_json& j) {
  std::cout << json_text(j, 2) << "\n";
  document_written();
}

void StoreOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--config", config, "configuration file (else $PKIFLOW_CONFIG or ./pkiflow.json)");
  cmd.add_option("--state-url", state_url, "state store, e.g. sqlite:///var/lib/pkiflow/state.db");
  cmd.add_flag("--allow-insecure-permissions", allow_insecure_permissions,
               "read secret files that group or others can access (with a warning)");
}

namespace {

void print_notices(const std::vector<std::string>& notices) {
  for (const auto& n : notices)
    std::cerr << "pkiflow: notice: " << n << "\n";
}

void print_read_anyway(const std::string& what) {
  std::cerr << "pkiflow: warning: " << what << " (read anyway: --allow-insecure-permissions)\n";
}

}  // namespace

engine::Config StoreOptions::load() const {
  std::optional<std::filesystem::path> p;
  if (!config.empty()) p = config;
  auto c = take(engine::load_config(p));
  print_notices(c.notices);
  if (auto ok = engine::accept_config_files(c, allow_insecure_permissions,
                                            [](const Error& e) { print_read_anyway(e.what()); });
      !ok)
    fail(ok.error(), kBadInput);
  return c;
}

pkiflow::Engine StoreOptions::engine() const {
  pkiflow::EngineOptions o;
  o.config_file = config;
  o.find_config = true;
  o.state_url = state_url;
  o.allow_insecure_permissions = allow_insecure_permissions;
  o.actor = actor();
  auto e = pkiflow::Engine::open(o);
  if (!e) fail(e.error(), kBadInput);
  print_notices(e->notices());
  for (const auto& w : e->warnings())
    print_read_anyway(w);
  return std::move(*e);
}

std::string StoreOptions::url(const engine::Config& c) const {
  std::string url = !state_url.empty() ? state_url : c.state_url;
  if (url.empty()) url = take(engine::default_state_url());
  return url;
}

std::unique_ptr<state::StateStore> StoreOptions::open(const engine::Config& c,
                                                      state::OpenMode mode) const {
  return take(engine::open_state(c, url(c), mode));
}

int exit_code_of(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::busy:
      return kHeldByAnotherRun;
    case ErrorKind::unavailable:
    case ErrorKind::remote:
    case ErrorKind::auth:
      return kCannotRun;
    default:
      return kBadInput;
  }
}

std::string time_or_dash(const std::optional<state::TimePoint>& t) {
  return t ? pki::format_rfc3339(*t) : "-";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string did_you_mean(const std::string& got, const std::vector<std::string>& names) {
  const std::string close = engine::closest_name(got, names);
  return close.empty() ? "" : " (did you mean \"" + close + "\"?)";
}

std::string actor() {
  // The effective user as the system knows it (cron and root may not set $USER), the host and
  // the process, so two runs of one timer can be told apart in history.
  std::string user;
  passwd entry{};
  passwd* pw = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &entry, buf, sizeof buf, &pw) == 0 && pw && pw->pw_name)
    user = pw->pw_name;
  if (user.empty())
    if (const char* env = std::getenv("USER"); env && *env) user = env;
  if (user.empty()) user = "uid " + std::to_string(::geteuid());
  return "cli:" + user + "@" + engine::this_host() + " pid " + std::to_string(::getpid());
}

}  // namespace pkiflow::cli

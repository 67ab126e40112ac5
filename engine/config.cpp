#include "engine/config.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"

namespace pkiflow::engine {

namespace {

Error bad(const std::filesystem::path& file, const std::string& where, const std::string& what) {
  return Error(ErrorKind::invalid_input, file.string(), where + ": " + what);
}

Result<CertificateSpec> parse_certificate(const nlohmann::json& j,
                                          const std::filesystem::path& file, std::size_t index) {
  const std::string where = "certificates[" + std::to_string(index) + "]";
  if (!j.is_object()) return bad(file, where, "must be an object");
  static const std::set<std::string> known{"kind",    "name",          "tenant",
                                           "subject", "key_algorithm", "validity_days"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) return bad(file, where, "unknown field \"" + it.key() + "\"");
  CertificateSpec c;
  auto text = [&](const char* key, std::string& out, bool required) -> Status {
    if (!j.contains(key)) {
      if (required) return bad(file, where, std::string("\"") + key + "\" is required");
      return Ok{};
    }
    if (!j[key].is_string() || j[key].get<std::string>().empty())
      return bad(file, where, std::string("\"") + key + "\" must be a non-empty string");
    out = j[key].get<std::string>();
    return Ok{};
  };
  std::string kind;
  for (auto st :
       {text("kind", kind, true), text("name", c.name, true), text("tenant", c.tenant, true),
        text("subject", c.subject, false), text("key_algorithm", c.key_algorithm, false)})
    if (!st) return st.error();
  auto k = state::parse_kind(kind);
  if (!k)
    return bad(file, where,
               "unknown kind \"" + kind + "\" (gsa-tls-ca, cba-ca, intune-codesigning)");
  c.kind = *k;
  if (auto alg = pki::parse_key_algorithm(c.key_algorithm); !alg)
    return bad(file, where, alg.error().message());
  if (j.contains("validity_days")) {
    if (!j["validity_days"].is_number_integer() || j["validity_days"].get<int>() <= 0)
      return bad(file, where, "\"validity_days\" must be a positive integer");
    c.validity_days = j["validity_days"].get<int>();
  }
  return c;
}

}  // namespace

std::string CertificateSpec::profile_json() const {
  nlohmann::ordered_json j{{"subject", subject}, {"key_algorithm", key_algorithm}};
  if (validity_days > 0) j["validity_days"] = validity_days;
  return j.dump();
}

Result<Config> parse_config(const std::string& text, const std::filesystem::path& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    return Error(ErrorKind::parse, file.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return bad(file, "top level", "must be a JSON object");
  Config c;
  c.file = file;
  if (j.contains("state_url")) {
    if (!j["state_url"].is_string()) return bad(file, "state_url", "must be a string");
    c.state_url = j["state_url"].get<std::string>();
  }
  if (j.contains("certificates")) {
    if (!j["certificates"].is_array()) return bad(file, "certificates", "must be an array");
    std::set<std::string> names;
    for (std::size_t i = 0; i < j["certificates"].size(); ++i) {
      auto spec = parse_certificate(j["certificates"][i], file, i);
      if (!spec) return spec.error();
      auto key = std::string(state::to_string(spec->kind)) + "/" + spec->tenant + "/" + spec->name;
      if (!names.insert(key).second)
        return bad(file, "certificates[" + std::to_string(i) + "]",
                   "duplicate of an earlier entry (" + key + ")");
      c.certificates.push_back(std::move(*spec));
    }
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
  auto bytes = pki::read_file_bytes(file, 4 * 1024 * 1024);
  if (!bytes) return bytes.error();
  return parse_config(std::string(bytes->begin(), bytes->end()), file);
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

// The configuration file (DESIGN.md, "Configuration and files"): one JSON file, comments
// allowed, found at --config, $PKIFLOW_CONFIG or ./pkiflow.json. This part reads what the
// lifecycle needs today: the state store URL and the certificates to manage. Tenants, auth,
// Graph URLs, trust anchors and signers are read by the issues that use them; unknown
// top-level sections are kept out of the way, unknown keys inside a certificate are errors.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

struct CertificateSpec {
  state::RecordKind kind = state::RecordKind::gsa_tls_ca;
  std::string name;
  std::string tenant;
  std::string subject;  // CN=… (CBA, code signing); GSA: commonName/organizationName
  std::string key_algorithm = "rsa3072";
  int validity_days = 0;             // 0 = the profile's default
  std::string profile_json() const;  // what the record keeps as its profile
};

struct Config {
  std::filesystem::path file;  // where it was read from; empty when none was found
  std::string state_url;       // empty = the default location
  std::vector<CertificateSpec> certificates;
};

// Finds and reads the configuration: `explicit_path` if given (it must exist), else
// $PKIFLOW_CONFIG, else ./pkiflow.json if present, else an empty Config.
Result<Config> load_config(const std::optional<std::filesystem::path>& explicit_path);
Result<Config> parse_config(const std::string& text, const std::filesystem::path& file);

// sqlite:// URL of the default state database: $XDG_STATE_HOME/pkiflow/state.db, else
// ~/.local/state/pkiflow/state.db (its directory is created with mode 0700).
Result<std::string> default_state_url();

}  // namespace pkiflow::engine

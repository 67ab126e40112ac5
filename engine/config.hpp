// The configuration file (DESIGN.md, "Configuration and files"): one JSON file, comments
// allowed, found at --config, $PKIFLOW_CONFIG or ./pkiflow.json. This part reads what the
// lifecycle needs today: the state store URL and the certificates to manage. Tenants, auth,
// Graph URLs, trust anchors and signers are read by the issues that use them; unknown
// top-level sections are kept out of the way, unknown keys inside a certificate are errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"
#include "engine/renewal.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

// The endpoint profile a record's certificate must pass (tls-inspection-ca, cba-ca,
// code-signing).
const pki::SigningProfile& profile_for(state::RecordKind kind);
// The validity a record asks for: its profile's "validity_days", else `profile`'s default.
int validity_days_of(const state::Record& r, const pki::SigningProfile& profile);
// The signer a record names in its profile ("" when none: it is signed elsewhere).
std::string signer_of(const state::Record& r);

struct CertificateSpec {
  state::RecordKind kind = state::RecordKind::gsa_tls_ca;
  std::string name;
  std::string tenant;
  std::string subject;  // CN=… (CBA, code signing); GSA: commonName/organizationName
  std::string key_algorithm = "rsa3072";
  int validity_days = 0;  // 0 = the profile's default
  std::string signer;     // a name under "signers"; empty = sign offline, import
  std::optional<std::chrono::seconds> renew_before;  // unset: the configuration's default
  std::optional<double> renew_at_fraction;           // unset: the configuration's default
  std::optional<Retire> retire_superseded;           // unset: the family's default
  std::optional<RenewalWindow> renewal_window;       // unset: the configuration's default
  std::string profile_json() const;                  // what the record keeps as its profile
  int days() const;                                  // validity_days, else the profile's default
};

// How pkiflow signs in to a tenant (graph-api.md 6). Secrets come from an environment variable
// or a file, never from the configuration itself.
// Its files are kept as text (resolved against the configuration's directory), not as
// std::filesystem::path: a path holds a list of its components on the heap, and a managed-service
// provider's 10,000 tenants would hold 10,000 such lists each.
struct TenantAuth {
  enum class Kind { secret, certificate } kind = Kind::secret;
  std::string secret_env;   // name of the variable holding the client secret
  std::string secret_file;  // or a file holding it (first line)
  std::string certificate;  // certificate credential: the app's certificate
  std::string key;          // and its key
  std::string key_passphrase_env;
  std::string key_passphrase_file;
  std::string algorithm = "PS256";  // PS256 (x5t#S256) or RS256 (x5t)
  bool operator==(const TenantAuth&) const = default;
};

// A tenant's settings that most tenants leave as they are. Every tenant that does shares one
// copy (TenantConfig::extras): 10,000 tenants hold 10,000 pointers, not 10,000 copies of six
// strings.
struct TenantExtras {
  std::string cloud = "global";
  std::string tls_ca_file;  // trust anchors for Graph's TLS (a file); empty = system store
  // GSA uploads are staged until enabled (graph-api.md 0). "auto": pkiflow enables them (for a
  // renewal, the cutover); "manual": the record waits in `uploaded` for the operator.
  std::string gsa_activation = "auto";
  // Deprecated (read, mapped to gsa_activation "auto" plus enabling an upload that reads
  // "enrolling"; a notice says so).
  bool gsa_enable_after_upload = false;
  // Entra CBA: the PKI container the CAs go into (found by display name, else created), the
  // issuer hint, and CRL URLs used when a CA certificate names none.
  std::string cba_pki_name = "pkiflow";
  bool cba_issuer_hint = false;
  std::string cba_crl_url;
  std::string cba_delta_crl_url;
  bool operator==(const TenantExtras&) const = default;
  // The one copy the tenants without settings of their own share.
  static const std::shared_ptr<const TenantExtras>& defaults();
};

struct TenantConfig {
  std::string name;       // the key under "tenants", used by certificates[].tenant
  std::string tenant_id;  // directory (tenant) id or domain
  std::string client_id;  // the app registration
  std::string graph_url;  // overrides the cloud's (e.g. the emulator's http://127.0.0.1:…/beta)
  std::string token_url;  // overrides the cloud's token endpoint
  // Shared by the tenants that sign in alike (a managed-service provider's one multi-tenant
  // app, one certificate or one secret file for all): parse_config gives consecutive tenants with
  // the same credential settings one copy. Never null.
  std::shared_ptr<const TenantAuth> auth = std::make_shared<const TenantAuth>();
  std::shared_ptr<const TenantExtras> extras = TenantExtras::defaults();  // never null
};

// Keys pkiflow makes (CBA CAs, code signing): DIR/<record id>.key, encrypted, 0600.
struct KeysConfig {
  std::filesystem::path dir;  // empty: "keys" next to the state database
  std::string passphrase_env;
  std::filesystem::path passphrase_file;
};

struct SignerConfig {
  std::string name;
  std::string type = "local-ca";
  std::filesystem::path certificate;
  std::filesystem::path key;    // a key file, or a "pkcs11:" URI (RFC 7512) for a key in an HSM
  std::filesystem::path chain;  // optional: the CA's own chain up to the root
  std::string passphrase_env;
  std::filesystem::path passphrase_file;
  std::vector<std::string> crl_urls;
  // The key is kept offline (removable media, a token that is plugged in to sign): a missing key
  // file or token is no configuration error; records wait in csrGenerated until it is there.
  bool offline_key = false;
  // "type": "command" (engine/signers/command.hpp): the program and its argv with placeholders,
  // its time limit, its environment (fixed values, and names copied from pkiflow's own), and
  // the directory it runs in.
  std::vector<std::string> command;
  std::chrono::seconds timeout{120};
  std::map<std::string, std::string> environment;
  std::vector<std::string> pass_environment;
  std::filesystem::path working_directory;
};

// The bounds of numeric settings: one definition for the configuration file and the command
// line (whose parser enforces the same ranges).
struct Bounds {
  long long min, max;
};
inline constexpr Bounds kConcurrencyBounds{1, 256};
inline constexpr Bounds kPollIntervalMsBounds{10, 600'000};
inline constexpr Bounds kConfirmWaitSecondsBounds{0, 86'400};
// Validity of an issued certificate: a day to a hundred years (X.509 dates stay well inside
// GeneralizedTime; a larger value once wrapped around to a 16-day root).
inline constexpr Bounds kValidityDaysBounds{1, 36'500};
inline constexpr Bounds kExpiringWithinDaysBounds{0, 36'500};
// A record's name: printable UTF-8, no control character (status prints it in a tab-separated
// table), at most this many characters.
inline constexpr std::size_t kRecordNameMaxChars = 128;

struct RunSettings {
  std::size_t concurrency = 4;
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds confirm_wait{std::chrono::minutes(10)};
  std::size_t max_in_flight = 8;        // HTTP requests at once, across the run
  std::chrono::seconds retry_base{60};  // first back-off of a record after a transient failure
  std::chrono::seconds retry_cap{std::chrono::hours(6)};
  // Each active record's remote object is read back at most this often (drift); 0 = never.
  std::chrono::seconds verify_interval{std::chrono::hours(24)};
  // Each HTTP request (connect, TLS, write and read, whatever the server trickles) ends by then.
  std::chrono::seconds request_timeout{30};
  // The whole run ends by then: no step starts after it, requests in flight are cut at it and
  // not retried, waits end; records stay as they were (the next run carries on). 0 = none.
  std::chrono::seconds deadline{std::chrono::hours(6)};
  // The longest Retry-After the run sleeps for; a longer one makes the record wait for a later
  // run instead.
  std::chrono::seconds max_retry_after{300};
};

struct Config {
  Config() = default;
  Config(const Config&) = default;
  Config& operator=(const Config&) = default;
  // A move allocates nothing but the moved-from deques' new maps (libstdc++): running out of
  // memory there ends the process, as it would almost anywhere. noexcept, so that a
  // Result<Config> moves without a throwing path.
  Config(Config&&) noexcept = default;
  Config& operator=(Config&&) noexcept = default;

  std::filesystem::path file;  // where it was read from; empty when none was found
  std::string state_url;       // empty = the default location
  // PostgreSQL: a file holding the password (first line), for a state_url without one. Else
  // libpq's PGPASSWORD or PGPASSFILE.
  std::filesystem::path state_password_file;
  // Deques, not vectors: 10,000 entries are parsed one by one into them, and a vector's growth
  // would hold the old and the new array at once (twice their memory at the peak).
  std::deque<CertificateSpec> certificates;
  // certificates' positions by (kind, tenant, name), made by parse_config: certificate() finds
  // an entry in log time (a run asks once per record). Entries added later are found by a scan.
  std::vector<std::uint32_t> certificate_order;
  std::deque<TenantConfig> tenants;
  std::vector<SignerConfig> signers;
  std::filesystem::path trust_anchors;  // PEM file or directory the chains must reach
  KeysConfig keys;
  RunSettings run;
  RenewalPolicy renewal;  // "renewal": the defaults of every certificate

  // Notices about the file that do not stop it being used (deprecated fields), for stderr.
  std::vector<std::string> notices;

  const TenantConfig* tenant(const std::string& name) const;
  const SignerConfig* signer(const std::string& name) const;
  // The configured certificate of a lineage (kind, name and tenant), or nullptr.
  const CertificateSpec* certificate(state::RecordKind kind, const std::string& name,
                                     const std::string& tenant) const;
  // The renewal policy of a lineage: its certificate's fields over the "renewal" defaults (a
  // record no certificate entry names, e.g. one requested on the command line, gets those).
  RenewalPolicy renewal_policy(state::RecordKind kind, const std::string& name,
                               const std::string& tenant) const;
};

// What a record's stored profile and its configured certificate disagree on, one line per field
// ("subject \"CN=Old\" -> \"CN=New\""); empty when they agree. A changed configuration is not
// applied to a record that exists (its key and CSR are made): its next renewal takes it.
std::vector<std::string> profile_changes(const std::string& record_profile_json,
                                         const CertificateSpec& configured);

// Finds and reads the configuration: `explicit_path` if given (it must exist), else
// $PKIFLOW_CONFIG, else ./pkiflow.json if present, else an empty Config.
Result<Config> load_config(const std::optional<std::filesystem::path>& explicit_path);
Result<Config> parse_config(const std::string& text, const std::filesystem::path& file);
// One certificates[] entry given as JSON text (what `pkiflow request` builds from its options),
// checked as in a file and against the tenants and signers of `c`; `where` names its source.
Result<CertificateSpec> parse_certificate_entry(const std::string& json_text, const Config& c,
                                                const std::string& where);

// sqlite:// URL of the default state database: $XDG_STATE_HOME/pkiflow/state.db, else
// ~/.local/state/pkiflow/state.db (its directory is created with mode 0700).
Result<std::string> default_state_url();

}  // namespace pkiflow::engine

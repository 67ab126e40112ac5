#include "engine/config_keys.hpp"

#include <functional>
#include <map>

namespace pkiflow::engine {

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> all{
      {"", "state_url",
       "string: the state store, sqlite:///path (default $XDG_STATE_HOME/pkiflow/state.db) or "
       "postgresql://user@host/database?sslmode=verify-full (several workers)"},
      {"", "state_password_file",
       "path, 0600: the PostgreSQL password (first line), else PGPASSWORD or PGPASSFILE"},
      {"", "tenants", "object keyed by tenant name: how to reach each Entra tenant"},
      {"", "signers", "object keyed by signer name: the CAs that sign on this host"},
      {"", "trust_anchors",
       "path: PEM file or directory of roots every signed certificate must chain to"},
      {"", "keys", "object: where the keys pkiflow makes are kept and their passphrase"},
      {"", "run", "object: how `pkiflow run` paces itself"},
      {"", "certificates", "array: the certificates to manage (`pkiflow request --from-config`)"},
      {"", "renewal", "object: when certificates are renewed, for every certificate"},

      {"renewal", "renew_before",
       "duration (30d, 12h): renew this long before notAfter (default: unset, the fraction alone)"},
      {"renewal", "renew_at_fraction",
       "0-1 (default 0.6667): renew at this fraction of the issued certificate's lifetime; the "
       "earlier of the two wins"},
      {"renewal", "window",
       "{\"days\": [\"mon\", …], \"hours\": \"22:00-06:00\", \"time_zone\": \"Europe/Berlin\"}: "
       "renewals start only inside it (default: any time)"},

      {"tenants.NAME", "tenant_id", "string, required: the directory (tenant) id or domain"},
      {"tenants.NAME", "client_id", "string, required: the application (client) id"},
      {"tenants.NAME", "cloud", "global (default), usgov, dod or china: the national cloud"},
      {"tenants.NAME", "graph_url", "URL: Graph's base, overriding the cloud's (e.g. an emulator)"},
      {"tenants.NAME", "token_url", "URL: the token endpoint, overriding the cloud's"},
      {"tenants.NAME", "tls_ca_file", "path: PEM roots to verify Graph's TLS certificate with"},
      {"tenants.NAME", "auth", "object, required: the app's credential"},
      {"tenants.NAME", "gsa_activation",
       "auto (default) or manual: whether a run switches on an uploaded TLS-inspection CA"},
      {"tenants.NAME", "gsa_enable_after_upload", "deprecated: use gsa_activation"},
      {"tenants.NAME", "cba_pki_name",
       "string, at most 256 characters (default \"pkiflow\"): the CBA PKI container's name"},
      {"tenants.NAME", "cba_issuer_hint",
       "true or false: set isIssuerHintEnabled on the CBA CAs pkiflow uploads"},
      {"tenants.NAME", "cba_crl_url", "URL: the CRL distribution point set on CBA CAs"},
      {"tenants.NAME", "cba_delta_crl_url", "URL: the delta CRL distribution point for CBA CAs"},

      {"tenants.NAME.auth", "client_secret_env",
       "name of an environment variable holding the secret"},
      {"tenants.NAME.auth", "client_secret_file",
       "path: a file holding the client secret (0600, owned by the user)"},
      {"tenants.NAME.auth", "certificate", "path: the app's certificate (PEM), with key"},
      {"tenants.NAME.auth", "key", "path: the app's private key (0600)"},
      {"tenants.NAME.auth", "key_passphrase_env", "environment variable with the key's passphrase"},
      {"tenants.NAME.auth", "key_passphrase_file", "path: a file with the key's passphrase (0600)"},
      {"tenants.NAME.auth", "algorithm", "PS256 (default, x5t#S256) or RS256 (x5t)"},

      {"signers.NAME", "type",
       "local-ca (default): a CA certificate and key file on this host; command: an external "
       "program signs (openssl ca, AD CS certreq, step-ca; samples/signers/); offline: a CA on "
       "an air-gapped host, reached through bundles (pkiflow bundle export / sign / import)"},
      {"signers.NAME", "certificate",
       "path, required (local-ca): the CA's certificate (PEM); offline: the CA every bundle must "
       "come back signed by"},
      {"signers.NAME", "key",
       "path, required (local-ca): the CA's private key (0600); or a PKCS#11 URI for a key in "
       "an HSM, pkcs11:token=T;object=K?module-path=M&pin-source=file:/path (or env:NAME)"},
      {"signers.NAME", "chain",
       "path: the CA's own chain up to the root (PEM); for a command, used when the program "
       "returns no chain"},
      {"signers.NAME", "passphrase_env", "environment variable with the key's passphrase"},
      {"signers.NAME", "passphrase_file", "path: a file with the key's passphrase (0600)"},
      {"signers.NAME", "crl_urls", "array of URLs: CRL distribution points put in what it signs"},
      {"signers.NAME", "offline_key",
       "true or false (default): the key is kept offline; while its file is absent, records "
       "wait in csrGenerated (not an error)"},
      {"signers.NAME", "command",
       "array, required (command): the program and its arguments, each one argv item (no "
       "shell); placeholders {csr} {cert} {chain} {profile} {days} {subject} {record}"},
      {"signers.NAME", "timeout_seconds",
       "integer 1-86400 (default 120): the command is stopped after it, the record retried"},
      {"signers.NAME", "environment",
       "object of NAME: \"value\": the command's environment (it gets no other variable but "
       "PATH)"},
      {"signers.NAME", "pass_environment",
       "array of names: variables copied from pkiflow's own environment to the command's"},
      {"signers.NAME", "working_directory", "path: where the command runs"},

      {"keys", "dir",
       "path: where keys made on this host go (default: keys/ beside a SQLite store; with "
       "PostgreSQL, $XDG_STATE_HOME/pkiflow/keys)"},
      {"keys", "passphrase_env",
       "environment variable with their passphrase (default PKIFLOW_PASSPHRASE)"},
      {"keys", "passphrase_file", "path: a file with their passphrase (0600)"},

      {"run", "concurrency", "1-256 (default 4): records worked at once"},
      {"run", "poll_interval_ms", "10-600000 (default 5000): GET interval while waiting"},
      {"run", "confirm_wait_seconds",
       "0-86400 (default 600): how long a run waits for a record to become active"},
      {"run", "max_in_flight", "1-256 (default 8): HTTP requests at once, across the run"},
      {"run", "retry_base_seconds",
       "0-86400 (default 60): first back-off after a transient failure"},
      {"run", "retry_cap_seconds", "0-604800 (default 21600): the longest back-off"},
      {"run", "request_timeout_seconds",
       "1-600 (default 30): each HTTP request ends by then, however slowly the server answers"},
      {"run", "deadline_seconds",
       "0-604800 (default 21600, 0 = none): the run ends by then; requests in flight are cut, "
       "records stay as they were and the next run carries on"},
      {"run", "max_retry_after_seconds",
       "0-86400 (default 300): the longest Retry-After a run sleeps for; a longer one leaves "
       "the record for a later run"},
      {"run", "verify_interval",
       "duration (default 24h) or \"off\": how often a run reads each live object back to find "
       "drift (gone, switched off, replaced, fields changed)"},

      {"certificates[]", "kind", "required: gsa-tls-ca, cba-ca or intune-codesigning"},
      {"certificates[]", "name",
       "required: printable, at most 128 characters; with kind and tenant, the lineage"},
      {"certificates[]", "tenant", "required: a name under tenants"},
      {"certificates[]", "subject",
       "\"CN=…,O=…\" (RFC 4514; CN at most 64 characters); required for gsa-tls-ca"},
      {"certificates[]", "key_algorithm",
       "rsa2048, rsa3072 (default), rsa4096, p256 or p384: keys made here"},
      {"certificates[]", "validity_days", "1-36500 (default: the profile's)"},
      {"certificates[]", "signer", "a name under signers (none: sign offline, `pkiflow import`)"},
      {"certificates[]", "renew_before", "duration: overrides renewal.renew_before"},
      {"certificates[]", "renew_at_fraction", "0-1: overrides renewal.renew_at_fraction"},
      {"certificates[]", "renewal_window", "overrides renewal.window"},
      {"certificates[]", "retire_superseded",
       "at-expiry (default for cba-ca, intune-codesigning), after-cutover (default for "
       "gsa-tls-ca) or never: when a renewed certificate leaves the tenant"},
  };
  return all;
}

const std::set<std::string>& keys_of(std::string_view section) {
  // Built once: a configuration checks the keys of every tenant against the same sets.
  static const std::map<std::string, std::set<std::string>, std::less<>> by_section = [] {
    std::map<std::string, std::set<std::string>, std::less<>> out;
    for (const auto& k : config_keys())
      out[k.section].insert(k.key);
    return out;
  }();
  static const std::set<std::string> none;
  auto it = by_section.find(section);
  return it == by_section.end() ? none : it->second;
}

}  // namespace pkiflow::engine

// What the command line and the embedding API (pkiflow/engine.hpp) both do before they touch
// records: open the state store the configuration names, find where keys made here go and what
// their passphrase is, load the trust anchors, and plan the records of certificate entries.
// One place, so `pkiflow request` and Engine::request cannot plan differently.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/local_keys.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/workflow.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

// The store at `url`, with the configuration's state_password_file for PostgreSQL.
Result<std::unique_ptr<state::StateStore>> open_state(const Config& c, const std::string& url,
                                                      state::OpenMode mode);

// keys.dir, else "keys" next to the SQLite database (for PostgreSQL, next to where this host's
// default store would be); the passphrase from keys.passphrase_file or keys.passphrase_env
// (else $PKIFLOW_PASSPHRASE).
Result<LocalKeys> local_keys(const Config& c, const std::string& state_url);

// The configuration's trust_anchors (nullptr when it names none).
Result<std::shared_ptr<const pki::TrustStore>> trust_anchors(const Config& c);

// What request decided for one certificate entry.
struct Requested {
  std::string id;
  std::string name;
  bool created = false;                      // false: a record of this lineage exists
  state::RecordState state{};                // of the record reported
  std::vector<std::string> profile_changes;  // an existing record's profile against the entry
};

// Plans a record for each entry unless a live record of its lineage (kind, name, tenant) exists:
// then the newest of them is reported, with how the entry differs from it. `each` hears every
// entry as it is decided, so what was planned before an error is known.
Status request_records(state::StateStore& store, const std::deque<CertificateSpec>& wanted,
                       const std::string& reason, const std::string& actor,
                       const std::function<void(const Requested&)>& each);

// When the configuration file last changed (nullopt without one): a run checks again the
// active records it verified before that.
std::optional<state::TimePoint> config_changed_at(const Config& c);

// A renewal planned now (`pkiflow renew`): the successor takes the configuration as it is now
// (the same plan a run makes for a renewal that came due), and says what differs.
struct Renewed {
  state::Record successor;
  std::vector<std::string> profile_changes;
};
Result<Renewed> renew_record(state::StateStore& store, const Config& config, const std::string& id,
                             const std::string& actor);

// How `pkiflow run` exits (and Engine::run's exit_code): 7 stopped (signal, cancel, deadline);
// 5 a record failed or a due renewal could not be planned; 9 a live object differs from its
// record (`drift_in_store`: an active record still marked, or found by this run); 8 due records
// were left to another live run; else 0.
int run_exit_code(const RunReport& report, bool drift_in_store);

}  // namespace pkiflow::engine

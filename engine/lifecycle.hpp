// The lifecycle state machine (DESIGN.md, "The lifecycle"): the single place that knows the
// order of states. Each transition is one function: it re-reads the record, does nothing when
// the record is already where the transition leads (a rerun after a crash), checks its guard,
// applies its effect and writes the record with its history row in one transaction.
//
//   planned -> csrGenerated -> signed -> uploaded -> active -> superseded -> retired
//   any state before active -> failed (permanent error) -> retry -> the state it failed in
//   any state before active, and failed -> retired (cancel)
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/clock.hpp"
#include "engine/pki/result.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

using state::Record;
using state::RecordState;

// The legal moves; transitions refuse anything else with the list of what is allowed.
bool is_legal(RecordState from, RecordState to);
std::vector<RecordState> legal_targets(RecordState from);

struct BackoffPolicy {
  std::chrono::seconds base{60};
  std::chrono::seconds cap{std::chrono::hours(6)};
};

// Delay before the next attempt after `attempts` consecutive transient failures (1 = first):
// base * 2^(attempts-1), capped, then scaled by a jitter factor in [0.5, 1) from `jitter` in
// [0, 1) so that many records failing together do not retry together. Pure (STYLE.md, 4).
std::chrono::seconds backoff_delay(int attempts, double jitter, const BackoffPolicy& policy);

struct NewRecord {
  std::string id;  // from new_record_id()
  state::RecordKind kind = state::RecordKind::gsa_tls_ca;
  std::string name;
  std::string tenant;
  std::string profile_json = "{}";
  std::string renews;  // set for a renewal
};

struct CsrArtifacts {
  std::string csr_pem;
  std::string key_path;   // local key (CBA, code signing); empty when the service holds the key
  std::string remote_id;  // GSA: the object the POST created, stored with its CSR
  std::string remote_status;
};

struct SignedArtifacts {
  std::string certificate_pem;
  std::string chain_pem;
  TimePoint not_before;
  TimePoint not_after;
  std::string thumbprint_sha1;
  std::string thumbprint_sha256;
};

// Product rules a new record must respect before it is planned (what `pkiflow request` checks):
// a tenant has one TLS-inspection CA at a time (graph-api.md 1: one active certificate), so a
// second GSA record for a tenant is refused unless it renews the first.
Status check_new_record(state::StateStore& store, const NewRecord& r);

// The record a transition acts on: its id, and the copy the caller holds when it has one (a run
// holds what each of its steps returned). With a copy, the transition is decided on it and
// written with its version, which the store refuses if the record changed since; only then is
// the stored record read and the transition decided again. An equal version is an equal record,
// so the outcome is the one reading first gives, without a read per step.
struct RecordRef {
  RecordRef(std::string record_id)
      : id(std::move(record_id)) {}                    // NOLINT(google-explicit-constructor)
  RecordRef(const char* record_id) : id(record_id) {}  // NOLINT(google-explicit-constructor)
  RecordRef(const Record& copy)
      : id(copy.id), held(&copy) {}  // NOLINT(google-explicit-constructor)
  std::string id;
  const Record* held = nullptr;
};

class Lifecycle {
 public:
  Lifecycle(state::StateStore& store, const Clock& clock, std::string actor,
            BackoffPolicy backoff = {});

  Result<Record> plan(const NewRecord& r, const std::string& reason);
  Result<Record> csr_generated(const RecordRef& rec, const CsrArtifacts& a);
  // From csrGenerated; or from planned for an imported certificate (not for a GSA record,
  // whose key the service makes).
  Result<Record> signed_(const RecordRef& rec, const SignedArtifacts& a);
  // `pkiflow bundle export`: the records' CSRs went out in bundle `bundle_id` (written to
  // `where`); no state changes, a history row each, all in one transaction.
  Result<std::vector<Record>> exported(const std::vector<std::string>& ids,
                                       const std::string& bundle_id, const std::string& where);
  // `pkiflow bundle import`: csrGenerated -> signed for every record of a bundle, in one
  // transaction: all of them or none.
  Result<std::vector<Record>> signed_all(
      const std::vector<std::pair<std::string, SignedArtifacts>>& certificates,
      const std::string& reason);
  // `remote_id` when the upload created the remote object (CBA, Intune); "" keeps the one known.
  Result<Record> uploaded(const RecordRef& rec, const std::string& remote_status,
                          const std::string& remote_id = "");
  // Also supersedes the record this one renews, in the same transaction; `superseded_note`
  // says in the old record's history what becomes of it (kept until it expires, deleted now).
  Result<Record> activated(const RecordRef& rec, const std::string& remote_status,
                           const std::function<std::string(const Record&)>& superseded_note = {});
  // A permanent failure: the record stops until an operator retries or cancels it.
  Result<Record> failed(const std::string& id, const std::string& reason);
  // A transient failure: same state, one more attempt counted, next attempt after a back-off.
  Result<Record> transient_failure(const std::string& id, const std::string& error, double jitter);
  // A drift check of an active record (engine/run/drift): stores when it ran and what it found
  // (`drift` "" when the object matched, else the condition's name, explained by `note`), and
  // ends any back-off left by a failed check. A history row is written when the condition
  // changed, or when the check changed something on the service (`done` says what).
  // `fields_pending`: the check found mutable fields to update and left them to the next run,
  // so the time of this check is not kept (the run must not take the record as checked).
  Result<Record> observed(const std::string& id, const std::string& drift, const std::string& note,
                          const std::string& done = "", bool fields_pending = false);
  // `pkiflow repair`: the same certificate uploaded again as `remote_id`; drift cleared.
  Result<Record> reprovisioned(const std::string& id, const std::string& remote_id,
                               const std::string& remote_status, const std::string& reason);
  // `pkiflow adopt`: a record for an object already live in the tenant, active from the start
  // (its certificate as the service holds it; `reason` names the object).
  Result<Record> adopted(const NewRecord& r, const SignedArtifacts& cert,
                         const std::string& remote_id, const std::string& remote_status,
                         const std::string& reason);
  // Operator actions.
  Result<Record> retry(const std::string& id);
  Result<Record> cancel(const std::string& id);
  Result<Record> retire(const std::string& id, const std::string& reason);
  // A renewal: a new planned record that renews `id` (which stays active until it is replaced).
  // `profile_json`, when given, is the successor's profile (the configuration changed since the
  // record was planned); `why` is added to the history reason.
  Result<Record> renew(const std::string& id, const std::string& successor_id,
                       const std::optional<std::string>& profile_json = std::nullopt,
                       const std::string& why = "");

 private:
  Result<Record> load(const std::string& id);
  // The record when it is active, else an error saying `rule` ("only an active record is …").
  Result<Record> load_active(const std::string& id, const std::string& rule);
  // A new record in `state` with its creation row; `fill` sets what else it starts with.
  Result<Record> insert(const NewRecord& r, RecordState state, const std::string& reason,
                        const std::function<void(Record&)>& fill = nullptr);
  // `current` moved to `to` (legal, checked by the caller): state, time, and the end of a run of
  // transient failures when `to` is progress.
  Record advanced(const Record& current, RecordState to) const;
  // The effect edits the new record (it sees the record as it was); companions are further
  // writes that must commit with this one (a superseded predecessor).
  using Effect = std::function<Status(Record& next, const Record& before)>;
  using Companions = std::function<Result<std::vector<state::RecordWrite>>(const Record& next)>;
  Result<Record> move(const RecordRef& rec, RecordState to, const std::string& reason,
                      const std::string& details_json, const Effect& effect,
                      const Companions& companions = nullptr);
  // move() decided on `current`, the stored record or the caller's copy of it.
  Result<Record> move_from(const Record& current, RecordState to, const std::string& reason,
                           const std::string& details_json, const Effect& effect,
                           const Companions& companions);
  state::HistoryEntry entry(const Record& before, RecordState to, const std::string& reason,
                            const std::string& details_json) const;

  state::StateStore& store_;
  const Clock& clock_;
  std::string actor_;
  BackoffPolicy backoff_;
};

}  // namespace pkiflow::engine

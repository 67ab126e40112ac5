// One run (`pkiflow run`): claims every record with due work (a lease keeps a second run off
// them), reconciles what earlier runs left half-done (through each provider's create_or_get_csr
// and the journal), and moves each record as far as it can go: create/CSR, sign + validate,
// upload, confirm, retire. Records are worked concurrently, each through its own steps in order;
// every step is written through the Lifecycle (one transaction per transition).
//
// Dry run: the same walk on in-memory copies; requests go to the dry-run recorder, signing and
// validation happen, and nothing is written to the store.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/lifecycle.hpp"
#include "engine/local_keys.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/run/drift.hpp"
#include "engine/run/renewals.hpp"
#include "engine/signer.hpp"
#include "providers/provider.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

// What a run reports while it works (`--log-format json`, the progress line), on the I/O thread.
struct RunEvent {
  enum class Kind {
    claimed,     // the run knows its work: `total` records
    transition,  // a record moved `from` -> `to`
    settled,     // a record stopped for this run: `result`, `message`, `drift`
    renewal      // a renewal came due: `message` says what became of it
  };
  Kind kind = Kind::settled;
  std::string record_id;
  std::string name;
  state::RecordKind record_kind = state::RecordKind::gsa_tls_ca;
  std::optional<state::RecordState> from, to;
  std::string result;
  std::string message;
  std::string drift;
  std::size_t total = 0;
};
const char* to_string(RunEvent::Kind k);

struct RecordOutcome;

struct RunOptions {
  std::string actor = "pkiflow run";
  std::string run_id;  // in leases and logs; "" = one is made
  std::function<void(const RunEvent&)> on_event;
  // Each record's outcome as it settles, on the I/O thread. When set, the report keeps counts
  // only, so a run's memory stays flat however many records it works.
  std::function<void(const RecordOutcome&)> on_outcome;
  bool dry_run = false;
  // `pkiflow plan`: the dry run reads the tenant (the transport lets reads through), so steps
  // go as far as their first write.
  bool reads_tenant = false;
  std::size_t concurrency = 4;                    // records worked at once
  std::chrono::milliseconds poll_interval{5000};  // GET while waiting for "active"
  std::chrono::milliseconds confirm_wait{std::chrono::minutes(10)};  // per record and run
  // An upload the service has not put in force after this long fails the record.
  std::chrono::hours confirm_deadline{48};
  // Leases are short and renewed by a heartbeat while the run works, so a dead host's records
  // come free within minutes; a dead run of this host is taken over at once.
  std::chrono::seconds lease{120};
  // Records claimed at a time (0: twice `concurrency`, at least 8). Runs sharing a store take
  // the due records a batch at a time, each record by one run.
  std::size_t claim_batch = 0;
  std::chrono::milliseconds heartbeat{30'000};
  // SIGTERM and SIGINT stop the run gracefully (the CLI sets it; an embedding host may not).
  bool handle_signals = false;
  BackoffPolicy backoff;
  // Each active record's remote object is read back at most this often (drift, run/drift.hpp);
  // zero turns the checks off.
  std::chrono::seconds verify_interval = kDefaultVerifyInterval;
  // When the configuration last changed (its file's mtime): objects checked before it are
  // checked again, so an edited CRL URL or display name reaches the tenant on the next run.
  std::optional<TimePoint> config_changed_at;
  // run.deadline_seconds: at this time no new step starts and waits end (as on SIGTERM); the
  // Graph session cuts the requests in flight at the same time.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// What happened to one record in the run.
struct RecordOutcome {
  enum class Result { progressed, waiting, failed, unchanged, dry_run };
  std::string id;
  std::string name;
  state::RecordKind kind = state::RecordKind::gsa_tls_ca;
  state::RecordState from = state::RecordState::planned;
  state::RecordState to = state::RecordState::planned;
  Result result = Result::unchanged;
  std::string note;         // why it stopped where it did
  bool lease_lost = false;  // another run took the record mid-way: left to it
  std::string drift;        // a drift check found this condition (run/drift.hpp); "" none
  bool verified = false;    // a drift check read the remote object back in this run
};
const char* to_string(RecordOutcome::Result r);
// The outcome of `r` before anything happened to it.
RecordOutcome outcome_of(const state::Record& r, RecordOutcome::Result result,
                         std::string note = "");

// A due record this run left alone because a live run holds it.
struct SkippedRecord {
  std::string id;
  std::string owner;  // "host=… pid=… start=… run=…"
  TimePoint until;
};

struct RunReport {
  // Every record's outcome as it settled; empty when RunOptions::on_outcome took them.
  std::vector<RecordOutcome> records;
  std::size_t outcomes = 0;                // records settled (kept or not)
  std::array<std::size_t, 5> by_result{};  // by RecordOutcome::Result
  std::size_t drifted = 0;                 // outcomes whose drift check found a condition
  std::size_t not_read = 0;  // due records a stopped run never read (it reads a page at a time)
  std::vector<SkippedRecord> skipped_leased;  // due records another live run holds
  std::vector<PlannedRenewal> renewals;       // active records whose renewal came due
  std::size_t taken_over = 0;    // leases of dead runs of this host taken over at the start
  bool interrupted = false;      // SIGTERM/SIGINT (or request_stop) ended the run early
  bool deadline_passed = false;  // run.deadline_seconds ended it (interrupted is set too)
  std::size_t count(RecordOutcome::Result r) const;
  // Counts `o`, then hands it to `sink`, or keeps it in `records` when there is none.
  void add(RecordOutcome o, const std::function<void(const RecordOutcome&)>& sink);
};

// Where a record's provider and signer come from (the CLI builds them from the configuration).
struct RunWiring {
  // The provider for a record, held while the record's step uses it.
  std::function<Result<std::shared_ptr<providers::Provider>>(const state::Record&)> provider;
  // nullptr: the record names no signer (sign offline and import).
  std::function<Result<Signer*>(const state::Record&)> signer;
  std::shared_ptr<const pki::TrustStore> trust;  // anchors the chains must reach
  LocalKeys keys;         // where keys made on this host go (CBA CAs, code signing)
  RenewalSource renewal;  // each record's renewal policy; nullptr: no renewal on schedule
};

class Workflow {
 public:
  Workflow(state::StateStore& store, const Clock& clock, RunWiring wiring, RunOptions options);
  ~Workflow();
  // Runs the pass on `ioc` (which must also run the providers' transport) until every claimed
  // record has stopped. Errors are per record; the Result fails only when the run could not
  // start (the store refused the claim).
  Result<RunReport> run(boost::asio::io_context& ioc);

  // Cancels a record that never became active (or failed): deletes its remote object first, so
  // nothing half-done stays in the tenant, then retires it. Dry run: shows the DELETE only.
  // `keep_remote`: the remote object is left in the tenant (and the record retired all the
  // same); the same checks come first either way.
  Status cancel(boost::asio::io_context& ioc, const std::string& id, bool keep_remote = false);

  // Switches on a record's staged upload (GSA, `pkiflow enable ID`) and waits up to
  // confirm_wait for it to be in force; the outcome says where the record ended.
  Result<RecordOutcome> enable(boost::asio::io_context& ioc, const std::string& id);

  // Reads an active record's remote object back now and records what it found (`pkiflow
  // verify ID`); mutable fields that differ are reported, not changed (a run changes them).
  Result<RecordOutcome> verify(boost::asio::io_context& ioc, const std::string& id);

  // `pkiflow repair ID`: reads the object back, then acts on the drift found (repair_plan):
  // uploads the same certificate again, switches it on again, or plans a successor. The
  // outcome's note says what was done; a dry run shows the requests only.
  Result<RecordOutcome> repair(boost::asio::io_context& ioc, const std::string& id);

  // Asks a running run() to stop gracefully (thread-safe; what SIGTERM does).
  void request_stop();

  struct Impl;
  struct Pass;

 private:
  std::unique_ptr<Impl> impl_;
};

// Validates an issued certificate for a record before it may be stored as signed: the chain
// must build to an anchor in `trust`, the key must be the CSR's, and the endpoint's profile must
// hold. The error lists each failed rule.
Status validate_for_upload(const pki::Certificate& cert, const std::vector<pki::Certificate>& chain,
                           const std::optional<pki::Csr>& csr, const pki::SigningProfile& profile,
                           std::shared_ptr<const pki::TrustStore> trust, pki::TimePoint now,
                           const std::string& subject);

}  // namespace pkiflow::engine

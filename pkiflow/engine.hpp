// pkiflow's lifecycle for the programs that embed it: a provisioning service, a portal, an
// automation module. An Engine is opened on a configuration and a state store and does what
// the `pkiflow` verbs of the same names do: the command line itself is built on the same code
// (engine/api/), so the two cannot drift apart.
//
// Only the standard library and pkiflow's Result/Error (engine/pki/result.hpp) appear here: no
// Boost, Asio, Botan or SQLite type. Values are plain structs; each record also carries its
// `pkiflow status --json` object as text.
//
// Errors: every call returns a Result; its Error names the file, field, record or service and
// what is wrong (Error::kind() says which family: invalid_input, io, busy, auth, ...). Nothing
// throws across this API.
//
// Threads: an Engine is used by one thread at a time (calls on one Engine are not concurrent).
// Several Engines, in one process or several, may share a store: records are leased, as with
// several `pkiflow run` processes. CancelToken::cancel may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow {

// Where an Engine finds its configuration and its records.
struct EngineOptions {
  // The configuration file (pkiflow.json); relative paths in it are as the file gives them.
  std::string config_file;
  // Or the configuration as JSON text (config_file empty). `config_name` names it in errors,
  // and relative paths in it are taken from its directory (the current one when it has none).
  std::string config_json;
  std::string config_name = "configuration";
  // With neither of those: look for the configuration as the command line does
  // ($PKIFLOW_CONFIG, else ./pkiflow.json); without this, or when there is none, the Engine has
  // no configuration (no tenants; request() still takes entries that need none).
  bool find_config = false;
  // The state store ("sqlite:///path", "postgresql://…"); empty: the configuration's
  // state_url, else the default file ($XDG_STATE_HOME/pkiflow/state.db).
  std::string state_url;
  // Read secret files that group or others can access (the CLI's
  // --allow-insecure-permissions); otherwise such a file is refused when the Engine opens, and
  // warnings() names each one read anyway.
  bool allow_insecure_permissions = false;
  // Who the records' history names for what this Engine does ("provisioning-portal: alice");
  // empty: "embedded:HOST pid N".
  std::string actor;
};

// One record, as `pkiflow status --json` shows it.
struct RecordInfo {
  std::string id;
  std::string kind;    // "gsa-tls-ca", "cba-ca", "intune-codesigning"
  std::string name;    // the configuration entry's name
  std::string tenant;  // the configuration's tenant name
  std::string state;   // "planned", "csrGenerated", "signed", "uploaded", "active", ...
  std::string remote_id;
  std::string remote_status;
  std::string not_after;  // RFC 3339, empty until signed
  std::string last_error;
  int attempts = 0;
  std::string next_attempt_at;  // RFC 3339: a failed step is tried again from then; empty: now
  std::string drift;            // empty: none found
  // An active record: when the configuration's renewal policy renews it, and why then.
  std::string renew_at, renew_reason;
  // Why it waits, for people: its last error, a drift note, or the offline signature it needs.
  std::string note;
  // show() only (status() leaves them empty): the CSR, certificate and chain as PEM, and the
  // file of a key made on this host (encrypted, 0600; the key itself never leaves that file).
  std::string csr_pem, certificate_pem, chain_pem, key_path;
  // The whole object, as `pkiflow status --json` prints it; from show(), as `pkiflow show --json`
  // does (with the PEMs and the CSR's key).
  std::string json;
};

// Which records status() lists (`pkiflow status --state --kind --expiring-within --all`).
struct StatusFilter {
  std::string state;  // only this state ("planned", "active", ...); empty: any
  std::string kind;   // only this kind ("gsa-tls-ca", "cba-ca", "intune-codesigning"); empty: any
  // Only certificates that expire before this time.
  std::optional<std::chrono::system_clock::time_point> expiring_before;
  bool include_retired = false;  // retired records are history: listed with this, or state
};

// One transition in a record's history (`pkiflow history ID --json`).
struct HistoryItem {
  std::int64_t seq = 0;
  std::string from;  // empty for the record's first entry
  std::string to;
  std::string at;  // RFC 3339
  std::string reason;
  std::string actor;
  std::string details_json = "{}";  // what the transition recorded besides its reason
};

// What request decided for one certificate entry (`pkiflow request --json`).
struct RequestResult {
  std::string id;
  std::string name;
  bool created = false;  // false: a live record of this certificate exists (it is reported)
  std::string state;
  std::vector<std::string> profile_changes;  // how the entry differs from that record
};

// A successor planned by renew(): the record, and how the configuration now differs from the
// record it renews (its subject, key, validity, ...; empty when nothing does).
struct Renewed {
  RecordInfo successor;
  std::vector<std::string> profile_changes;
};

// A record settled by a run: where it started, where it is now and why.
struct Transition {
  std::string record_id;
  std::string name;
  std::string kind;
  std::string from;
  std::string to;
  std::string result;     // "progressed", "unchanged", "waiting", "failed", "dry-run"
  std::string message;    // the reason, the wait or the error
  std::string drift;      // a drift check found this condition ("" none): see `pkiflow repair`
  bool verified = false;  // its remote object was read back in this call or run
};

// What verify_all() found.
struct VerifyResult {
  std::vector<std::string> ids;     // the active records it read back
  std::vector<Transition> records;  // Transition::drift says what differs ("" nothing)
  std::vector<Error> errors;        // records it could not read back (named in each)
};

// How an operator's action on one record (cancel, enable, verify, repair) goes.
struct ActionOptions {
  // Send and store nothing: each request it would send goes to on_dry_run_request (one JSON
  // object per line, secrets redacted). An action that stops at a write returns an Error of
  // kind not_sent once the write has been shown; one that needs no write returns as usual.
  bool dry_run = false;
  std::function<void(const std::string&)> on_dry_run_request;
  // Each Graph attempt as it is made, one line, redacted (the CLI's -v).
  std::function<void(const std::string&)> on_request;
  // enable: how long to wait for the service to put it in force; negative: the configuration's
  // run.confirm_wait_seconds.
  std::chrono::seconds wait{-1};
};

// Stops a run from another thread: no new step starts, the steps in flight finish, leases are
// released; the run returns with `interrupted` set. Copies share one state.
class CancelToken {
 public:
  CancelToken();
  void cancel() const;  // any thread, any number of times
  bool cancelled() const;

 private:
  friend class Engine;
  struct State;
  std::shared_ptr<State> state_;
};

// Something a run did, as it happened (`pkiflow run --log-format json` prints each).
struct RunEvent {
  enum class Type {
    claimed,     // the run knows its work: `total` records, `concurrency` at a time
    transition,  // a record moved `from` -> `to`
    settled,     // a record stopped for this run: `result`, `message`, `drift`
    renewal      // a renewal came due: `message` says what became of it
  };
  Type type = Type::settled;
  std::string record_id;  // empty for `claimed`
  std::string name;
  std::string kind;  // the record's kind
  std::string from, to;
  std::string result;  // as Transition::result
  std::string message;
  std::string drift;
  std::size_t total = 0, concurrency = 0;
};

struct RunOptions {
  bool dry_run = false;         // nothing is sent or written (the store is only read, and not
                                // created); each record's first request is in RunResult::requests
  bool plan = false;            // a dry run that reads the tenant (`pkiflow plan`)
  std::size_t concurrency = 0;  // records worked at once (1-256); 0: the configuration's
  // The run stops starting steps after this long (and cuts requests in flight); 0: the
  // configuration's run.deadline_seconds.
  std::chrono::seconds deadline{0};
  // Between GETs while waiting for a record to become active (10 ms-10 min), and how long this
  // run waits for that (0-24 h); unset: the configuration's run.poll_interval_ms and
  // run.confirm_wait_seconds. invalid_input outside those bounds.
  std::optional<std::chrono::milliseconds> poll_interval;
  std::optional<std::chrono::seconds> confirm_wait;
  CancelToken cancel;
  // Names the run in leases, history and events; empty: one is made (RunResult::run_id).
  std::string run_id;
  // All on the thread that called run() (the run works there):
  // each record as it settles;
  std::function<void(const Transition&)> on_transition;
  // what the run does as it happens (claims, transitions, settlements, renewals);
  std::function<void(const RunEvent&)> on_event;
  // each Graph attempt, one line, redacted (the CLI's -v);
  std::function<void(const std::string&)> on_request;
  // dry run: each request it would send, one JSON line (else they are kept in
  // RunResult::requests).
  std::function<void(const std::string&)> on_dry_run_request;
  // false: the settled records reach on_transition only and RunResult::records stays empty, so
  // memory stays flat however many records the run works (the counts are whole either way).
  bool keep_records = true;
  // SIGTERM and SIGINT stop the run as cancel() does: for a program that leaves its signals to
  // pkiflow (the CLI). Off by default: a host program's signals are its own.
  bool handle_signals = false;
  // After a run that is not a dry run, a Prometheus textfile is written here (0644, atomically):
  // records, expiry and renewal times, the run's figures. See RunResult::metrics_error.
  std::string metrics_file;
};

// An active record whose renewal came due in a run.
struct DueRenewal {
  std::string id, name;
  std::string successor;  // the record planned to replace it; empty: none (see window, error)
  std::string due;        // RFC 3339
  std::string reason;     // why then (the policy's rule)
  std::string window;     // it waits for this renewal window
  std::string error;      // why no successor could be planned
};

// A due record left alone because another live run holds it.
struct HeldRecord {
  std::string id;
  std::string owner;  // "host=… pid=… start=… run=…"
  std::string until;  // RFC 3339: its lease ends then unless that run renews it
};

// What a run did (`pkiflow run --json`, counts and records).
struct RunResult {
  std::string run_id;
  std::vector<Transition> records;  // empty with RunOptions::keep_records false
  std::size_t settled = 0;          // records settled (kept or not)
  std::size_t progressed = 0, unchanged = 0, waiting = 0, failed = 0;
  std::size_t stopped_at_request = 0;  // dry run: records that stopped at their first write
  bool interrupted = false;            // cancelled, a signal, or its deadline passed
  bool deadline_passed = false;
  std::chrono::seconds deadline{0};   // the deadline this run had (0: none)
  bool drift = false;                 // a live object differs from its record (`pkiflow repair`)
  std::vector<RecordInfo> drifted;    // the active records that do (not in a dry run)
  std::size_t held_elsewhere = 0;     // due records another live run holds
  std::vector<HeldRecord> held;       // which, and by whom
  std::vector<DueRenewal> renewals;   // renewals that came due
  std::size_t taken_over = 0;         // leases of dead runs of this host taken over
  std::size_t not_read = 0;           // due records a stopped run never read
  std::vector<std::string> requests;  // dry run: the requests it would send, one JSON each
  // The metrics file could not be written (the run itself went through).
  std::optional<Error> metrics_error;
  // As `pkiflow run` exits: 0, 5 records failed, 7 interrupted, 8 held by another run, 9 drift.
  int exit_code = 0;
};

// A certificate and its chain checked before upload (`pkiflow validate`).
struct ValidateRequest {
  std::string certificate_pem;  // PEM (or DER) of the certificate
  std::string chain_pem;        // the other certificates, any order
  std::string csr_pem;          // the CSR it answers, if any
  // The endpoint's rules: "tls-inspection-ca", "cba-ca", "code-signing", "root-ca"; empty: none.
  std::string profile;
  // Trust anchors: a PEM file, a directory or "system"; empty: the configuration's
  // trust_anchors.
  std::string trust;
  std::vector<std::string> crl_pem;  // CRLs to check revocation against (PEM or DER each)
  std::optional<std::chrono::system_clock::time_point> at;  // unset: now
  int min_remaining_days = 30;  // warn when the certificate expires sooner
  // As `pkiflow validate`'s options of the same names (empty/unset: the profile's demands).
  std::string crl_check;               // none, leaf or all
  std::string purpose;                 // serverAuth, clientAuth, codeSigning or any
  std::vector<std::string> eku;        // dotted OIDs or EKU names it must allow
  std::optional<long long> max_depth;  // intermediates between it and the anchor, 0..64
  std::vector<std::string> policies;   // acceptable policy OIDs (default anyPolicy)
  bool require_explicit_policy = false;
  bool inhibit_policy_mapping = false;
  bool inhibit_any_policy = false;
  bool lenient = false;  // RFC 5280 section 4 profile rules warn instead of fail
};

struct ValidationResult {
  bool valid = false;
  std::string json;  // the report, as `pkiflow validate --json` prints it
  std::string text;  // the report for people, as `pkiflow validate` prints it
};

class Engine {
 public:
  // Reads and checks the configuration (as `pkiflow config check` does) and opens the store.
  // Errors: the configuration's (invalid_input, io, parse), the store's (io, busy).
  static Result<Engine> open(const EngineOptions& options);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  // Plans a record for every certificate of the configuration that has no live record
  // (`pkiflow request --from-config`).
  Result<std::vector<RequestResult>> request_configured();
  // Plans one certificate, given as a JSON object like an entry of "certificates" in the
  // configuration (`pkiflow request --kind …`). `from` names where it came from, in errors and
  // in the record's history.
  Result<RequestResult> request(const std::string& certificate_json,
                                const std::string& from = "the embedding API");

  // What the host should log: the configuration's notices (deprecated keys, ...), and the
  // secret files read in spite of their permissions (allow_insecure_permissions).
  const std::vector<std::string>& notices() const;
  const std::vector<std::string>& warnings() const;

  // Records, as the filter says (`pkiflow status`). invalid_input: an unknown state or kind.
  Result<std::vector<RecordInfo>> status(const StatusFilter& filter = {});
  // One record whole, with its PEMs (`pkiflow show ID`); invalid_input when there is no such
  // record.
  Result<RecordInfo> show(const std::string& id);
  // Its transitions, oldest first (`pkiflow history ID`).
  Result<std::vector<HistoryItem>> history(const std::string& id);

  // Plans a successor of an active record now (`pkiflow renew ID`), with the configuration as it
  // is now; the next run() brings it to active and retires this one.
  Result<Renewed> renew(const std::string& id);
  // Sends a failed record back to the state it failed in (`pkiflow retry ID`).
  Result<RecordInfo> retry(const std::string& id);
  // Retires a record (`pkiflow cancel ID`): the remote object pkiflow made for it is deleted
  // first (never one it cannot prove it made), unless `keep_remote`. busy: a live run holds it.
  Result<RecordInfo> cancel(const std::string& id, bool keep_remote = false,
                            const ActionOptions& options = {});
  // Switches on an upload the service holds staged (`pkiflow enable ID`), and waits for it to
  // be in force as a run would.
  Result<Transition> enable(const std::string& id, const ActionOptions& options = {});
  // Reads an active record's remote object back (`pkiflow verify ID`); Transition::drift says
  // what differs from the record, "" when nothing does.
  Result<Transition> verify(const std::string& id, const ActionOptions& options = {});
  // Reads every active record's remote object back (`pkiflow verify`), one session for all;
  // a record that could not be read is in `errors` and the others go on. Dry run: the GETs are
  // shown and `records` stays empty.
  Result<VerifyResult> verify_all(const ActionOptions& options = {});
  // Puts a drifted record right (`pkiflow repair ID`): uploads again, switches on again, or
  // plans a renewal, as its drift needs.
  Result<Transition> repair(const std::string& id, const ActionOptions& options = {});

  // Checks a certificate and its chain as an upload would be checked (`pkiflow validate`):
  // RFC 5280 path validation to the anchors and the endpoint's profile. invalid_input, parse:
  // an unusable input (named); a certificate that fails a rule is a result with valid false.
  Result<ValidationResult> validate(const ValidateRequest& request);

  // Moves every due record as far as it can go now (`pkiflow run`): on the calling thread, which
  // it holds until the run ends. Errors only when no run happened (the store could not be
  // read, a signer or the keys' passphrase is missing); records that fail are in the result.
  Result<RunResult> run(const RunOptions& options = {});

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkiflow

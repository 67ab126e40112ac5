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
  // The state store ("sqlite:///path", "postgresql://…"); empty: the configuration's
  // state_url, else the default file ($XDG_STATE_HOME/pkiflow/state.db).
  std::string state_url;
  // Read secret files that group or others can access (the CLI's
  // --allow-insecure-permissions); otherwise such a file is refused when the Engine opens.
  bool allow_insecure_permissions = false;
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
  std::string drift;  // empty: none found
  std::string json;   // the whole object, as `pkiflow status --json` prints it
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

// A record settled by a run: where it started, where it is now and why.
struct Transition {
  std::string record_id;
  std::string name;
  std::string kind;
  std::string from;
  std::string to;
  std::string result;   // "progressed", "unchanged", "waiting", "failed", "dry-run"
  std::string message;  // the reason, the wait or the error
  std::string drift;    // a drift check found this condition ("" none): see `pkiflow repair`
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

struct RunOptions {
  bool dry_run = false;         // nothing is sent or written (the store is only read, and not
                                // created); each record's first request is in RunResult::requests
  bool plan = false;            // a dry run that reads the tenant (`pkiflow plan`)
  std::size_t concurrency = 0;  // records worked at once; 0: the configuration's run.concurrency
  // The run stops starting steps after this long (and cuts requests in flight); 0: the
  // configuration's run.deadline_seconds.
  std::chrono::seconds deadline{0};
  CancelToken cancel;
  // Each record as it settles, on the thread that called run() (the run works there).
  std::function<void(const Transition&)> on_transition;
};

// What a run did (`pkiflow run --json`, counts and records).
struct RunResult {
  std::vector<Transition> records;
  std::size_t progressed = 0, unchanged = 0, waiting = 0, failed = 0;
  bool interrupted = false;  // cancelled, or its deadline passed
  bool deadline_passed = false;
  bool drift = false;                 // a live object differs from its record (`pkiflow repair`)
  std::size_t held_elsewhere = 0;     // due records another live run holds
  std::vector<std::string> requests;  // dry run: the requests it would send, one JSON each
  // As `pkiflow run` exits: 0, 5 records failed, 7 interrupted, 8 held by another run, 9 drift.
  int exit_code = 0;
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
  // configuration (`pkiflow request --kind …`).
  Result<RequestResult> request(const std::string& certificate_json);

  // Records, retired ones only with `include_retired` (`pkiflow status`).
  Result<std::vector<RecordInfo>> status(bool include_retired = false);
  // One record (`pkiflow show ID`); invalid_input when there is no such record.
  Result<RecordInfo> show(const std::string& id);
  // Its transitions, oldest first (`pkiflow history ID`).
  Result<std::vector<HistoryItem>> history(const std::string& id);

  // Plans a successor of an active record now (`pkiflow renew ID`), with the configuration as it
  // is now; the next run() brings it to active and retires this one. Returns the successor.
  Result<RecordInfo> renew(const std::string& id);
  // Sends a failed record back to the state it failed in (`pkiflow retry ID`).
  Result<RecordInfo> retry(const std::string& id);
  // Retires a record (`pkiflow cancel ID`): the remote object pkiflow made for it is deleted
  // first (never one it cannot prove it made), unless `keep_remote`. busy: a live run holds it.
  Result<RecordInfo> cancel(const std::string& id, bool keep_remote = false);
  // Switches on an upload the service holds staged (`pkiflow enable ID`), and waits for it to
  // be in force as a run would.
  Result<Transition> enable(const std::string& id);
  // Reads an active record's remote object back (`pkiflow verify ID`); Transition::drift says
  // what differs from the record, "" when nothing does.
  Result<Transition> verify(const std::string& id);

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

// StateStore: the interface every backend implements (SQLite now, PostgreSQL later). Writes
// are atomic; a record write checks the version it was read at (optimistic concurrency) and
// appends its history row in the same transaction.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/passphrase.hpp"
#include "engine/pki/result.hpp"
#include "state/record.hpp"

namespace pkiflow::state {

// A record write together with the history row that explains it.
struct RecordWrite {
  Record record;  // the new content; record.version = the version it was read at
  // from/to/reason/actor/details; record_id and seq are filled in. Only bookkeeping that
  // changes nothing an operator reads in history goes without one (a drift check that found
  // what the last one found: its time).
  std::optional<HistoryEntry> history;
};

struct RecordFilter {
  std::optional<RecordState> state;
  std::optional<RecordKind> kind;
  std::optional<TimePoint> expiring_before;  // not_after < this
  std::string tenant;                        // "" = any
  std::string remote_id;                     // "" = any
  std::size_t limit = 0;                     // 0 = no limit
};

// A record held by a run until `expires_at`.
struct Lease {
  std::string record_id;
  std::string owner;
  TimePoint expires_at;
};

// How much a store holds (`pkiflow state migrate` checks the copy against it).
struct StoreCounts {
  std::size_t records = 0;
  std::size_t history = 0;
  std::size_t journal = 0;
  bool operator==(const StoreCounts&) const = default;
};

// Rows copied into a store as they are (`pkiflow state migrate`), in one transaction: nothing is
// kept unless commit() succeeds. Records keep their version and every field but their lease;
// history rows are appended in the order given (the target numbers them anew); journal entries
// keep their ids. Records may name each other (renews, superseded_by) in any order: the links
// are checked at commit. An id the target already holds is refused, by name.
class StoreImport {
 public:
  virtual ~StoreImport() = default;
  virtual Status add_records(const std::vector<Record>& records) = 0;
  virtual Status add_history(const std::vector<HistoryEntry>& rows) = 0;
  virtual Status add_journal(const std::vector<Operation>& ops) = 0;
  virtual Status commit() = 0;
};

// Why a write was refused: someone else wrote the record first, or it does not exist.
inline constexpr const char* kVersionConflict = "version conflict";

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Inserts a new record (version 1) and its creation history row.
  // A record whose `renews` is set is created only while the record it renews is active and no
  // other live record renews it, decided in the same transaction as the insert.
  virtual Result<Record> create(const Record& record, const HistoryEntry& history) = 0;
  virtual Result<std::optional<Record>> get(const std::string& id) = 0;
  virtual Result<std::vector<Record>> list(const RecordFilter& filter) = 0;
  // Applies writes in one transaction; each must match the stored version, else nothing is
  // written and the error says kVersionConflict and names the record.
  virtual Result<std::vector<Record>> apply(const std::vector<RecordWrite>& writes) = 0;
  virtual Result<std::vector<HistoryEntry>> history(const std::string& record_id) = 0;

  // Operation journal.
  virtual Status journal_begin(const Operation& op) = 0;
  virtual Status journal_update(const std::string& op_id, OperationState state,
                                const std::string& response_summary, TimePoint at) = 0;
  virtual Result<std::vector<Operation>> journal_open() = 0;  // pending or sent
  virtual Result<std::vector<Operation>> journal_of(const std::string& record_id) = 0;

  // Leases: a run claims due records so no other run works on them until `until`.
  // Claims records whose next_attempt_at <= now (or unset), in one of `states`, not leased by
  // another owner (or whose lease expired).
  virtual Result<std::vector<Record>> claim_due(const std::string& owner, TimePoint now,
                                                TimePoint until,
                                                const std::vector<RecordState>& states,
                                                std::size_t limit) = 0;
  // Claims those of `ids` that are due (next_attempt_at <= now, or unset) and not leased by
  // another owner (or whose lease expired), in whatever state they are now: a run takes its due
  // records a batch at a time, so several runs share them. Another worker claiming at the same
  // moment gets none of the same records.
  virtual Result<std::vector<Record>> claim_ids(const std::string& owner,
                                                const std::vector<std::string>& ids, TimePoint now,
                                                TimePoint until) = 0;
  // What a run has to do, a page at a time in id order after `after_id` ("" from the start), so
  // that it never holds more than a page however many records there are: the records in one of
  // `states` whose next attempt is due at `now` (or unset), leased or not (claiming decides).
  // An active record that a live successor (planned .. uploaded) renews is left out: that
  // successor is its renewal, and a drift check meanwhile would race it.
  virtual Result<std::vector<Record>> due_page(const std::vector<RecordState>& states,
                                               TimePoint now, const std::string& after_id,
                                               std::size_t limit) = 0;
  virtual Status release(const std::string& owner, const std::vector<std::string>& ids) = 0;
  virtual Result<std::optional<std::string>> lease_owner(const std::string& id, TimePoint now) = 0;
  // Every lease in force at `now` (the engine decides which owners are dead).
  virtual Result<std::vector<Lease>> leases(TimePoint now) = 0;
  // Drops every lease `owner` holds (an owner proven dead); returns how many.
  virtual Result<std::size_t> break_leases(const std::string& owner) = 0;
  // Extends to `until` the leases of `ids` that `owner` still holds; returns those ids (a
  // record missing from the answer was taken by another run, which now owns it).
  virtual Result<std::vector<std::string>> renew_leases(const std::string& owner,
                                                        const std::vector<std::string>& ids,
                                                        TimePoint until) = 0;

  // Throttling shared by the runs of a fleet: when Graph tells one run to wait (429 with
  // Retry-After) for a tenant, the others wait for that tenant too. `throttle` keeps the later
  // of the stored time and `not_before`; `not_before` answers the time still in force at `now`.
  virtual Status throttle(const std::string& tenant, TimePoint not_before, TimePoint now) = 0;
  virtual Result<std::optional<TimePoint>> not_before(const std::string& tenant, TimePoint now) = 0;

  // Copying a whole store, page by page so memory stays bounded (`pkiflow state migrate`).
  virtual Result<StoreCounts> counts() = 0;
  // Records in id order after `after_id` ("" from the start), at most `limit`.
  virtual Result<std::vector<Record>> records_page(const std::string& after_id,
                                                   std::size_t limit) = 0;
  // History rows in the order they were written, after the row numbered `after_seq`.
  virtual Result<std::vector<HistoryEntry>> history_page(std::int64_t after_seq,
                                                         std::size_t limit) = 0;
  // Journal entries in op_id order after `after_op_id`.
  virtual Result<std::vector<Operation>> journal_page(const std::string& after_op_id,
                                                      std::size_t limit) = 0;
  // Starts an import; the store is not used otherwise until it is committed or dropped.
  virtual Result<std::unique_ptr<StoreImport>> begin_import() = 0;

  // Group commit for a run (engine/run/durability.hpp): from now on the store's writes may wait
  // in one open transaction, and a commit does not wait for the disk, until the run asks:
  // `commit` (on the thread that uses the store) commits what waits, and `sync` (from any
  // thread, while the store is in use) makes every commit so far durable. Each write is still
  // atomic on its own, and one that fails is undone alone. Until committed, other processes
  // see none of the group, and wait (busy timeout) to write; a crash loses it, as a power cut
  // loses what was committed but not synced. The run commits at least every few milliseconds
  // and before every request with an effect. nullopt: every commit stays durable on its own
  // (the default; PostgreSQL, whose server groups concurrent commits itself).
  struct GroupCommit {
    std::function<Status()> commit;
    std::function<Status()> sync;
  };
  virtual std::optional<GroupCommit> defer_sync() { return std::nullopt; }
  // Every write committed and durable on its own again, after a last commit and sync.
  virtual Status end_deferred_sync() { return Ok{}; }
};

// Opens the store named by a URL:
// - "sqlite:///absolute/path.db", "sqlite://relative.db" or a plain path: the embedded store;
// - "postgresql://…" or "postgres://…" (libpq's URL: user, host, port, database, sslmode=…):
//   PostgreSQL, for several workers. The password comes from `password` (the config's
//   state_password_file) when given, else from libpq's own PGPASSWORD or PGPASSFILE.
// read_only: for the verbs that only read (status, show, history): an absent store is an error
// rather than created, nothing is written (a read-only directory is fine), and a store of an
// older schema is read as it is only if no migration is due.
enum class OpenMode { read_write, read_only };
Result<std::unique_ptr<StateStore>> open_store(const std::string& url,
                                               OpenMode mode = OpenMode::read_write,
                                               const pki::Passphrase* password = nullptr);

// Every record of `store`, handed to `visit` in id order, read `page` at a time (StateStore::
// records_page): a pass over 10,000 records holds one page.
Status for_each_record(StateStore& store, const std::function<void(const Record&)>& visit,
                       std::size_t page = 500);

bool is_postgres_url(const std::string& url);
// The URL as it may be shown: a password in it (postgresql://user:secret@host/db or
// ?password=secret) replaced by "***". Every message that names a store uses this form.
std::string redact_url(const std::string& url);

}  // namespace pkiflow::state

// The embedded SQLite state store (the default, `sqlite:///path/state.db`).
//
// Durability: WAL with synchronous=FULL. A transition often records a remote side effect (the
// id of an object just created in the tenant); with synchronous=NORMAL a power loss could drop
// the last commits and the next run would create that object again. FULL syncs the WAL on
// every commit, which batching (apply() with many writes) amortises.
#pragma once

#include <memory>
#include <string>

#include "state/store.hpp"

namespace pkiflow::state {

class SqliteStore final : public StateStore {
 public:
  // Opens or creates the database. An existing file that is not a pkiflow database (another
  // format, another application's SQLite file, a newer schema) is refused and left untouched.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   OpenMode mode = OpenMode::read_write);
  ~SqliteStore() override;

  Result<Record> create(const Record& record, const HistoryEntry& history) override;
  Result<std::optional<Record>> get(const std::string& id) override;
  Result<std::vector<Record>> list(const RecordFilter& filter) override;
  Result<std::vector<Record>> apply(const std::vector<RecordWrite>& writes) override;
  Result<std::vector<HistoryEntry>> history(const std::string& record_id) override;
  Status journal_begin(const Operation& op) override;
  Status journal_update(const std::string& op_id, OperationState state,
                        const std::string& response_summary, TimePoint at) override;
  Result<std::vector<Operation>> journal_open() override;
  Result<std::vector<Operation>> journal_of(const std::string& record_id) override;
  Result<std::vector<Record>> claim_due(const std::string& owner, TimePoint now, TimePoint until,
                                        const std::vector<RecordState>& states,
                                        std::size_t limit) override;
  Result<std::vector<Record>> claim_ids(const std::string& owner,
                                        const std::vector<std::string>& ids, TimePoint now,
                                        TimePoint until) override;
  Result<std::vector<Record>> due_page(const std::vector<RecordState>& states, TimePoint now,
                                       const std::string& after_id, std::size_t limit) override;
  Status release(const std::string& owner, const std::vector<std::string>& ids) override;
  Result<std::optional<std::string>> lease_owner(const std::string& id, TimePoint now) override;
  Result<std::vector<Lease>> leases(TimePoint now) override;
  Result<std::size_t> break_leases(const std::string& owner) override;
  Result<std::vector<std::string>> renew_leases(const std::string& owner,
                                                const std::vector<std::string>& ids,
                                                TimePoint until) override;
  Status throttle(const std::string& tenant, TimePoint not_before, TimePoint now) override;
  Result<std::optional<TimePoint>> not_before(const std::string& tenant, TimePoint now) override;
  Result<StoreCounts> counts() override;
  Result<std::vector<Record>> records_page(const std::string& after_id, std::size_t limit) override;
  Result<std::vector<HistoryEntry>> history_page(std::int64_t after_seq,
                                                 std::size_t limit) override;
  Result<std::vector<Operation>> journal_page(const std::string& after_op_id,
                                              std::size_t limit) override;
  Result<std::unique_ptr<StoreImport>> begin_import() override;
  // The writes join one transaction until `commit` (sqlite::Db's group; SAVEPOINT per write),
  // synchronous=NORMAL, and a sync that fdatasyncs the write-ahead log: in WAL mode the log is
  // synced before every checkpoint and the database after it, so the commits not yet on disk
  // are the log's frames since, and syncing the log makes them durable as FULL would have.
  // One commit for the writes of many steps writes each page they share once, not once per
  // write: the log's frames, and the engine's CPU per record, fall by half.
  std::optional<GroupCommit> defer_sync() override;
  Status end_deferred_sync() override;

  // For tests and `pkiflow doctor`: PRAGMA integrity_check says "ok".
  Result<bool> integrity_ok();
  Result<int> schema_version();

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates a database at schema version `version` (tests of forward migrations).
Status create_sqlite_at_version(const std::string& path, int version);

}  // namespace pkiflow::state

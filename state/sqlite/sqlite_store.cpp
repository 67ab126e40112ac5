#include "state/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "state/sql/record_codec.hpp"
#include "state/sql/schema.hpp"
#include "state/sqlite/sqlite_db.hpp"

namespace pkiflow::state {

using sql::from_millis;
using sql::kOperationColumns;
using sql::millis;
using sql::read_operation;
using sql::read_record;
using sql::to_millis;
using sqlite::Db;
using sqlite::Stmt;
using sqlite::WriteTransaction;

namespace {

constexpr int kBusyTimeoutMs = 10'000;

// States bound as one JSON array (json_each), never spliced into the SQL.
std::string states_json(const std::vector<RecordState>& states) {
  std::string out = "[";
  for (std::size_t i = 0; i < states.size(); ++i)
    out += (i ? ",\"" : "\"") + std::string(to_string(states[i])) + "\"";
  return out + "]";
}

// Every row `st` answers, as records; `what` names the read in an error.
Result<std::vector<Record>> read_records(Db& db, Stmt& st, const std::string& what) {
  std::vector<Record> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(read_record(st));
  if (rc != SQLITE_DONE) return db.error(what);
  return out;
}

// An existing non-empty file must start with the SQLite header before SQLite may touch it.
Status check_header(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Ok{};
  if (std::filesystem::is_directory(path, ec))
    return Error(ErrorKind::invalid_input, path, "is a directory, not a state database");
  if (std::filesystem::file_size(path, ec) == 0) return Ok{};
  char header[16] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(header, sizeof header);
  if (in.gcount() != 16 || std::memcmp(header, "SQLite format 3", 16) != 0)
    return Error(ErrorKind::invalid_input, path,
                 "is not a pkiflow state database (not an SQLite file); refusing to touch it");
  return Ok{};
}

constexpr const char* kInsertHistory =
    "INSERT INTO history (record_id, from_state, to_state, at, reason, actor, details) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";

// Appends one history row with `st`, a prepared kInsertHistory (reset here for the next use).
Status insert_history(Db& db, Stmt& st, const std::string& record_id, const HistoryEntry& h) {
  sql::bind_history(st, record_id, h);
  const int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return db.error("cannot append history of " + record_id);
  return Ok{};
}

}  // namespace

struct SqliteStore::Impl {
  Db db;

  Status migrate() {
    auto app = db.pragma_int("application_id");
    auto version = db.pragma_int("user_version");
    if (!app) return app.error();
    if (!version) return version.error();
    if (*app != sql::kApplicationId) {
      Stmt tables(db, "SELECT count(*) FROM sqlite_master");
      if (!tables.ok() || tables.step() != SQLITE_ROW) return db.error("cannot read the schema");
      if (tables.integer(0) != 0 || *app != 0)
        return Error(ErrorKind::invalid_input, db.path(),
                     "is an SQLite database of another application, not a pkiflow state "
                     "database; refusing to touch it");
    }
    if (*version > sql::kCurrentVersion)
      return Error(ErrorKind::invalid_input, db.path(),
                   "schema version " + std::to_string(*version) + " is newer than this pkiflow (" +
                       std::to_string(sql::kCurrentVersion) + "); upgrade pkiflow");
    if (*version == sql::kCurrentVersion) return Ok{};
    return migrate_to(sql::kCurrentVersion, static_cast<int>(*version));
  }

  Status migrate_to(int target, int from) {
    WriteTransaction tx(db);
    if (auto st = tx.begin(); !st) return st;
    for (int v = from + 1; v <= target; ++v)
      if (auto st = db.exec(sql::migrations()[static_cast<size_t>(v - 1)]); !st)
        return st.error().about(db.path() + " (migration to schema " + std::to_string(v) + ")");
    // PRAGMA values cannot be bound; both are integers formatted here, never user data.
    if (auto st = db.exec("PRAGMA application_id = " + std::to_string(sql::kApplicationId)); !st)
      return st;
    if (auto st = db.exec("PRAGMA user_version = " + std::to_string(target)); !st) return st;
    return tx.commit();
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, OpenMode mode) {
  if (auto st = check_header(path); !st) return st.error();
  if (mode == OpenMode::read_only) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return Error(ErrorKind::invalid_input, path,
                   "no state store here: nothing was requested with this state_url yet "
                   "(`pkiflow request` creates it); check --state-url or state_url");
    auto impl = std::make_unique<Impl>();
    if (auto st = impl->db.open(path, true, kBusyTimeoutMs); !st) return st.error();
    auto app = impl->db.pragma_int("application_id");
    auto version = impl->db.pragma_int("user_version");
    if (!app) return app.error();
    if (!version) return version.error();
    if (*app != sql::kApplicationId)
      return Error(ErrorKind::invalid_input, path,
                   "is not a pkiflow state database (another application's SQLite file)");
    if (*version != sql::kCurrentVersion)
      return Error(ErrorKind::invalid_input, path,
                   "has schema version " + std::to_string(*version) + "; this pkiflow reads " +
                       std::to_string(sql::kCurrentVersion) +
                       (*version < sql::kCurrentVersion
                            ? ": run a verb that writes (pkiflow run) once to upgrade it"
                            : ": upgrade pkiflow"));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  }
  // A new database is created 0600 (SQLite gives its -wal and -shm files the same mode): it
  // holds no secret, but it does tell which tenants and CAs this host manages.
  if (int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0)
    ::close(fd);
  auto impl = std::make_unique<Impl>();
  if (auto st = impl->db.open(path, false, kBusyTimeoutMs); !st) return st.error();
  // Validate before anything that writes (journal_mode=WAL rewrites the header).
  if (auto st = impl->migrate(); !st) return st.error();
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"})
    if (auto st = impl->db.exec(pragma); !st) return st.error();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

namespace {

// fdatasync of the write-ahead log `wal` (from any thread).
Status sync_log(const std::string& wal) {
  const int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Ok{};  // no log: nothing was written since the last checkpoint
    return Error(
        ErrorKind::io, wal,
        "cannot open to sync: " + std::error_code(errno, std::generic_category()).message());
  }
  const int rc = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0)
    return Error(ErrorKind::io, wal,
                 "cannot sync: " + std::error_code(err, std::generic_category()).message());
  return Ok{};
}

}  // namespace

std::optional<StateStore::GroupCommit> SqliteStore::defer_sync() {
  auto& db = impl_->db;
  if (!db.exec("PRAGMA synchronous = NORMAL")) return std::nullopt;
  // Checkpoints copy each page once however often the run rewrote it since the last one: fewer
  // of them (the log may grow to 32 MiB meanwhile) is less I/O in a run's busy I/O thread.
  (void)db.exec("PRAGMA wal_autocheckpoint = 8192");
  // Each write in the group is a savepoint, whose undo pages (the statement journal) SQLite keeps
  // in memory up to 64 KiB and then spills to a temporary file for the rest of the group: a
  // claim's batch did, and every later write of the group then paid a page write to that file.
  // In memory, the journal holds one write's pages at a time (it is emptied on each RELEASE).
  (void)db.exec("PRAGMA temp_store = MEMORY");
  db.set_grouping(true);
  // A sync with nothing committed since the last one has nothing to do (the run also asks on a
  // timer).
  auto committed = std::make_shared<std::atomic<std::uint64_t>>(db.groups_committed());
  auto synced = std::make_shared<std::atomic<std::uint64_t>>(db.groups_committed());
  GroupCommit out;
  out.commit = [&db, committed] {
    auto st = db.end_group();
    committed->store(db.groups_committed());
    return st;
  };
  out.sync = [wal = db.path() + "-wal", committed, synced]() -> Status {
    const std::uint64_t now = committed->load();
    if (synced->load() == now) return Ok{};
    if (auto st = sync_log(wal); !st) return st;
    synced->store(now);
    return Ok{};
  };
  return out;
}

Status SqliteStore::end_deferred_sync() {
  auto& db = impl_->db;
  Status committed = db.end_group();
  db.set_grouping(false);
  if (auto st = db.exec("PRAGMA synchronous = FULL"); !st) return st;
  (void)db.exec("PRAGMA wal_autocheckpoint = 1000");  // SQLite's default
  (void)db.exec("PRAGMA temp_store = DEFAULT");
  if (auto st = sync_log(db.path() + "-wal"); !st) return st;
  return committed;
}

Status create_sqlite_at_version(const std::string& path, int version) {
  SqliteStore::Impl impl;
  if (auto st = impl.db.open(path); !st) return st;
  return impl.migrate_to(version, 0);
}

Result<Record> SqliteStore::create(const Record& record, const HistoryEntry& history) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st.error();
  if (!record.renews.empty()) {
    // A renewal, decided in the same transaction as its insert: the renewed record is active
    // and no live record renews it yet (two runs that find one renewal due plan it once).
    Stmt old(db, "SELECT state FROM records WHERE id = ?");
    old.bind(1, std::string_view(record.renews));
    if (old.step() != SQLITE_ROW || old.text(0) != to_string(RecordState::active))
      return Error(ErrorKind::invalid_input, "record " + record.renews,
                   "is not active (any more); it is not renewed");
    Stmt other(db,
               "SELECT id FROM records WHERE renews = ? AND state NOT IN ('retired', 'failed')");
    other.bind(1, std::string_view(record.renews));
    if (other.step() == SQLITE_ROW)
      return Error(ErrorKind::invalid_input, "record " + record.renews,
                   "is already being renewed by " + other.text(0));
  }
  Stmt st(db, std::string("INSERT INTO records (") + sql::kRecordColumns +
                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st.bind(1, std::string_view(record.id));
  int next = sql::bind_fields(st, record, 2);
  st.bind(next, std::int64_t{1});
  if (st.step() != SQLITE_DONE) return db.error("cannot create record " + record.id);
  Stmt hist(db, kInsertHistory);
  if (auto h = insert_history(db, hist, record.id, history); !h) return h.error();
  if (auto c = tx.commit(); !c) return c.error();
  Record out = record;
  out.version = 1;
  return out;
}

Result<std::optional<Record>> SqliteStore::get(const std::string& id) {
  Stmt st(impl_->db, std::string("SELECT ") + sql::kRecordColumns + " FROM records WHERE id = ?");
  st.bind(1, std::string_view(id));
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<Record>();
  if (rc != SQLITE_ROW) return impl_->db.error("cannot read record " + id);
  return std::optional<Record>(read_record(st));
}

Result<std::vector<Record>> SqliteStore::list(const RecordFilter& f) {
  std::string q = std::string("SELECT ") + sql::kRecordColumns +
                  " FROM records WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)"
                  " AND (?3 IS NULL OR (not_after IS NOT NULL AND not_after < ?3))"
                  " AND (?5 IS NULL OR tenant = ?5) AND (?6 IS NULL OR remote_id = ?6)"
                  " ORDER BY created_at, id LIMIT ?4";
  Stmt st(impl_->db, q);
  if (f.state)
    st.bind(1, std::string_view(to_string(*f.state)));
  else
    st.bind_null(1);
  if (f.kind)
    st.bind(2, std::string_view(to_string(*f.kind)));
  else
    st.bind_null(2);
  st.bind(3, millis(f.expiring_before));
  st.bind(4, f.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(f.limit));
  st.bind_optional_text(5, f.tenant);
  st.bind_optional_text(6, f.remote_id);
  return read_records(impl_->db, st, "cannot list records");
}

Result<std::vector<Record>> SqliteStore::apply(const std::vector<RecordWrite>& writes) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st.error();
  std::string set =
      "UPDATE records SET kind=?2, name=?3, tenant=?4, profile=?5, state=?6, "
      "failed_from=?7, remote_id=?8, remote_status=?9, key_path=?10, csr=?11, "
      "certificate=?12, chain=?13, not_before=?14, not_after=?15, "
      "thumbprint_sha1=?16, thumbprint_sha256=?17, renews=?18, superseded_by=?19, "
      "attempts=?20, next_attempt_at=?21, last_error=?22, created_at=?23, "
      "updated_at=?24, verified_at=?25, drift=?26, drift_note=?27, bundle_id=?28, "
      "bundle_exported_at=?29, version=version+1 WHERE id=?1 AND version=?30";
  // Prepared once per batch, run once per write.
  Stmt st(db, set);
  Stmt hist(db, kInsertHistory);
  std::vector<Record> out;
  for (const auto& w : writes) {
    st.bind(1, std::string_view(w.record.id));
    int next = sql::bind_fields(st, w.record, 2);
    st.bind(next, w.record.version);
    const int rc = st.step();
    st.reset();
    if (rc != SQLITE_DONE) return db.error("cannot write record " + w.record.id);
    if (sqlite3_changes(db.handle()) != 1)
      return Error(ErrorKind::invalid_input, w.record.id,
                   std::string(kVersionConflict) + ": the record changed since version " +
                       std::to_string(w.record.version) + " was read (or does not exist)");
    if (w.history)
      if (auto h = insert_history(db, hist, w.record.id, *w.history); !h) return h.error();
    Record r = w.record;
    r.version += 1;
    out.push_back(std::move(r));
  }
  if (auto c = tx.commit(); !c) return c.error();
  return out;
}

Result<std::vector<HistoryEntry>> SqliteStore::history(const std::string& record_id) {
  Stmt st(impl_->db, std::string("SELECT ") + sql::kHistoryColumns +
                         " FROM history "
                         "WHERE record_id = ? ORDER BY seq");
  st.bind(1, std::string_view(record_id));
  std::vector<HistoryEntry> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(sql::read_history(st));
  if (rc != SQLITE_DONE) return impl_->db.error("cannot read history of " + record_id);
  return out;
}

Status SqliteStore::journal_begin(const Operation& op) {
  auto& db = impl_->db;
  WriteTransaction tx(db, WriteTransaction::Statements::one);
  if (auto ok = tx.begin(); !ok) return ok;
  Stmt st(db, std::string("INSERT INTO journal (") + kOperationColumns +
                  ") VALUES (?,?,?,?,?,?,?,?,?)");
  sql::bind_operation(st, op);
  if (st.step() != SQLITE_DONE) return db.error("cannot journal operation " + op.op_id);
  return tx.commit();
}

Status SqliteStore::journal_update(const std::string& op_id, OperationState state,
                                   const std::string& response_summary, TimePoint at) {
  auto& db = impl_->db;
  WriteTransaction tx(db, WriteTransaction::Statements::one);
  if (auto ok = tx.begin(); !ok) return ok;
  Stmt st(db,
          "UPDATE journal SET state = ?2, response_summary = ?3, updated_at = ?4 WHERE op_id = ?1");
  st.bind(1, std::string_view(op_id))
      .bind(2, std::string_view(to_string(state)))
      .bind(3, std::string_view(sql::storable_text(response_summary)))
      .bind(4, to_millis(at));
  if (st.step() != SQLITE_DONE) return db.error("cannot update operation " + op_id);
  if (sqlite3_changes(db.handle()) != 1)
    return Error(ErrorKind::invalid_input, op_id, "no such operation in the journal");
  return tx.commit();
}

namespace {
Result<std::vector<Operation>> read_operations(Db& db, Stmt& st) {
  std::vector<Operation> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(read_operation(st));
  if (rc != SQLITE_DONE) return db.error("cannot read the operation journal");
  return out;
}
}  // namespace

Result<std::vector<Operation>> SqliteStore::journal_open() {
  Stmt st(impl_->db, std::string("SELECT ") + kOperationColumns +
                         " FROM journal WHERE state IN ('pending', 'sent') ORDER BY created_at");
  return read_operations(impl_->db, st);
}

Result<std::vector<Operation>> SqliteStore::journal_of(const std::string& record_id) {
  Stmt st(impl_->db, std::string("SELECT ") + kOperationColumns +
                         " FROM journal WHERE record_id = ? ORDER BY created_at, op_id");
  st.bind(1, std::string_view(record_id));
  return read_operations(impl_->db, st);
}

Result<std::vector<Record>> SqliteStore::claim_due(const std::string& owner, TimePoint now,
                                                   TimePoint until,
                                                   const std::vector<RecordState>& wanted,
                                                   std::size_t limit) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st.error();
  const std::string states = states_json(wanted);
  Stmt st(db, std::string("UPDATE records SET lease_owner = ?1, lease_expires_at = ?2 WHERE id IN ("
                          " SELECT id FROM records WHERE state IN (SELECT value FROM json_each(?3))"
                          " AND (next_attempt_at IS NULL OR next_attempt_at <= ?4)"
                          " AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at <= ?4)"
                          " ORDER BY next_attempt_at, created_at LIMIT ?5) RETURNING ") +
                  sql::kRecordColumns);
  st.bind(1, std::string_view(owner))
      .bind(2, to_millis(until))
      .bind(3, std::string_view(states))
      .bind(4, to_millis(now))
      .bind(5, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
  auto out = read_records(db, st, "cannot claim records");
  if (!out) return out;
  if (auto c = tx.commit(); !c) return c.error();
  return out;
}

Result<std::vector<Record>> SqliteStore::due_page(const std::vector<RecordState>& states,
                                                  TimePoint now, const std::string& after_id,
                                                  std::size_t limit) {
  // The renewed ids are one list for the statement (not a subquery per row), read from the
  // renewals' own index. The records are read in id order from the cursor ("+state": not by the
  // state index, whose rows would all be read and sorted for every page): a whole pass over
  // 10,000 records reads each once.
  Stmt st(impl_->db,
          std::string("SELECT ") + sql::kRecordColumns +
              " FROM records WHERE id > ?1 AND +state IN (SELECT value FROM json_each(?2))"
              " AND (next_attempt_at IS NULL OR next_attempt_at <= ?3)"
              " AND NOT (state = 'active' AND id IN (SELECT renews FROM records"
              " INDEXED BY records_renews WHERE renews IS NOT NULL AND state IN "
              "('planned', 'csrGenerated', 'signed', 'uploaded')))"
              " ORDER BY id LIMIT ?4");
  st.bind(1, std::string_view(after_id))
      .bind(2, std::string_view(states_json(states)))
      .bind(3, to_millis(now))
      .bind(4, static_cast<std::int64_t>(limit));
  return read_records(impl_->db, st, "cannot list the due records");
}

Result<std::vector<Record>> SqliteStore::claim_ids(const std::string& owner,
                                                   const std::vector<std::string>& ids,
                                                   TimePoint now, TimePoint until) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st.error();
  // One statement per id, in one transaction: the write lock keeps other runs out meanwhile.
  Stmt st(db, std::string("UPDATE records SET lease_owner = ?1, lease_expires_at = ?2 WHERE id = ?3"
                          " AND (next_attempt_at IS NULL OR next_attempt_at <= ?4)"
                          " AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at <= ?4)"
                          " RETURNING ") +
                  sql::kRecordColumns);
  std::vector<Record> out;
  for (const auto& id : ids) {
    st.bind(1, std::string_view(owner))
        .bind(2, to_millis(until))
        .bind(3, std::string_view(id))
        .bind(4, to_millis(now));
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
      out.push_back(read_record(st));
    st.reset();
    if (rc != SQLITE_DONE) return db.error("cannot claim " + id);
  }
  if (auto c = tx.commit(); !c) return c.error();
  return out;
}

Status SqliteStore::release(const std::string& owner, const std::vector<std::string>& ids) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st;
  for (const auto& id : ids) {
    Stmt st(db,
            "UPDATE records SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ?1 AND "
            "lease_owner = ?2");
    st.bind(1, std::string_view(id)).bind(2, std::string_view(owner));
    if (st.step() != SQLITE_DONE) return db.error("cannot release " + id);
  }
  return tx.commit();
}

Result<std::optional<std::string>> SqliteStore::lease_owner(const std::string& id, TimePoint now) {
  Stmt st(impl_->db,
          "SELECT lease_owner FROM records WHERE id = ?1 AND lease_owner IS NOT NULL AND "
          "lease_expires_at > ?2");
  st.bind(1, std::string_view(id)).bind(2, to_millis(now));
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return impl_->db.error("cannot read the lease of " + id);
  return std::optional<std::string>(st.text(0));
}

Result<std::vector<Lease>> SqliteStore::leases(TimePoint now) {
  Stmt st(impl_->db,
          // The lease index named: without statistics SQLite would rather read every record in
          // id order (a whole 10,000-record store per claim) than sort the few leases.
          "SELECT id, lease_owner, lease_expires_at FROM records INDEXED BY records_lease "
          "WHERE lease_owner IS NOT NULL "
          "AND lease_expires_at > ?1 ORDER BY id");
  st.bind(1, to_millis(now));
  std::vector<Lease> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back({st.text(0), st.text(1), from_millis(st.integer(2))});
  if (rc != SQLITE_DONE) return impl_->db.error("cannot read the leases");
  return out;
}

Result<std::size_t> SqliteStore::break_leases(const std::string& owner) {
  auto& db = impl_->db;
  WriteTransaction tx(db, WriteTransaction::Statements::one);
  if (auto ok = tx.begin(); !ok) return ok.error();
  Stmt st(db,
          "UPDATE records SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?1");
  st.bind(1, std::string_view(owner));
  if (st.step() != SQLITE_DONE) return db.error("cannot break the leases of " + owner);
  const auto broken = static_cast<std::size_t>(sqlite3_changes(db.handle()));
  if (auto c = tx.commit(); !c) return c.error();
  return broken;
}

Result<std::vector<std::string>> SqliteStore::renew_leases(const std::string& owner,
                                                           const std::vector<std::string>& ids,
                                                           TimePoint until) {
  auto& db = impl_->db;
  WriteTransaction tx(db);
  if (auto st = tx.begin(); !st) return st.error();
  Stmt st(db, "UPDATE records SET lease_expires_at = ?3 WHERE id = ?1 AND lease_owner = ?2");
  std::vector<std::string> held;
  for (const auto& id : ids) {
    st.bind(1, std::string_view(id)).bind(2, std::string_view(owner)).bind(3, to_millis(until));
    const int rc = st.step();
    st.reset();
    if (rc != SQLITE_DONE) return db.error("cannot renew the lease of " + id);
    if (sqlite3_changes(db.handle()) == 1) held.push_back(id);
  }
  if (auto c = tx.commit(); !c) return c.error();
  return held;
}

Status SqliteStore::throttle(const std::string& tenant, TimePoint not_before, TimePoint now) {
  auto& db = impl_->db;
  WriteTransaction tx(db, WriteTransaction::Statements::one);
  if (auto ok = tx.begin(); !ok) return ok;
  Stmt st(db,
          "INSERT INTO tenant_throttle (tenant, not_before, updated_at) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (tenant) DO UPDATE SET not_before = max(not_before, excluded.not_before), "
          "updated_at = excluded.updated_at");
  st.bind(1, std::string_view(tenant)).bind(2, to_millis(not_before)).bind(3, to_millis(now));
  if (st.step() != SQLITE_DONE) return db.error("cannot record the throttling of " + tenant);
  return tx.commit();
}

Result<std::optional<TimePoint>> SqliteStore::not_before(const std::string& tenant, TimePoint now) {
  Stmt st(impl_->db,
          "SELECT not_before FROM tenant_throttle WHERE tenant = ?1 AND not_before > ?2");
  st.bind(1, std::string_view(tenant)).bind(2, to_millis(now));
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<TimePoint>();
  if (rc != SQLITE_ROW) return impl_->db.error("cannot read the throttling of " + tenant);
  return std::optional<TimePoint>(from_millis(st.integer(0)));
}

Result<StoreCounts> SqliteStore::counts() {
  Stmt st(impl_->db,
          "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM history), "
          "(SELECT count(*) FROM journal)");
  if (st.step() != SQLITE_ROW) return impl_->db.error("cannot count the rows");
  return StoreCounts{static_cast<std::size_t>(st.integer(0)),
                     static_cast<std::size_t>(st.integer(1)),
                     static_cast<std::size_t>(st.integer(2))};
}

Result<std::vector<Record>> SqliteStore::records_page(const std::string& after_id,
                                                      std::size_t limit) {
  Stmt st(impl_->db, std::string("SELECT ") + sql::kRecordColumns +
                         " FROM records WHERE id > ? ORDER BY id LIMIT ?");
  st.bind(1, std::string_view(after_id)).bind(2, static_cast<std::int64_t>(limit));
  return read_records(impl_->db, st, "cannot read records");
}

Result<std::vector<HistoryEntry>> SqliteStore::history_page(std::int64_t after_seq,
                                                            std::size_t limit) {
  Stmt st(impl_->db, std::string("SELECT ") + sql::kHistoryColumns +
                         " FROM history "
                         "WHERE seq > ? ORDER BY seq LIMIT ?");
  st.bind(1, after_seq).bind(2, static_cast<std::int64_t>(limit));
  std::vector<HistoryEntry> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(sql::read_history(st));
  if (rc != SQLITE_DONE) return impl_->db.error("cannot read history");
  return out;
}

Result<std::vector<Operation>> SqliteStore::journal_page(const std::string& after_op_id,
                                                         std::size_t limit) {
  Stmt st(impl_->db, std::string("SELECT ") + kOperationColumns +
                         " FROM journal WHERE op_id > ? ORDER BY op_id LIMIT ?");
  st.bind(1, std::string_view(after_op_id)).bind(2, static_cast<std::int64_t>(limit));
  return read_operations(impl_->db, st);
}

namespace {

// An import into a SQLite store: one write transaction from begin to commit.
class SqliteImport final : public StoreImport {
 public:
  explicit SqliteImport(Db& db) : db_(db), tx_(db) {}
  Status begin() { return tx_.begin(); }

  Status add_records(const std::vector<Record>& records) override {
    Stmt st(db_, std::string("INSERT INTO records (") + sql::kRecordColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    for (const auto& r : records) {
      const Record plain = sql::without_links(r, links_);
      st.bind(1, std::string_view(r.id));
      st.bind(sql::bind_fields(st, plain, 2), r.version);
      const int rc = st.step();
      st.reset();
      if (rc != SQLITE_DONE) {
        if ((sqlite3_extended_errcode(db_.handle()) & 0xff) == SQLITE_CONSTRAINT)
          return Error(ErrorKind::invalid_input, "record " + r.id,
                       "is already in " + db_.path() + "; nothing was copied");
        return db_.error("cannot copy record " + r.id);
      }
    }
    return Ok{};
  }

  Status add_history(const std::vector<HistoryEntry>& rows) override {
    Stmt st(db_, kInsertHistory);
    for (const auto& h : rows)
      if (auto ok = insert_history(db_, st, h.record_id, h); !ok) return ok;
    return Ok{};
  }

  Status add_journal(const std::vector<Operation>& ops) override {
    Stmt st(db_, std::string("INSERT INTO journal (") + kOperationColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?)");
    for (const auto& op : ops) {
      sql::bind_operation(st, op);
      const int rc = st.step();
      st.reset();
      if (rc != SQLITE_DONE) {
        if ((sqlite3_extended_errcode(db_.handle()) & 0xff) == SQLITE_CONSTRAINT)
          return Error(ErrorKind::invalid_input, "operation " + op.op_id,
                       "is already in " + db_.path() +
                           " (or its record is missing); nothing "
                           "was copied");
        return db_.error("cannot copy operation " + op.op_id);
      }
    }
    return Ok{};
  }

  Status commit() override {
    Stmt st(db_, "UPDATE records SET renews = ?2, superseded_by = ?3 WHERE id = ?1");
    for (const auto& l : links_) {
      st.bind(1, std::string_view(l.id))
          .bind_optional_text(2, l.renews)
          .bind_optional_text(3, l.superseded_by);
      const int rc = st.step();
      st.reset();
      if (rc != SQLITE_DONE) return sql::unresolved_links(l);
    }
    return tx_.commit();
  }

 private:
  Db& db_;
  WriteTransaction tx_;
  std::vector<sql::RecordLinks> links_;
};

}  // namespace

Result<std::unique_ptr<StoreImport>> SqliteStore::begin_import() {
  auto imp = std::make_unique<SqliteImport>(impl_->db);
  if (auto st = imp->begin(); !st) return st.error();
  return std::unique_ptr<StoreImport>(std::move(imp));
}

Result<bool> SqliteStore::integrity_ok() {
  Stmt st(impl_->db, "PRAGMA integrity_check");
  if (st.step() != SQLITE_ROW) return impl_->db.error("cannot run integrity_check");
  return st.text(0) == "ok";
}

Result<int> SqliteStore::schema_version() {
  auto v = impl_->db.pragma_int("user_version");
  if (!v) return v.error();
  return static_cast<int>(*v);
}

}  // namespace pkiflow::state

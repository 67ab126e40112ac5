#include "state/sqlite/sqlite_db.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "state/sqlite/wal_batch_vfs.hpp"

namespace pkiflow::state::sqlite {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    stmt_ = nullptr;
}

Stmt::Stmt(Db& db, std::string_view sql) : cache_(&db) {
  stmt_ = db.take(sql, slot_);
}

Stmt::~Stmt() {
  if (cache_ && stmt_)
    cache_->give_back(slot_, stmt_);
  else
    sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind_null(i);
}

Stmt& Stmt::bind_optional_text(int i, const std::string& v) {
  return v.empty() ? bind_null(i) : bind(i, std::string_view(v));
}

Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Stmt::step() {
  return sqlite3_step(stmt_);
}

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (!p) return "";
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::int64_t Stmt::integer(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::optional<std::int64_t> Stmt::optional_integer(int col) const {
  if (is_null(col)) return std::nullopt;
  return integer(col);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Db::~Db() {
  for (auto& [sql, stmt] : idle_)
    sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

sqlite3_stmt* Db::take(std::string_view sql, sqlite3_stmt**& slot) {
  auto it = idle_.find(sql);
  if (it == idle_.end()) it = idle_.emplace(std::string(sql), nullptr).first;
  slot = &it->second;
  if (sqlite3_stmt* s = std::exchange(it->second, nullptr)) return s;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    return nullptr;
  }
  return s;
}

void Db::give_back(sqlite3_stmt** slot, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (*slot)
    sqlite3_finalize(stmt);  // another of the same text went back first
  else
    *slot = stmt;
}

Status Db::open(const std::string& path, bool read_only, int busy_timeout_ms) {
  path_ = path;
  busy_timeout_ms_ = busy_timeout_ms;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  if (read_only && ::access(std::filesystem::path(path).parent_path().c_str(), W_OK) != 0 &&
      !std::filesystem::exists(path + "-wal")) {
    // A WAL database in a directory this process cannot write: SQLite cannot create the -shm
    // file a reader needs. No -wal file means no writer has it open (a writer would have made
    // one), so the file is read as it is (immutable), which needs no -shm.
    name = "file:";
    for (const unsigned char c : path) {
      if (std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_') {
        name += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        name += hex;
      }
    }
    name += "?immutable=1";
    flags |= SQLITE_OPEN_URI;
  }
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags, wal_batch_vfs());
  if (rc != SQLITE_OK) return error("cannot open");
  sqlite3_extended_result_codes(db_, 1);
  if (busy_timeout_ms > 0) sqlite3_busy_timeout(db_, busy_timeout_ms);
  return Ok{};
}

Status Db::exec(std::string_view sql) {
  std::string s(sql);
  char* msg = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    if ((sqlite3_errcode(db_) & 0xff) == SQLITE_BUSY) return error(s);
    return Error(ErrorKind::io, path_, "SQLite: " + m);
  }
  return Ok{};
}

Error Db::error(const std::string& what) const {
  if (db_ && (sqlite3_errcode(db_) & 0xff) == SQLITE_BUSY) {
    // Name who holds it and how long this process waited, not only "database is locked".
    const std::string who = processes_with_open(path_);
    return Error(ErrorKind::unavailable, path_,
                 what + ": the state store is locked by another process (" +
                     (who.empty() ? std::string("not visible from here") : who) + "); waited " +
                     std::to_string(busy_timeout_ms_ / 1000) +
                     " s for it. Try again when it has finished");
  }
  return Error(ErrorKind::io, path_,
               what + ": SQLite: " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

std::string processes_with_open(const std::string& path) {
  std::error_code ec;
  const auto target = std::filesystem::weakly_canonical(path, ec);
  if (ec) return "";
  std::string out;
  const std::string self = std::to_string(::getpid());
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    std::error_code fec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      const auto link = std::filesystem::read_symlink(fd.path(), lec);
      if (lec || link != target) continue;
      std::ifstream comm(proc.path() / "comm");
      std::string name;
      std::getline(comm, name);
      out += (out.empty() ? "" : ", ") + std::string("pid ") + pid + " (" + name + ")";
      break;
    }
  }
  return out;
}

Result<std::int64_t> Db::pragma_int(const char* name) {
  Stmt st(db_, std::string("PRAGMA ") + name);
  if (!st.ok() || st.step() != SQLITE_ROW) return error(std::string("cannot read PRAGMA ") + name);
  return st.integer(0);
}

namespace {

// A statement without data, through the connection's cache (BEGIN, COMMIT, ROLLBACK run once
// or more per transition).
Status run_cached(Db& db, const char* sql) {
  Stmt st(db, sql);
  if (!st.ok()) return db.exec(sql);  // not preparable: exec says why
  const int rc = st.step();
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Ok{};
  if ((rc & 0xff) == SQLITE_BUSY) return db.error(sql);
  return Error(ErrorKind::io, db.path(),
               std::string(sql) + ": SQLite: " + sqlite3_errmsg(db.handle()));
}

}  // namespace

void Db::note_lost_group() {
  if (!group_open_ || !sqlite3_get_autocommit(db_)) return;
  // SQLite ended the transaction by itself (it does after some I/O errors): what the group held
  // is gone. Said once, by the next end_group().
  group_open_ = false;
  if (!group_lost_)
    group_lost_ = Error(ErrorKind::io, path_,
                        "SQLite rolled back the writes not yet committed (after an error writing "
                        "the store); the steps that made them are redone by the next run");
}

Status Db::open_group() {
  note_lost_group();
  if (group_open_) return Ok{};
  if (auto st = run_cached(*this, "BEGIN IMMEDIATE"); !st) return st;
  group_open_ = true;
  return Ok{};
}

Status Db::end_group() {
  note_lost_group();
  Status out = Ok{};
  if (group_open_) {
    out = run_cached(*this, "COMMIT");
    if (out) {
      ++groups_committed_;
    } else if (!sqlite3_get_autocommit(db_)) {
      (void)run_cached(*this, "ROLLBACK");  // the lock goes back; what it held is lost
    }
    group_open_ = false;
  }
  if (group_lost_) {
    out = std::move(*group_lost_);
    group_lost_.reset();
  }
  return out;
}

WriteTransaction::~WriteTransaction() {
  if (!open_) return;
  if (!in_group_) {
    (void)run_cached(db_, "ROLLBACK");
  } else if (!sqlite3_get_autocommit(db_.handle())) {
    // This write alone is undone; the group's earlier writes stay.
    (void)run_cached(db_, "ROLLBACK TO pkiflow_write");
    (void)run_cached(db_, "RELEASE pkiflow_write");
  }
}

Status WriteTransaction::begin() {
  if (db_.grouping()) {
    if (auto st = db_.open_group(); !st) return st;
    if (one_) {
      in_group_ = true;  // nothing to release or undo: the statement is its own unit
      return Ok{};
    }
    auto st = run_cached(db_, "SAVEPOINT pkiflow_write");
    if (st) open_ = in_group_ = true;
    return st;
  }
  auto st = run_cached(db_, "BEGIN IMMEDIATE");
  if (st) open_ = true;
  return st;
}

Status WriteTransaction::commit() {
  if (in_group_ && !open_) return Ok{};  // a single statement in the group
  auto st = run_cached(db_, in_group_ ? "RELEASE pkiflow_write" : "COMMIT");
  if (st) open_ = false;
  return st;
}

}  // namespace pkiflow::state::sqlite

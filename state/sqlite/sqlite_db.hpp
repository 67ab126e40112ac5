// Internal: a thin RAII layer over the sqlite3 C API. Every value reaches SQL through bind_*;
// no statement is ever assembled from data.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/pki/result.hpp"

namespace pkiflow::state::sqlite {

class Db;

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  // Prepared once per connection and kept: the statement comes from `db`'s cache (or is
  // prepared) and goes back to it, reset and unbound, when this ends. A run prepares each of
  // its statements once rather than once per transition.
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, const std::optional<std::int64_t>& v);
  Stmt& bind_optional_text(int i, const std::string& v);  // "" binds NULL
  Stmt& bind_null(int i);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  // Ready to run again with new bindings (a statement prepared once, run many times).
  void reset();
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  std::optional<std::int64_t> optional_integer(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  Db* cache_ = nullptr;            // where the statement goes back to; nullptr: finalized
  sqlite3_stmt** slot_ = nullptr;  // its idle slot in cache_ (found once, by the SQL text)
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (read-write, creating the file) or, with `read_only`, only reads an existing file.
  // Waits up to `busy_timeout_ms` for another process's lock.
  Status open(const std::string& path, bool read_only = false, int busy_timeout_ms = 0);
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  Status exec(std::string_view sql);  // statements without data only (schema, pragmas)
  Error error(const std::string& what) const;
  Result<std::int64_t> pragma_int(const char* name);

  // Group commit (SqliteStore::defer_sync): while on, every WriteTransaction joins one open
  // transaction (each its own savepoint, so a failed write is undone alone) until end_group()
  // commits them all. Off again only after end_group().
  void set_grouping(bool on) { grouping_ = on; }
  bool grouping() const { return grouping_; }
  // Commits the open group (nothing to do: Ok). An error when the group could not be committed,
  // or when SQLite rolled it back by itself meanwhile (an I/O error, a full disk): the writes
  // since the last end_group() are lost, and the error says so once.
  Status end_group();
  // How many groups end_group() has committed (a sync with none new has nothing to do).
  std::uint64_t groups_committed() const { return groups_committed_; }

 private:
  friend class Stmt;
  friend class WriteTransaction;
  // The group is open (BEGIN IMMEDIATE done), or is opened now; notes a group SQLite lost.
  Status open_group();
  // A group SQLite rolled back by itself is noted (group_lost_) and no longer open.
  void note_lost_group();
  // The statement for `sql` and its idle slot: the one kept there, or one prepared now.
  sqlite3_stmt* take(std::string_view sql, sqlite3_stmt**& slot);
  void give_back(sqlite3_stmt** slot, sqlite3_stmt* stmt);
  // Idle prepared statements by their SQL text (one each; a second user of one text at the
  // same time prepares its own, which then goes back only if the slot is free). Looked up by a
  // string_view, so a statement's text is hashed once per use and never copied; slots are
  // never erased before the connection closes (an unordered_map's elements do not move).
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> idle_;
  sqlite3* db_ = nullptr;
  std::string path_;
  int busy_timeout_ms_ = 0;
  bool grouping_ = false;
  bool group_open_ = false;
  std::optional<Error> group_lost_;
  std::uint64_t groups_committed_ = 0;
};

// "pid 4242 (pkiflow)": the other processes of this host that have `path` open, for a message
// about a locked store; "" when none can be seen.
std::string processes_with_open(const std::string& path);

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() succeeded. IMMEDIATE takes the write
// lock up front, so two writers wait (busy timeout) instead of deadlocking on an upgrade.
// While the Db groups its writes: SAVEPOINT ... RELEASE inside the group's transaction, rolled
// back to the savepoint unless commit() succeeded; the group commits them later.
// A write of one statement (`Statements::one`) needs no savepoint in the group: SQLite undoes a
// failed statement by itself and the group's transaction goes on. A run's journal entries are
// such writes, six per record: their SAVEPOINT and RELEASE were a fifth of its statements.
class WriteTransaction {
 public:
  enum class Statements { several, one };
  explicit WriteTransaction(Db& db, Statements statements = Statements::several)
      : db_(db), one_(statements == Statements::one) {}
  ~WriteTransaction();
  Status begin();
  Status commit();

 private:
  Db& db_;
  bool one_ = false;
  bool open_ = false;
  bool in_group_ = false;
};

}  // namespace pkiflow::state::sqlite

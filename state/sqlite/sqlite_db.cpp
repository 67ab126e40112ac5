#include "state/sqlite/sqlite_db.hpp"

namespace pkiflow::state::sqlite {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    stmt_ = nullptr;
}

Stmt::~Stmt() {
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
  sqlite3_close_v2(db_);
}

Status Db::open(const std::string& path) {
  path_ = path;
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return error("cannot open");
  sqlite3_extended_result_codes(db_, 1);
  return Ok{};
}

Status Db::exec(std::string_view sql) {
  std::string s(sql);
  char* msg = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Error(ErrorKind::io, path_, "SQLite: " + m);
  }
  return Ok{};
}

Error Db::error(const std::string& what) const {
  return Error(ErrorKind::io, path_,
               what + ": SQLite: " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

Result<std::int64_t> Db::pragma_int(const char* name) {
  Stmt st(db_, std::string("PRAGMA ") + name);
  if (!st.ok() || st.step() != SQLITE_ROW) return error(std::string("cannot read PRAGMA ") + name);
  return st.integer(0);
}

WriteTransaction::~WriteTransaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

Status WriteTransaction::begin() {
  auto st = db_.exec("BEGIN IMMEDIATE");
  if (st) open_ = true;
  return st;
}

Status WriteTransaction::commit() {
  auto st = db_.exec("COMMIT");
  if (st) open_ = false;
  return st;
}

}  // namespace pkiflow::state::sqlite

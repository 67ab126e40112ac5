#include "state/postgres/pg_db.hpp"

#include <cstdlib>

#include "state/sql/record_codec.hpp"

namespace pkiflow::state::postgres {

std::optional<std::string>& Params::at(int i) {
  if (static_cast<std::size_t>(i) > values_.size()) values_.resize(static_cast<std::size_t>(i));
  return values_[static_cast<std::size_t>(i - 1)];
}

Params& Params::bind(int i, std::string_view v) {
  at(i) = sql::storable_text(v);
  return *this;
}

Params& Params::bind(int i, std::int64_t v) {
  at(i) = std::to_string(v);
  return *this;
}

Params& Params::bind(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind_null(i);
}

Params& Params::bind_optional_text(int i, const std::string& v) {
  return v.empty() ? bind_null(i) : bind(i, std::string_view(v));
}

Params& Params::bind_null(int i) {
  at(i).reset();
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_)
    out.push_back(v ? v->c_str() : nullptr);
  return out;
}

std::string Row::text(int col) const {
  return std::string(libpq().getvalue(res_, row_, col),
                     static_cast<std::size_t>(libpq().getlength(res_, row_, col)));
}

std::int64_t Row::integer(int col) const {
  return std::strtoll(libpq().getvalue(res_, row_, col), nullptr, 10);
}

std::optional<std::int64_t> Row::optional_integer(int col) const {
  if (is_null(col)) return std::nullopt;
  return integer(col);
}

bool Row::is_null(int col) const {
  return libpq().getisnull(res_, row_, col) != 0;
}

void Rows::Clear::operator()(PGresult* res) const {
  libpq().clear(res);
}

int Rows::size() const {
  return libpq().ntuples(res_.get());
}

std::size_t Rows::affected() const {
  return static_cast<std::size_t>(std::strtoull(libpq().cmdTuples(res_.get()), nullptr, 10));
}

bool transient_sqlstate(const std::string& s) {
  return s.rfind("08", 0) == 0 ||                       // connection exception
         s.rfind("53", 0) == 0 ||                       // insufficient resources
         s == "40001" ||                                // serialization failure
         s == "40P01" ||                                // deadlock detected
         s == "57P01" || s == "57P02" || s == "57P03";  // shutting down, crashed, starting
}

Connection::~Connection() {
  if (conn_) libpq().finish(conn_);
}

Status Connection::connect(const std::string& url, const std::string& shown,
                           const std::string* password) {
  shown_ = shown;
  // Keywords later in the list win over what the URL says: the URL sets connect_timeout if it
  // wants to, the password file wins over the URL's password.
  std::vector<const char*> keys{"connect_timeout", "dbname", "fallback_application_name"};
  std::vector<const char*> values{"10", url.c_str(), "pkiflow"};
  if (password) {
    keys.push_back("password");
    values.push_back(password->c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  auto lib = load_libpq();
  if (!lib) return lib.error().about(shown_);
  conn_ = libpq().connectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn_) return Error(ErrorKind::unavailable, shown_, "cannot connect: out of memory");
  if (libpq().status(conn_) != CONNECTION_OK) {
    std::string why = libpq().errorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
      why.pop_back();
    const bool auth = why.find("password") != std::string::npos ||
                      why.find("authentication") != std::string::npos;
    return Error(auth ? ErrorKind::auth : ErrorKind::unavailable, shown_,
                 "cannot connect to PostgreSQL: " + why);
  }
  return Ok{};
}

Status Connection::ensure_connected() {
  if (libpq().status(conn_) == CONNECTION_OK) return Ok{};
  if (in_transaction_)
    return Error(ErrorKind::unavailable, shown_, "the connection to PostgreSQL was lost");
  // Lost between statements (a server restart, a network blip): one new attempt, with the
  // statements prepared again on it.
  libpq().reset(conn_);
  prepared_.clear();
  if (libpq().status(conn_) != CONNECTION_OK)
    return Error(
        ErrorKind::unavailable, shown_,
        std::string("the connection to PostgreSQL was lost: ") + libpq().errorMessage(conn_));
  return Ok{};
}

Error Connection::failure(const std::string& what, const PGresult* res) {
  std::string message;
  sqlstate_.clear();
  if (res) {
    if (const char* s = libpq().resultErrorField(res, PG_DIAG_SQLSTATE)) sqlstate_ = s;
    if (const char* m = libpq().resultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) message = m;
  }
  if (message.empty()) {
    message = libpq().errorMessage(conn_);
    while (!message.empty() && message.back() == '\n')
      message.pop_back();
  }
  if (sqlstate_.empty() && libpq().status(conn_) != CONNECTION_OK) sqlstate_ = "08006";
  const ErrorKind kind = transient_sqlstate(sqlstate_) ? ErrorKind::unavailable : ErrorKind::io;
  return Error(kind, shown_,
               what + ": PostgreSQL: " + message +
                   (sqlstate_.empty() ? std::string() : " (SQLSTATE " + sqlstate_ + ")"));
}

Result<Rows> Connection::exec(std::string_view sql, const Params& params) {
  if (auto st = ensure_connected(); !st) return st.error();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "pkiflow_" + std::to_string(prepared_.size() + 1);
    const std::string text(sql);
    PGresult* prep = libpq().prepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    if (!prep || libpq().resultStatus(prep) != PGRES_COMMAND_OK) {
      Error e = failure("cannot prepare a statement", prep);
      libpq().clear(prep);
      return e;
    }
    libpq().clear(prep);
    it = prepared_.emplace(text, std::move(name)).first;
  }
  const auto values = params.pointers();
  PGresult* res = libpq().execPrepared(conn_, it->second.c_str(), params.count(), values.data(),
                                       nullptr, nullptr, 0);
  const auto status = res ? libpq().resultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = failure("statement failed", res);
    libpq().clear(res);
    return e;
  }
  return Rows(res);
}

Status Connection::exec_script(std::string_view sql) {
  if (auto st = ensure_connected(); !st) return st;
  const std::string text(sql);
  PGresult* res = libpq().exec(conn_, text.c_str());
  const auto status = res ? libpq().resultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = failure("cannot run \"" + text.substr(0, text.find_first_of("\n;")) + "\"", res);
    libpq().clear(res);
    return e;
  }
  libpq().clear(res);
  return Ok{};
}

Transaction::~Transaction() {
  if (open_) {
    (void)c_.exec_script("ROLLBACK");
    c_.in_transaction_ = false;
  }
}

Status Transaction::begin() {
  auto st = c_.exec_script("BEGIN");
  if (st) open_ = c_.in_transaction_ = true;
  return st;
}

Status Transaction::commit() {
  auto st = c_.exec_script("COMMIT");
  open_ = c_.in_transaction_ = false;  // a failed COMMIT ends the transaction too
  return st;
}

}  // namespace pkiflow::state::postgres

// Internal: a thin RAII layer over libpq. Every value reaches SQL as a statement parameter; no
// statement is ever assembled from data. Statements are prepared once per connection and run
// by name afterwards.
#pragma once

#include "state/postgres/libpq.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::state::postgres {

// The parameters of one statement ($1, $2, ...), all sent as text; the statement's casts give
// them their types. Text is made storable (state/sql/record_codec.hpp) on the way in.
class Params {
 public:
  Params& bind(int i, std::string_view v);
  Params& bind(int i, std::int64_t v);
  Params& bind(int i, const std::optional<std::int64_t>& v);
  Params& bind_optional_text(int i, const std::string& v);  // "" binds NULL
  Params& bind_null(int i);

  int count() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const;

 private:
  std::optional<std::string>& at(int i);
  std::vector<std::optional<std::string>> values_;
};

// One row of a result; the shape record_codec's read_* templates read.
class Row {
 public:
  Row(const PGresult* res, int row) : res_(res), row_(row) {}
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  std::optional<std::int64_t> optional_integer(int col) const;
  bool is_null(int col) const;

 private:
  const PGresult* res_;
  int row_;
};

// The result of a statement that succeeded.
class Rows {
 public:
  explicit Rows(PGresult* res) : res_(res) {}
  int size() const;
  Row operator[](int row) const { return Row(res_.get(), row); }
  // Rows an INSERT, UPDATE or DELETE changed.
  std::size_t affected() const;

 private:
  struct Clear {
    void operator()(PGresult* res) const;
  };
  std::unique_ptr<PGresult, Clear> res_;
};

class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects as the URL says (libpq reads PGPASSWORD, PGPASSFILE, PGSSLMODE, ... itself);
  // `password`, when given, wins over them. `shown` is the URL with its password hidden: the
  // subject of every error.
  Status connect(const std::string& url, const std::string& shown, const std::string* password);
  // A statement with parameters, prepared on its first use on this connection.
  Result<Rows> exec(std::string_view sql, const Params& params = {});
  // Statements without data (schema, transaction control), several at once.
  Status exec_script(std::string_view sql);
  const std::string& shown() const { return shown_; }
  // The SQLSTATE of the last failure ("" when none or unknown).
  const std::string& last_sqlstate() const { return sqlstate_; }

 private:
  Error failure(const std::string& what, const PGresult* res);
  Status ensure_connected();

  PGconn* conn_ = nullptr;
  std::string shown_;
  std::string sqlstate_;
  bool in_transaction_ = false;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL text -> statement name
  friend class Transaction;
};

// BEGIN ... COMMIT, rolled back unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  ~Transaction();
  Status begin();
  Status commit();

 private:
  Connection& c_;
  bool open_ = false;
};

// Whether an SQLSTATE says "try again" (a lost connection, a server shutting down, a
// serialization failure or deadlock, the server out of resources).
bool transient_sqlstate(const std::string& sqlstate);

}  // namespace pkiflow::state::postgres

#include "state/postgres/postgres_store.hpp"

#include <mutex>

#include "state/postgres/pg_db.hpp"
#include "state/sql/record_codec.hpp"
#include "state/sql/schema.hpp"

namespace pkiflow::state {

using postgres::Connection;
using postgres::Params;
using postgres::Rows;
using postgres::Transaction;
using sql::from_millis;
using sql::millis;
using sql::to_millis;

namespace {

// A PostgreSQL array literal of text, for `= ANY($n::text[])`: one parameter however many
// values, each quoted, so no value is ever read as SQL or as array syntax.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += i ? ",\"" : "\"";
    for (const char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string state_array(const std::vector<RecordState>& states) {
  std::vector<std::string> names;
  names.reserve(states.size());
  for (const auto s : states)
    names.emplace_back(to_string(s));
  return text_array(names);
}

const std::string kSelectRecord = std::string("SELECT ") + sql::kRecordColumns + " FROM records";

// Every row of a statement's result, read by one of record_codec's read_* templates.
template <class T>
Result<std::vector<T>> rows_of(const Result<Rows>& rows, T (*read)(const postgres::Row&)) {
  if (!rows) return rows.error();
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i)
    out.push_back(read((*rows)[i]));
  return out;
}

Result<std::vector<Record>> records_of(const Result<Rows>& rows) {
  return rows_of(rows, &sql::read_record<postgres::Row>);
}

Result<std::vector<HistoryEntry>> history_of(const Result<Rows>& rows) {
  return rows_of(rows, &sql::read_history<postgres::Row>);
}

Result<std::vector<Operation>> operations_of(const Result<Rows>& rows) {
  return rows_of(rows, &sql::read_operation<postgres::Row>);
}

Status insert_history(Connection& c, const std::string& record_id, const HistoryEntry& h) {
  Params p;
  sql::bind_history(p, record_id, h);
  auto r = c.exec(
      "INSERT INTO history (record_id, from_state, to_state, at, reason, actor, details) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      p);
  if (!r) return r.error().about(c.shown() + " (history of " + record_id + ")");
  return Ok{};
}

}  // namespace

struct PostgresStore::Impl {
  std::mutex mu;
  Connection conn;

  // The schema version of the connected database: 0 for an empty one. A database that holds
  // other tables, or a pkiflow_schema of another application, is refused.
  Result<int> version() {
    auto marker = conn.exec("SELECT to_regclass('pkiflow_schema') IS NOT NULL");
    if (!marker) return marker.error();
    if ((*marker)[0].text(0) == "t") {
      auto v = conn.exec("SELECT application, version FROM pkiflow_schema");
      if (!v) return v.error();
      if (v->size() != 1 || (*v)[0].text(0) != "pkiflow")
        return Error(ErrorKind::invalid_input, conn.shown(),
                     "its pkiflow_schema table is not pkiflow's; refusing to touch this database");
      return static_cast<int>((*v)[0].integer(1));
    }
    auto tables =
        conn.exec("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()");
    if (!tables) return tables.error();
    if ((*tables)[0].integer(0) != 0)
      return Error(ErrorKind::invalid_input, conn.shown(),
                   "holds tables of another application, not pkiflow's state; refusing to touch "
                   "it (give pkiflow a database, or a schema in search_path, of its own)");
    return 0;
  }

  // Takes the database forward to `target` in one transaction, under an advisory lock so that
  // workers starting together migrate once; the version is read again under the lock.
  Status migrate_to(int target) {
    Transaction tx(conn);
    if (auto st = tx.begin(); !st) return st;
    Params lock;
    lock.bind(1, std::int64_t{sql::kApplicationId});
    if (auto l = conn.exec("SELECT pg_advisory_xact_lock($1::bigint)", lock); !l) return l.error();
    auto from = version();
    if (!from) return from.error();
    if (*from > sql::kCurrentVersion)
      return Error(ErrorKind::invalid_input, conn.shown(),
                   "schema version " + std::to_string(*from) + " is newer than this pkiflow (" +
                       std::to_string(sql::kCurrentVersion) + "); upgrade pkiflow");
    if (*from >= target) return tx.commit();
    for (int v = *from + 1; v <= target; ++v)
      if (auto st = conn.exec_script(sql::postgres_migrations()[static_cast<size_t>(v - 1)]); !st)
        return st.error().about(conn.shown() + " (migration to schema " + std::to_string(v) + ")");
    Params p;
    p.bind(1, std::int64_t{target});
    if (auto u = conn.exec("UPDATE pkiflow_schema SET version = $1::integer", p); !u)
      return u.error();
    return tx.commit();
  }

  Status check_readable() {
    auto v = version();
    if (!v) return v.error();
    if (*v == 0)
      return Error(ErrorKind::invalid_input, conn.shown(),
                   "no pkiflow state in this database: nothing was requested with this "
                   "state_url yet (`pkiflow request` creates it); check --state-url or state_url");
    if (*v != sql::kCurrentVersion)
      return Error(ErrorKind::invalid_input, conn.shown(),
                   "has schema version " + std::to_string(*v) + "; this pkiflow reads " +
                       std::to_string(sql::kCurrentVersion) +
                       (*v < sql::kCurrentVersion
                            ? ": run a verb that writes (pkiflow run) once to upgrade it"
                            : ": upgrade pkiflow"));
    return Ok{};
  }
};

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url, OpenMode mode,
                                                           const pki::Passphrase* password) {
  auto impl = std::make_unique<Impl>();
  const std::string* pw = password ? &password->reveal() : nullptr;
  if (auto st = impl->conn.connect(url, redact_url(url), pw); !st) return st.error();
  if (mode == OpenMode::read_only) {
    // The verbs that only read cannot write by mistake: the server refuses it.
    if (auto st = impl->conn.exec_script("SET default_transaction_read_only = on"); !st)
      return st.error();
    if (auto st = impl->check_readable(); !st) return st.error();
  } else if (auto st = impl->migrate_to(sql::kCurrentVersion); !st) {
    return st.error();
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

Status create_postgres_at_version(const std::string& url, int version) {
  PostgresStore::Impl impl;
  if (auto st = impl.conn.connect(url, redact_url(url), nullptr); !st) return st;
  return impl.migrate_to(version);
}

Result<int> PostgresStore::schema_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->version();
}

Result<Record> PostgresStore::create(const Record& record, const HistoryEntry& history) {
  std::lock_guard lock(impl_->mu);
  auto& c = impl_->conn;
  Transaction tx(c);
  if (auto st = tx.begin(); !st) return st.error();
  if (!record.renews.empty()) {
    // A renewal, decided in the same transaction as its insert: the renewed record is locked,
    // so two workers that find one renewal due plan it once (the second sees the first's
    // insert once it may go on).
    Params p;
    p.bind(1, std::string_view(record.renews));
    auto old = c.exec("SELECT state FROM records WHERE id = $1 FOR UPDATE", p);
    if (!old) return old.error();
    if (old->size() != 1 || (*old)[0].text(0) != to_string(RecordState::active))
      return Error(ErrorKind::invalid_input, "record " + record.renews,
                   "is not active (any more); it is not renewed");
    auto other = c.exec(
        "SELECT id FROM records WHERE renews = $1 AND state NOT IN ('retired', 'failed') LIMIT 1",
        p);
    if (!other) return other.error();
    if (other->size() == 1)
      return Error(ErrorKind::invalid_input, "record " + record.renews,
                   "is already being renewed by " + (*other)[0].text(0));
  }
  Params p;
  p.bind(1, std::string_view(record.id));
  const int next = sql::bind_fields(p, record, 2);
  p.bind(next, std::int64_t{1});
  auto ins = c.exec(std::string("INSERT INTO records (") + sql::kRecordColumns +
                        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,"
                        "$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30)",
                    p);
  if (!ins) return ins.error().about(c.shown() + " (record " + record.id + ")");
  if (auto h = insert_history(c, record.id, history); !h) return h.error();
  if (auto st = tx.commit(); !st) return st.error();
  Record out = record;
  out.version = 1;
  return out;
}

Result<std::optional<Record>> PostgresStore::get(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(id));
  auto rows = impl_->conn.exec(kSelectRecord + " WHERE id = $1", p);
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<Record>();
  return std::optional<Record>(sql::read_record((*rows)[0]));
}

Result<std::vector<Record>> PostgresStore::list(const RecordFilter& f) {
  std::lock_guard lock(impl_->mu);
  Params p;
  if (f.state)
    p.bind(1, std::string_view(to_string(*f.state)));
  else
    p.bind_null(1);
  if (f.kind)
    p.bind(2, std::string_view(to_string(*f.kind)));
  else
    p.bind_null(2);
  p.bind(3, millis(f.expiring_before));
  if (f.limit == 0)
    p.bind_null(4);  // LIMIT NULL: no limit
  else
    p.bind(4, static_cast<std::int64_t>(f.limit));
  for (const auto& [i, v] : {std::pair{5, &f.tenant}, std::pair{6, &f.remote_id}}) {
    if (v->empty())
      p.bind_null(i);
    else
      p.bind(i, std::string_view(*v));
  }
  auto rows = impl_->conn.exec(
      kSelectRecord +
          " WHERE ($1::text IS NULL OR state = $1::text) AND ($2::text IS NULL OR kind = $2::text)"
          " AND ($3::bigint IS NULL OR (not_after IS NOT NULL AND not_after < $3::bigint))"
          " AND ($5::text IS NULL OR tenant = $5::text)"
          " AND ($6::text IS NULL OR remote_id = $6::text)"
          " ORDER BY created_at, id LIMIT $4::bigint",
      p);
  return records_of(rows);
}

Result<std::vector<Record>> PostgresStore::apply(const std::vector<RecordWrite>& writes) {
  std::lock_guard lock(impl_->mu);
  auto& c = impl_->conn;
  Transaction tx(c);
  if (auto st = tx.begin(); !st) return st.error();
  std::vector<Record> out;
  out.reserve(writes.size());
  for (const auto& w : writes) {
    Params p;
    p.bind(1, std::string_view(w.record.id));
    const int next = sql::bind_fields(p, w.record, 2);
    p.bind(next, w.record.version);
    // A write that waits on another worker's uncommitted write of the same record sees its
    // version once that commits, matches nothing, and is refused as a conflict.
    auto rows = c.exec(
        "UPDATE records SET kind=$2, name=$3, tenant=$4, profile=$5, state=$6, "
        "failed_from=$7, remote_id=$8, remote_status=$9, key_path=$10, csr=$11, "
        "certificate=$12, chain=$13, not_before=$14, not_after=$15, "
        "thumbprint_sha1=$16, thumbprint_sha256=$17, renews=$18, superseded_by=$19, "
        "attempts=$20, next_attempt_at=$21, last_error=$22, created_at=$23, "
        "updated_at=$24, verified_at=$25, drift=$26, drift_note=$27, bundle_id=$28, "
        "bundle_exported_at=$29, version=version+1 WHERE id=$1 AND version=$30",
        p);
    if (!rows) return rows.error().about(c.shown() + " (record " + w.record.id + ")");
    if (rows->affected() != 1)
      return Error(ErrorKind::invalid_input, w.record.id,
                   std::string(kVersionConflict) + ": the record changed since version " +
                       std::to_string(w.record.version) + " was read (or does not exist)");
    if (w.history)
      if (auto h = insert_history(c, w.record.id, *w.history); !h) return h.error();
    Record r = w.record;
    r.version += 1;
    out.push_back(std::move(r));
  }
  if (auto st = tx.commit(); !st) return st.error();
  return out;
}

Result<std::vector<HistoryEntry>> PostgresStore::history(const std::string& record_id) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(record_id));
  return history_of(impl_->conn.exec(std::string("SELECT ") + sql::kHistoryColumns +
                                         " FROM history "
                                         "WHERE record_id = $1 ORDER BY seq",
                                     p));
}

Status PostgresStore::journal_begin(const Operation& op) {
  std::lock_guard lock(impl_->mu);
  Params p;
  sql::bind_operation(p, op);
  auto r = impl_->conn.exec(std::string("INSERT INTO journal (") + sql::kOperationColumns +
                                ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                            p);
  if (!r) return r.error().about(impl_->conn.shown() + " (operation " + op.op_id + ")");
  return Ok{};
}

Status PostgresStore::journal_update(const std::string& op_id, OperationState state,
                                     const std::string& response_summary, TimePoint at) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(op_id))
      .bind(2, std::string_view(to_string(state)))
      .bind(3, std::string_view(response_summary))
      .bind(4, to_millis(at));
  auto r = impl_->conn.exec(
      "UPDATE journal SET state = $2, response_summary = $3, updated_at = $4 WHERE op_id = $1", p);
  if (!r) return r.error();
  if (r->affected() != 1)
    return Error(ErrorKind::invalid_input, op_id, "no such operation in the journal");
  return Ok{};
}

Result<std::vector<Operation>> PostgresStore::journal_open() {
  std::lock_guard lock(impl_->mu);
  return operations_of(impl_->conn.exec(std::string("SELECT ") + sql::kOperationColumns +
                                        " FROM journal WHERE state IN ('pending', 'sent') "
                                        "ORDER BY created_at, op_id"));
}

Result<std::vector<Operation>> PostgresStore::journal_of(const std::string& record_id) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(record_id));
  return operations_of(impl_->conn.exec(std::string("SELECT ") + sql::kOperationColumns +
                                            " FROM journal WHERE record_id = $1 "
                                            "ORDER BY created_at, op_id",
                                        p));
}

Result<std::vector<Record>> PostgresStore::claim_due(const std::string& owner, TimePoint now,
                                                     TimePoint until,
                                                     const std::vector<RecordState>& states,
                                                     std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(owner))
      .bind(2, to_millis(until))
      .bind(3, std::string_view(state_array(states)))
      .bind(4, to_millis(now));
  if (limit == 0)
    p.bind_null(5);
  else
    p.bind(5, static_cast<std::int64_t>(limit));
  // SKIP LOCKED: rows another worker is claiming in this instant are passed over rather than
  // waited for; they are that worker's. The outer UPDATE then runs on rows this statement
  // holds locked, so no two workers ever lease one record at once.
  auto rows = impl_->conn.exec(
      std::string("UPDATE records SET lease_owner = $1::text, lease_expires_at = $2::bigint "
                  "WHERE id IN (SELECT id FROM records WHERE state = ANY($3::text[])"
                  " AND (next_attempt_at IS NULL OR next_attempt_at <= $4::bigint)"
                  " AND (lease_owner IS NULL OR lease_owner = $1::text"
                  " OR lease_expires_at <= $4::bigint)"
                  " ORDER BY next_attempt_at NULLS FIRST, created_at LIMIT $5::bigint"
                  " FOR UPDATE SKIP LOCKED) RETURNING ") +
          sql::kRecordColumns,
      p);
  return records_of(rows);
}

Result<std::vector<Record>> PostgresStore::due_page(const std::vector<RecordState>& states,
                                                    TimePoint now, const std::string& after_id,
                                                    std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(after_id))
      .bind(2, std::string_view(state_array(states)))
      .bind(3, to_millis(now))
      .bind(4, static_cast<std::int64_t>(limit));
  auto rows =
      impl_->conn.exec(kSelectRecord +
                           " WHERE id > $1::text AND state = ANY($2::text[])"
                           " AND (next_attempt_at IS NULL OR next_attempt_at <= $3::bigint)"
                           " AND NOT (state = 'active' AND id IN (SELECT renews FROM records"
                           " WHERE renews IS NOT NULL AND state IN ('planned', 'csrGenerated', "
                           "'signed', 'uploaded')))"
                           " ORDER BY id LIMIT $4::bigint",
                       p);
  return records_of(rows);
}

Result<std::vector<Record>> PostgresStore::claim_ids(const std::string& owner,
                                                     const std::vector<std::string>& ids,
                                                     TimePoint now, TimePoint until) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(owner))
      .bind(2, to_millis(until))
      .bind(3, std::string_view(text_array(ids)))
      .bind(4, to_millis(now));
  // As claim_due: rows another worker is claiming right now are skipped, not waited for.
  auto rows = impl_->conn.exec(
      std::string("UPDATE records SET lease_owner = $1::text, lease_expires_at = $2::bigint "
                  "WHERE id IN (SELECT id FROM records WHERE id = ANY($3::text[])"
                  " AND (next_attempt_at IS NULL OR next_attempt_at <= $4::bigint)"
                  " AND (lease_owner IS NULL OR lease_owner = $1::text"
                  " OR lease_expires_at <= $4::bigint)"
                  " FOR UPDATE SKIP LOCKED) RETURNING ") +
          sql::kRecordColumns,
      p);
  return records_of(rows);
}

Status PostgresStore::release(const std::string& owner, const std::vector<std::string>& ids) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(text_array(ids))).bind(2, std::string_view(owner));
  auto r = impl_->conn.exec(
      "UPDATE records SET lease_owner = NULL, lease_expires_at = NULL "
      "WHERE id = ANY($1::text[]) AND lease_owner = $2::text",
      p);
  if (!r) return r.error();
  return Ok{};
}

Result<std::optional<std::string>> PostgresStore::lease_owner(const std::string& id,
                                                              TimePoint now) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(id)).bind(2, to_millis(now));
  auto rows = impl_->conn.exec(
      "SELECT lease_owner FROM records WHERE id = $1 AND lease_owner IS NOT NULL AND "
      "lease_expires_at > $2::bigint",
      p);
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<std::string>();
  return std::optional<std::string>((*rows)[0].text(0));
}

Result<std::vector<Lease>> PostgresStore::leases(TimePoint now) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, to_millis(now));
  auto rows = impl_->conn.exec(
      "SELECT id, lease_owner, lease_expires_at FROM records WHERE lease_owner IS NOT NULL "
      "AND lease_expires_at > $1::bigint ORDER BY id",
      p);
  if (!rows) return rows.error();
  std::vector<Lease> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    const auto row = (*rows)[i];
    out.push_back({row.text(0), row.text(1), from_millis(row.integer(2))});
  }
  return out;
}

Result<std::size_t> PostgresStore::break_leases(const std::string& owner) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(owner));
  auto r = impl_->conn.exec(
      "UPDATE records SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1", p);
  if (!r) return r.error();
  return r->affected();
}

Result<std::vector<std::string>> PostgresStore::renew_leases(const std::string& owner,
                                                             const std::vector<std::string>& ids,
                                                             TimePoint until) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(text_array(ids)))
      .bind(2, std::string_view(owner))
      .bind(3, to_millis(until));
  auto rows = impl_->conn.exec(
      "UPDATE records SET lease_expires_at = $3::bigint WHERE id = ANY($1::text[]) AND "
      "lease_owner = $2::text RETURNING id",
      p);
  if (!rows) return rows.error();
  std::vector<std::string> held;
  held.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i)
    held.push_back((*rows)[i].text(0));
  return held;
}

Status PostgresStore::throttle(const std::string& tenant, TimePoint not_before, TimePoint now) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(tenant)).bind(2, to_millis(not_before)).bind(3, to_millis(now));
  auto r = impl_->conn.exec(
      "INSERT INTO tenant_throttle (tenant, not_before, updated_at) VALUES ($1, $2, $3) "
      "ON CONFLICT (tenant) DO UPDATE SET not_before = GREATEST(tenant_throttle.not_before, "
      "excluded.not_before), updated_at = excluded.updated_at",
      p);
  if (!r) return r.error();
  return Ok{};
}

Result<std::optional<TimePoint>> PostgresStore::not_before(const std::string& tenant,
                                                           TimePoint now) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(tenant)).bind(2, to_millis(now));
  auto rows = impl_->conn.exec(
      "SELECT not_before FROM tenant_throttle WHERE tenant = $1 AND not_before > $2::bigint", p);
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<TimePoint>();
  return std::optional<TimePoint>(from_millis((*rows)[0].integer(0)));
}

Result<StoreCounts> PostgresStore::counts() {
  std::lock_guard lock(impl_->mu);
  auto rows = impl_->conn.exec(
      "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM history), "
      "(SELECT count(*) FROM journal)");
  if (!rows) return rows.error();
  const auto row = (*rows)[0];
  return StoreCounts{static_cast<std::size_t>(row.integer(0)),
                     static_cast<std::size_t>(row.integer(1)),
                     static_cast<std::size_t>(row.integer(2))};
}

Result<std::vector<Record>> PostgresStore::records_page(const std::string& after_id,
                                                        std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(after_id)).bind(2, static_cast<std::int64_t>(limit));
  auto rows = impl_->conn.exec(kSelectRecord + " WHERE id > $1 ORDER BY id LIMIT $2::bigint", p);
  return records_of(rows);
}

Result<std::vector<HistoryEntry>> PostgresStore::history_page(std::int64_t after_seq,
                                                              std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, after_seq).bind(2, static_cast<std::int64_t>(limit));
  return history_of(impl_->conn.exec(std::string("SELECT ") + sql::kHistoryColumns +
                                         " FROM history "
                                         "WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint",
                                     p));
}

Result<std::vector<Operation>> PostgresStore::journal_page(const std::string& after_op_id,
                                                           std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Params p;
  p.bind(1, std::string_view(after_op_id)).bind(2, static_cast<std::int64_t>(limit));
  return operations_of(impl_->conn.exec(std::string("SELECT ") + sql::kOperationColumns +
                                            " FROM journal WHERE op_id > $1 ORDER BY op_id "
                                            "LIMIT $2::bigint",
                                        p));
}

namespace {

// An import into PostgreSQL: one transaction, the store's connection held throughout.
class PostgresImport final : public StoreImport {
 public:
  PostgresImport(std::mutex& mu, Connection& c) : lock_(mu), c_(c), tx_(c) {}
  Status begin() { return tx_.begin(); }

  Status add_records(const std::vector<Record>& records) override {
    for (const auto& r : records) {
      const Record plain = sql::without_links(r, links_);
      Params p;
      p.bind(1, std::string_view(r.id));
      p.bind(sql::bind_fields(p, plain, 2), r.version);
      auto ins = c_.exec(std::string("INSERT INTO records (") + sql::kRecordColumns +
                             ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,"
                             "$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30)",
                         p);
      if (!ins) {
        if (c_.last_sqlstate() == "23505")  // unique_violation
          return Error(ErrorKind::invalid_input, "record " + r.id,
                       "is already in " + c_.shown() + "; nothing was copied");
        return ins.error().about(c_.shown() + " (record " + r.id + ")");
      }
    }
    return Ok{};
  }

  Status add_history(const std::vector<HistoryEntry>& rows) override {
    for (const auto& h : rows)
      if (auto ok = insert_history(c_, h.record_id, h); !ok) return ok;
    return Ok{};
  }

  Status add_journal(const std::vector<Operation>& ops) override {
    for (const auto& op : ops) {
      Params p;
      sql::bind_operation(p, op);
      auto ins = c_.exec(std::string("INSERT INTO journal (") + sql::kOperationColumns +
                             ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                         p);
      if (!ins)
        return Error(ErrorKind::invalid_input, "operation " + op.op_id,
                     (c_.last_sqlstate() == "23505" ? "is already in " + c_.shown()
                                                    : ins.error().message()) +
                         "; nothing was copied");
    }
    return Ok{};
  }

  Status commit() override {
    for (const auto& l : links_) {
      Params p;
      p.bind(1, std::string_view(l.id))
          .bind_optional_text(2, l.renews)
          .bind_optional_text(3, l.superseded_by);
      auto up = c_.exec("UPDATE records SET renews = $2, superseded_by = $3 WHERE id = $1", p);
      if (!up) return sql::unresolved_links(l);
    }
    return tx_.commit();
  }

 private:
  std::unique_lock<std::mutex> lock_;
  Connection& c_;
  Transaction tx_;
  std::vector<sql::RecordLinks> links_;
};

}  // namespace

Result<std::unique_ptr<StoreImport>> PostgresStore::begin_import() {
  auto imp = std::make_unique<PostgresImport>(impl_->mu, impl_->conn);
  if (auto st = imp->begin(); !st) return st.error();
  return std::unique_ptr<StoreImport>(std::move(imp));
}

}  // namespace pkiflow::state

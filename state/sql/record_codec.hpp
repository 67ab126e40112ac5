// The forms of record fields shared by the SQL backends: times as milliseconds, text as the
// backends can store it, and the order in which both read and write a record's columns. The
// reading and binding are templates over a backend's row and statement types, so SQLite and
// PostgreSQL store a record the same way by construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"
#include "state/record.hpp"

namespace pkiflow::state::sql {

std::int64_t to_millis(TimePoint t);
TimePoint from_millis(std::int64_t ms);

inline std::optional<std::int64_t> millis(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return to_millis(*t);
}

inline std::optional<TimePoint> time_of(const std::optional<std::int64_t>& ms) {
  if (!ms) return std::nullopt;
  return from_millis(*ms);
}

// `text` as every backend stores it: bytes that are not UTF-8, and NUL, become U+FFFD.
// PostgreSQL refuses both in a text column, and the text often comes from a remote service (an
// error message, a listed name), so a hostile answer could otherwise make a record unwritable.
// SQLite does the same so that a record reads back the same from either store.
std::string storable_text(std::string_view text);

// The columns of `records` in the order the backends read and write them.
inline constexpr const char* kRecordColumns =
    "id, kind, name, tenant, profile, state, failed_from, remote_id, remote_status, key_path, "
    "csr, certificate, chain, not_before, not_after, thumbprint_sha1, thumbprint_sha256, renews, "
    "superseded_by, attempts, next_attempt_at, last_error, created_at, updated_at, verified_at, "
    "drift, drift_note, bundle_id, bundle_exported_at, version";
inline constexpr int kRecordColumnCount = 30;

inline constexpr const char* kOperationColumns =
    "op_id, record_id, action, request_summary, client_request_id, state, response_summary, "
    "created_at, updated_at";

// Reads the columns of kRecordColumns from a row: `Row` has text(c), integer(c),
// optional_integer(c) and is_null(c) for columns counted from 0.
template <class Row>
Record read_record(const Row& row) {
  Record r;
  int c = 0;
  r.id = row.text(c++);
  r.kind = parse_kind(row.text(c++)).value_or(RecordKind::gsa_tls_ca);
  r.name = row.text(c++);
  r.tenant = row.text(c++);
  r.profile_json = row.text(c++);
  r.state = parse_state(row.text(c++)).value_or(RecordState::failed);
  if (!row.is_null(c)) r.failed_from = parse_state(row.text(c));
  ++c;
  r.remote_id = row.text(c++);
  r.remote_status = row.text(c++);
  r.key_path = row.text(c++);
  r.csr_pem = row.text(c++);
  r.certificate_pem = row.text(c++);
  r.chain_pem = row.text(c++);
  r.not_before = time_of(row.optional_integer(c++));
  r.not_after = time_of(row.optional_integer(c++));
  r.thumbprint_sha1 = row.text(c++);
  r.thumbprint_sha256 = row.text(c++);
  r.renews = row.text(c++);
  r.superseded_by = row.text(c++);
  r.attempts = static_cast<int>(row.integer(c++));
  r.next_attempt_at = time_of(row.optional_integer(c++));
  r.last_error = row.text(c++);
  r.created_at = from_millis(row.integer(c++));
  r.updated_at = from_millis(row.integer(c++));
  r.verified_at = time_of(row.optional_integer(c++));
  r.drift = row.text(c++);
  r.drift_note = row.text(c++);
  r.bundle_id = row.text(c++);
  r.bundle_exported_at = time_of(row.optional_integer(c++));
  r.version = row.integer(c++);
  return r;
}

// Binds a record's columns (all but id and version) from parameter `p` on, in the order of
// kRecordColumns; returns the next parameter index. `Stmt` has bind(i, string_view),
// bind(i, int64), bind(i, optional<int64>), bind_optional_text(i, text) ("" binds NULL) and
// bind_null(i).
template <class Stmt>
int bind_fields(Stmt& st, const Record& r, int p) {
  auto text = [&](const std::string& v) { st.bind(p++, std::string_view(storable_text(v))); };
  st.bind(p++, std::string_view(to_string(r.kind)));
  text(r.name);
  text(r.tenant);
  text(r.profile_json);
  st.bind(p++, std::string_view(to_string(r.state)));
  if (r.failed_from)
    st.bind(p++, std::string_view(to_string(*r.failed_from)));
  else
    st.bind_null(p++);
  text(r.remote_id);
  text(r.remote_status);
  text(r.key_path);
  text(r.csr_pem);
  text(r.certificate_pem);
  text(r.chain_pem);
  st.bind(p++, millis(r.not_before));
  st.bind(p++, millis(r.not_after));
  text(r.thumbprint_sha1);
  text(r.thumbprint_sha256);
  st.bind_optional_text(p++, storable_text(r.renews));
  st.bind_optional_text(p++, storable_text(r.superseded_by));
  st.bind(p++, static_cast<std::int64_t>(r.attempts));
  st.bind(p++, millis(r.next_attempt_at));
  text(r.last_error);
  st.bind(p++, to_millis(r.created_at));
  st.bind(p++, to_millis(r.updated_at));
  st.bind(p++, millis(r.verified_at));
  text(r.drift);
  text(r.drift_note);
  text(r.bundle_id);
  st.bind(p++, millis(r.bundle_exported_at));
  return p;
}

// Binds a history row's columns (record_id, from_state, to_state, at, reason, actor, details)
// from parameter 1 on.
template <class Stmt>
void bind_history(Stmt& st, const std::string& record_id, const HistoryEntry& h) {
  st.bind(1, std::string_view(storable_text(record_id)));
  if (h.from)
    st.bind(2, std::string_view(to_string(*h.from)));
  else
    st.bind_null(2);
  st.bind(3, std::string_view(to_string(h.to)));
  st.bind(4, to_millis(h.at));
  st.bind(5, std::string_view(storable_text(h.reason)));
  st.bind(6, std::string_view(storable_text(h.actor)));
  st.bind(7, std::string_view(storable_text(h.details_json)));
}

inline constexpr const char* kHistoryColumns =
    "seq, record_id, from_state, to_state, at, reason, actor, details";

// Reads the columns of kHistoryColumns.
template <class Row>
HistoryEntry read_history(const Row& row) {
  HistoryEntry h;
  h.seq = row.integer(0);
  h.record_id = row.text(1);
  if (!row.is_null(2)) h.from = parse_state(row.text(2));
  h.to = parse_state(row.text(3)).value_or(RecordState::failed);
  h.at = from_millis(row.integer(4));
  h.reason = row.text(5);
  h.actor = row.text(6);
  h.details_json = row.text(7);
  return h;
}

// Binds an operation's columns in the order of kOperationColumns from parameter 1 on.
template <class Stmt>
void bind_operation(Stmt& st, const Operation& op) {
  st.bind(1, std::string_view(storable_text(op.op_id)));
  st.bind(2, std::string_view(storable_text(op.record_id)));
  st.bind(3, std::string_view(storable_text(op.action)));
  st.bind(4, std::string_view(storable_text(op.request_summary)));
  st.bind(5, std::string_view(storable_text(op.client_request_id)));
  st.bind(6, std::string_view(to_string(op.state)));
  st.bind(7, std::string_view(storable_text(op.response_summary)));
  st.bind(8, to_millis(op.created_at));
  st.bind(9, to_millis(op.updated_at));
}

// A copied record's links to other records (`pkiflow state migrate`): set once every record of
// the copy is in, since a record may name one that comes later.
struct RecordLinks {
  std::string id, renews, superseded_by;
};

// `r` without its links, which go to `later` when it has any.
inline Record without_links(const Record& r, std::vector<RecordLinks>& later) {
  Record plain = r;
  plain.renews.clear();
  plain.superseded_by.clear();
  if (!r.renews.empty() || !r.superseded_by.empty())
    later.push_back({r.id, r.renews, r.superseded_by});
  return plain;
}

// Why a copy is refused when a record's link names a record the copy does not hold.
inline Error unresolved_links(const RecordLinks& l) {
  return Error(ErrorKind::invalid_input, "record " + l.id,
               "names a record that was not copied (renews \"" + l.renews + "\", superseded by \"" +
                   l.superseded_by + "\"); nothing was copied");
}

template <class Row>
Operation read_operation(const Row& row) {
  Operation op;
  op.op_id = row.text(0);
  op.record_id = row.text(1);
  op.action = row.text(2);
  op.request_summary = row.text(3);
  op.client_request_id = row.text(4);
  op.state = parse_operation_state(row.text(5)).value_or(OperationState::failed);
  op.response_summary = row.text(6);
  op.created_at = from_millis(row.integer(7));
  op.updated_at = from_millis(row.integer(8));
  return op;
}

}  // namespace pkiflow::state::sql

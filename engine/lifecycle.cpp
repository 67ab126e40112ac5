#include "engine/lifecycle.hpp"
#include "engine/pki/json_text.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace pkiflow::engine {

namespace {

using S = RecordState;

const std::map<S, std::vector<S>>& moves() {
  static const std::map<S, std::vector<S>> table{
      {S::planned, {S::csrGenerated, S::signed_, S::failed, S::retired}},
      {S::csrGenerated, {S::signed_, S::failed, S::retired}},
      {S::signed_, {S::uploaded, S::failed, S::retired}},
      {S::uploaded, {S::active, S::failed, S::retired}},
      {S::active, {S::superseded, S::retired}},
      {S::superseded, {S::retired}},
      {S::failed, {S::planned, S::csrGenerated, S::signed_, S::uploaded, S::retired}},
      {S::retired, {}},
  };
  return table;
}

std::string names(const std::vector<S>& states) {
  if (states.empty()) return "none: it is final";
  std::string out;
  for (auto s : states)
    out += (out.empty() ? "" : ", ") + std::string(state::to_string(s));
  return out;
}

Error illegal(const Record& r, S to) {
  return Error(ErrorKind::invalid_input, "record " + r.id,
               std::string("illegal transition ") + state::to_string(r.state) + " -> " +
                   state::to_string(to) + " (from " + state::to_string(r.state) +
                   " the record may go to: " + names(legal_targets(r.state)) + ")");
}

// The forward moves of the main line (and a retry's return to one of them).
bool is_progress(S to) {
  return to == S::csrGenerated || to == S::signed_ || to == S::uploaded || to == S::active;
}

// The record holds the certificate `a` from now on (signed, or adopted from the tenant).
void take_certificate(Record& r, const SignedArtifacts& a) {
  r.certificate_pem = a.certificate_pem;
  r.chain_pem = a.chain_pem;
  r.not_before = a.not_before;
  r.not_after = a.not_after;
  r.thumbprint_sha1 = a.thumbprint_sha1;
  r.thumbprint_sha256 = a.thumbprint_sha256;
}

Status require(bool ok, const Record& r, const std::string& what) {
  if (ok) return Ok{};
  return Error(ErrorKind::invalid_input, "record " + r.id, what);
}

}  // namespace

bool is_legal(RecordState from, RecordState to) {
  const auto& t = moves().at(from);
  return std::find(t.begin(), t.end(), to) != t.end();
}

std::vector<RecordState> legal_targets(RecordState from) {
  return moves().at(from);
}

std::chrono::seconds backoff_delay(int attempts, double jitter, const BackoffPolicy& policy) {
  if (attempts < 1) attempts = 1;
  const double cap = static_cast<double>(policy.cap.count());
  const double raw =
      static_cast<double>(policy.base.count()) * std::pow(2.0, std::min(attempts - 1, 40));
  const double factor = 0.5 + 0.5 * std::clamp(jitter, 0.0, 0.999999);
  return std::chrono::seconds(static_cast<std::int64_t>(std::min(raw, cap) * factor));
}

Lifecycle::Lifecycle(state::StateStore& store, const Clock& clock, std::string actor,
                     BackoffPolicy backoff)
    : store_(store), clock_(clock), actor_(std::move(actor)), backoff_(backoff) {}

Result<Record> Lifecycle::load(const std::string& id) {
  auto r = store_.get(id);
  if (!r) return r.error();
  if (!*r) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
  return **r;
}

Result<Record> Lifecycle::load_active(const std::string& id, const std::string& rule) {
  auto r = load(id);
  if (!r || r->state == RecordState::active) return r;
  return Error(ErrorKind::invalid_input, "record " + id,
               rule + "; this one is " + state::to_string(r->state));
}

state::HistoryEntry Lifecycle::entry(const Record& before, RecordState to,
                                     const std::string& reason,
                                     const std::string& details_json) const {
  state::HistoryEntry h;
  h.record_id = before.id;
  h.from = before.state;
  h.to = to;
  h.at = clock_.now();
  h.reason = reason;
  h.actor = actor_;
  h.details_json = details_json;
  return h;
}

Record Lifecycle::advanced(const Record& current, RecordState to) const {
  Record next = current;
  next.state = to;
  next.updated_at = clock_.now();
  if (is_progress(to)) {
    // Progress ends a run of transient failures: the count, the wait and the error go.
    next.attempts = 0;
    next.next_attempt_at.reset();
    next.last_error.clear();
  }
  return next;
}

Result<Record> Lifecycle::move(const RecordRef& rec, RecordState to, const std::string& reason,
                               const std::string& details_json, const Effect& effect,
                               const Companions& companions) {
  // The caller's copy, unless it already shows the move done: that is decided on the store.
  if (rec.held && rec.held->state != to) {
    auto moved = move_from(*rec.held, to, reason, details_json, effect, companions);
    // Refused (the record changed since the copy: a version conflict), or failed on the copy:
    // decided again on the stored record, as without a copy. Nothing was written.
    if (moved) return moved;
  }
  auto current = load(rec.id);
  if (!current) return current.error();
  return move_from(*current, to, reason, details_json, effect, companions);
}

Result<Record> Lifecycle::move_from(const Record& current, RecordState to,
                                    const std::string& reason, const std::string& details_json,
                                    const Effect& effect, const Companions& companions) {
  if (current.state == to) return current;  // already done: a rerun changes nothing
  if (!is_legal(current.state, to)) return illegal(current, to);
  Record next = advanced(current, to);
  if (auto st = effect(next, current); !st) return st.error();
  std::vector<state::RecordWrite> writes{{next, entry(current, to, reason, details_json)}};
  if (companions) {
    auto more = companions(next);
    if (!more) return more.error();
    writes.insert(writes.end(), more->begin(), more->end());
  }
  auto written = store_.apply(writes);
  if (!written) return written.error();
  return written->front();
}

Status check_new_record(state::StateStore& store, const NewRecord& n) {
  if (n.kind != state::RecordKind::gsa_tls_ca || !n.renews.empty()) return Ok{};
  state::RecordFilter f;
  f.kind = state::RecordKind::gsa_tls_ca;
  f.tenant = n.tenant;
  auto all = store.list(f);
  if (!all) return all.error();
  for (const auto& r : *all) {
    if (r.tenant != n.tenant || r.state == RecordState::retired ||
        r.state == RecordState::superseded)
      continue;
    return Error(ErrorKind::invalid_input, "tenant " + n.tenant,
                 "already has a TLS-inspection CA record, " + r.id + " (" + r.name + ", " +
                     state::to_string(r.state) +
                     "); the service allows one active certificate at a time: renew that "
                     "record (pkiflow renew " +
                     r.id + ") or cancel it first");
  }
  return Ok{};
}

Result<Record> Lifecycle::insert(const NewRecord& n, RecordState state, const std::string& reason,
                                 const std::function<void(Record&)>& fill) {
  Record r;
  r.id = n.id;
  r.kind = n.kind;
  r.name = n.name;
  r.tenant = n.tenant;
  r.profile_json = n.profile_json;
  r.renews = n.renews;
  r.state = state;
  r.created_at = r.updated_at = clock_.now();
  if (fill) fill(r);
  state::HistoryEntry h;
  h.record_id = r.id;
  h.to = state;
  h.at = r.created_at;
  h.reason = reason;
  h.actor = actor_;
  return store_.create(r, h);
}

Result<Record> Lifecycle::plan(const NewRecord& n, const std::string& reason) {
  return insert(n, RecordState::planned, reason);
}

Result<Record> Lifecycle::adopted(const NewRecord& n, const SignedArtifacts& a,
                                  const std::string& remote_id, const std::string& remote_status,
                                  const std::string& reason) {
  if (auto st = check_new_record(store_, n); !st) return st.error();
  return insert(n, RecordState::active, reason, [&](Record& r) {
    r.remote_id = remote_id;
    r.remote_status = remote_status;
    take_certificate(r, a);
  });
}

Result<Record> Lifecycle::csr_generated(const RecordRef& rec, const CsrArtifacts& a) {
  return move(rec, RecordState::csrGenerated, "CSR generated", "{}",
              [&](Record& r, const Record&) -> Status {
                if (auto st = require(!a.csr_pem.empty(), r, "a CSR is required"); !st) return st;
                r.csr_pem = a.csr_pem;
                r.key_path = a.key_path;
                r.remote_id = a.remote_id;
                r.remote_status = a.remote_status;
                return Ok{};
              });
}

Result<Record> Lifecycle::signed_(const RecordRef& rec, const SignedArtifacts& a) {
  return move(
      rec, RecordState::signed_, "certificate signed and validated", "{}",
      [&](Record& r, const Record& before) -> Status {
        if (before.state == RecordState::planned) {
          if (auto st = require(before.kind != state::RecordKind::gsa_tls_ca, r,
                                "a TLS-inspection CA cannot be imported: the service makes its key "
                                "and CSR");
              !st)
            return st;
        }
        if (auto st = require(!a.certificate_pem.empty(), r, "a certificate is required"); !st)
          return st;
        if (auto st = require(a.not_after > a.not_before, r, "the certificate's validity is empty");
            !st)
          return st;
        take_certificate(r, a);
        return Ok{};
      });
}

Result<std::vector<Record>> Lifecycle::exported(const std::vector<std::string>& ids,
                                                const std::string& bundle_id,
                                                const std::string& where) {
  std::vector<state::RecordWrite> writes;
  for (const auto& id : ids) {
    auto current = load(id);
    if (!current) return current.error();
    if (auto st = require(current->state == RecordState::csrGenerated, *current,
                          "is " + std::string(state::to_string(current->state)) +
                              "; only a record in csrGenerated waits for a signature");
        !st)
      return st.error();
    Record next = *current;
    next.bundle_id = bundle_id;
    next.bundle_exported_at = next.updated_at = clock_.now();
    writes.push_back(
        {next, entry(*current, current->state,
                     "CSR sent out for offline signing in bundle " + bundle_id + " (" + where + ")",
                     "{}")});
  }
  return store_.apply(writes);
}

Result<std::vector<Record>> Lifecycle::signed_all(
    const std::vector<std::pair<std::string, SignedArtifacts>>& certificates,
    const std::string& reason) {
  std::vector<state::RecordWrite> writes;
  for (const auto& [id, a] : certificates) {
    auto current = load(id);
    if (!current) return current.error();
    if (current->state != RecordState::csrGenerated) return illegal(*current, RecordState::signed_);
    if (auto st =
            require(a.not_after > a.not_before, *current, "the certificate's validity is empty");
        !st)
      return st.error();
    Record next = advanced(*current, RecordState::signed_);
    take_certificate(next, a);
    writes.push_back({next, entry(*current, RecordState::signed_, reason, "{}")});
  }
  return store_.apply(writes);
}

Result<Record> Lifecycle::uploaded(const RecordRef& rec, const std::string& remote_status,
                                   const std::string& remote_id) {
  return move(
      rec, RecordState::uploaded, "uploaded", "{}", [&](Record& r, const Record&) -> Status {
        if (auto st = require(!r.certificate_pem.empty(), r, "nothing to upload: no certificate");
            !st)
          return st;
        r.remote_status = remote_status;
        if (!remote_id.empty()) r.remote_id = remote_id;
        return Ok{};
      });
}

Result<Record> Lifecycle::activated(
    const RecordRef& rec, const std::string& remote_status,
    const std::function<std::string(const Record&)>& superseded_note) {
  const std::string& id = rec.id;
  auto effect = [&](Record& r, const Record&) -> Status {
    r.remote_status = remote_status;
    return Ok{};
  };
  // A renewal replaces its predecessor in the same transaction: never two active, never none.
  auto supersede = [&](const Record& next) -> Result<std::vector<state::RecordWrite>> {
    std::vector<state::RecordWrite> writes;
    if (next.renews.empty()) return writes;
    auto old = load(next.renews);
    if (!old) return old.error();
    if (old->state != RecordState::active) return writes;
    Record sup = *old;
    sup.state = RecordState::superseded;
    sup.superseded_by = id;
    sup.updated_at = next.updated_at;
    const std::string note = superseded_note ? superseded_note(*old) : "";
    writes.push_back({sup, entry(*old, RecordState::superseded,
                                 "superseded by " + id + (note.empty() ? "" : "; " + note), "{}")});
    return writes;
  };
  return move(rec, RecordState::active, "confirmed active", "{}", effect, supersede);
}

Result<Record> Lifecycle::failed(const std::string& id, const std::string& reason) {
  return move(id, RecordState::failed, reason, "{}",
              [&](Record& r, const Record& before) -> Status {
                r.failed_from = before.state;
                r.last_error = reason;
                r.next_attempt_at.reset();
                return Ok{};
              });
}

Result<Record> Lifecycle::transient_failure(const std::string& id, const std::string& error,
                                            double jitter) {
  auto current = load(id);
  if (!current) return current.error();
  const auto s = current->state;
  if (s == RecordState::retired || s == RecordState::failed || s == RecordState::superseded)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("no work is due in state ") + state::to_string(s));
  Record next = *current;
  next.attempts += 1;
  next.last_error = error;
  next.updated_at = clock_.now();
  next.next_attempt_at = next.updated_at + backoff_delay(next.attempts, jitter, backoff_);
  auto written = store_.apply(
      {{next, entry(*current, s,
                    "transient failure (attempt " + std::to_string(next.attempts) + "): " + error,
                    "{}")}});
  if (!written) return written.error();
  return written->front();
}

Result<Record> Lifecycle::observed(const std::string& id, const std::string& drift,
                                   const std::string& note, const std::string& done,
                                   bool fields_pending) {
  auto current = load_active(id, "only an active record's object is checked for drift");
  if (!current) return current.error();
  Record next = *current;
  if (!fields_pending) next.verified_at = clock_.now();
  next.drift = drift;
  next.drift_note = note;
  next.attempts = 0;
  next.next_attempt_at.reset();
  next.last_error.clear();
  std::string reason;
  if (drift != current->drift)
    reason = !drift.empty() ? "drift (" + drift + "): " + note
                            : "drift cleared: the remote object matches the record again";
  if (!done.empty()) reason += (reason.empty() ? "" : "; ") + done;
  state::RecordWrite w{next, std::nullopt};
  if (!reason.empty()) {
    next.updated_at = clock_.now();
    w = {next, entry(*current, current->state, reason, "{}")};
  }
  auto written = store_.apply({w});
  if (!written) return written.error();
  return written->front();
}

Result<Record> Lifecycle::reprovisioned(const std::string& id, const std::string& remote_id,
                                        const std::string& remote_status,
                                        const std::string& reason) {
  auto current = load_active(id, "only an active record is repaired");
  if (!current) return current.error();
  Record next = *current;
  next.remote_id = remote_id;
  next.remote_status = remote_status;
  next.verified_at = next.updated_at = clock_.now();
  next.drift.clear();
  next.drift_note.clear();
  auto written = store_.apply({{next, entry(*current, current->state, reason, "{}")}});
  if (!written) return written.error();
  return written->front();
}

Result<Record> Lifecycle::retry(const std::string& id) {
  auto current = load(id);
  if (!current) return current.error();
  if (current->state != RecordState::failed)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("retry applies to failed records; this one is ") +
                     state::to_string(current->state));
  const RecordState back = current->failed_from.value_or(RecordState::planned);
  return move(id, back, "retried by an operator", "{}", [&](Record& r, const Record&) -> Status {
    r.failed_from.reset();
    r.attempts = 0;
    r.next_attempt_at = clock_.now();
    r.last_error.clear();
    return Ok{};
  });
}

Result<Record> Lifecycle::cancel(const std::string& id) {
  return move(id, RecordState::retired, "cancelled by an operator", "{}",
              [&](Record&, const Record& before) -> Status {
                if (before.state == RecordState::active || before.state == RecordState::superseded)
                  return Error(ErrorKind::invalid_input, "record " + id,
                               std::string("is ") + state::to_string(before.state) +
                                   "; cancel is for records that never became active (retire it "
                                   "once its successor is active)");
                return Ok{};
              });
}

Result<Record> Lifecycle::retire(const std::string& id, const std::string& reason) {
  return move(id, RecordState::retired, reason, "{}",
              [](Record&, const Record&) -> Status { return Ok{}; });
}

Result<Record> Lifecycle::renew(const std::string& id, const std::string& successor_id,
                                const std::optional<std::string>& profile_json,
                                const std::string& why) {
  auto current = load(id);
  if (!current) return current.error();
  if (current->state != RecordState::active)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("only an active record is renewed; this one is ") +
                     state::to_string(current->state));
  // "Already being renewed" is decided by the store, in the transaction that inserts it.
  std::string profile = profile_json.value_or(current->profile_json);
  if (!profile_json) {  // the successor of an adopted record is pkiflow's own
    auto p = nlohmann::json::parse(profile, nullptr, false);
    if (p.is_object() && p.erase("adopted") > 0) profile = json_text(p);
  }
  NewRecord n{successor_id, current->kind, current->name, current->tenant, profile, id};
  return plan(n, "renewal of " + id + (why.empty() ? "" : "; " + why));
}

}  // namespace pkiflow::engine

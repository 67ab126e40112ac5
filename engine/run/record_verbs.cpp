// The verbs that work one record outside a run: cancel, enable, verify, repair.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "engine/run/workflow_impl.hpp"

namespace pkiflow::engine {

namespace {

// Runs one coroutine on `ioc` to its end (the verbs that work a single record).
template <class T, class F>
std::optional<T> run_to_end(net::io_context& ioc, F make) {
  std::optional<T> out;
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { out = co_await make(); },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.restart();
  ioc.run();
  return out;
}

// Why a verb may not touch a record now: another live run holds it.
Status not_held_elsewhere(state::StateStore& store, const Record& r, TimePoint now) {
  auto who = store.lease_owner(r.id, now);
  if (!who) return who.error();
  if (!*who || owner_is_dead(**who)) return Ok{};
  return Error(ErrorKind::busy, "record " + r.id,
               "a run holds it (" + **who + "); try again when that run has finished");
}

}  // namespace

Status Workflow::cancel(net::io_context& ioc, const std::string& id, bool keep_remote) {
  auto& m = *impl_;
  auto rec = m.store.get(id);
  if (!rec) return rec.error();
  if (!*rec) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
  const Record r = **rec;
  // Guard before effect: everything the lifecycle would refuse is refused before a request
  // leaves (a dry run says the same).
  if (r.state == RecordState::active || r.state == RecordState::superseded)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("is ") + state::to_string(r.state) +
                     "; cancel is for records that never became active (renew it, and the old "
                     "one is retired once its successor is active); nothing was sent");
  if (!is_legal(r.state, RecordState::retired))
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("is ") + state::to_string(r.state) + "; there is nothing to cancel");
  if (auto st = not_held_elsewhere(m.store, r, m.clock.now()); !st) return st;
  if (keep_remote) {
    if (m.opt.dry_run) return Ok{};
    auto c = m.life.cancel(id);
    if (!c) return c.error();
    return Ok{};
  }
  if (auto st = sole_owner(m.store, r); !st) return st;
  // A create may have reached the service although no remote id was recorded (its answer was
  // lost): the provider then looks for it by the names the journal holds.
  bool created_maybe = !r.remote_id.empty();
  if (auto ops = m.store.journal_of(r.id); ops)
    for (const auto& op : *ops)
      created_maybe = created_maybe || op.action == "create";
  if (created_maybe) {
    auto p = m.wiring.provider ? m.wiring.provider(r)
                               : Result<std::shared_ptr<providers::Provider>>(Error(
                                     ErrorKind::invalid_input, "record " + id, "no provider"));
    if (!p) return p.error();
    StoreJournal journal(m.store, m.clock, r.id, m.opt.dry_run);
    auto done = run_to_end<Status>(ioc, [&] { return (*p)->retire(r, journal); });
    if (!done || !*done) {
      const Error e =
          done ? done->error() : Error(ErrorKind::unavailable, "record " + id, "no answer");
      if (e.kind() == ErrorKind::not_sent) return e;
      return Error(
          e.kind(), "record " + id,
          "its remote object " +
              (r.remote_id.empty() ? std::string("(found by its journaled name)") : r.remote_id) +
              " could not be deleted (" + e.what() +
              "); the record stays as it is (--keep-remote cancels it anyway)");
    }
  }
  if (m.opt.dry_run) return Ok{};
  auto c = m.life.cancel(id);
  if (!c) return c.error();
  return Ok{};
}

Result<RecordOutcome> Workflow::enable(net::io_context& ioc, const std::string& id) {
  auto& m = *impl_;
  auto rec = m.store.get(id);
  if (!rec) return rec.error();
  if (!*rec) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
  const Record r = **rec;
  if (r.kind != state::RecordKind::gsa_tls_ca)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("is a ") + state::to_string(r.kind) +
                     " record; only TLS-inspection CAs are enabled (the others are in force once "
                     "uploaded)");
  if (r.state != RecordState::uploaded)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("is ") + state::to_string(r.state) +
                     "; only an uploaded (staged) certificate can be enabled; nothing was sent");
  if (auto st = not_held_elsewhere(m.store, r, m.clock.now()); !st) return st.error();
  auto p = m.wiring.provider ? m.wiring.provider(r)
                             : Result<std::shared_ptr<providers::Provider>>(
                                   Error(ErrorKind::invalid_input, "record " + id, "no provider"));
  if (!p) return p.error();
  StoreJournal journal(m.store, m.clock, r.id, m.opt.dry_run);
  auto step =
      run_to_end<Step>(ioc, [&] { return m.confirm(r, **p, journal, /*force_enable=*/true); });
  RecordOutcome out = outcome_of(r, Outcome::waiting);
  if (!step) return Error(ErrorKind::unavailable, "record " + id, "no answer");
  if (!step->record) return step->record.error();
  out.to = step->record->state;
  out.result = out.to != out.from ? Outcome::progressed : Outcome::waiting;
  out.note = step->waiting;
  return out;
}

namespace {

// The record a single-record drift verb works on: it must be active and not held by a run.
Result<Record> active_record(state::StateStore& store, const std::string& id, TimePoint now,
                             const char* verb) {
  auto rec = store.get(id);
  if (!rec) return rec.error();
  if (!*rec) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
  const Record& r = **rec;
  if (r.state != RecordState::active)
    return Error(ErrorKind::invalid_input, "record " + id,
                 std::string("is ") + state::to_string(r.state) + "; " + verb +
                     " applies to active records (the ones whose object is live in the tenant)");
  if (auto st = not_held_elsewhere(store, r, now); !st) return st.error();
  return r;
}

}  // namespace

Result<RecordOutcome> Workflow::verify(net::io_context& ioc, const std::string& id) {
  auto& m = *impl_;
  auto r = active_record(m.store, id, m.clock.now(), "verify");
  if (!r) return r.error();
  auto p = m.wiring.provider(*r);
  if (!p) return p.error();
  StoreJournal journal(m.store, m.clock, r->id, m.opt.dry_run);
  auto c = run_to_end<Check>(ioc, [&] { return m.check(*r, **p, journal, /*fix_fields=*/false); });
  if (!c) return Error(ErrorKind::unavailable, "record " + id, "no answer");
  if (!c->record) return c->record.error();
  RecordOutcome out = outcome_of(*r, Outcome::unchanged, c->note);
  out.drift = to_string(c->finding.condition);
  out.verified = true;
  return out;
}

Result<RecordOutcome> Workflow::repair(net::io_context& ioc, const std::string& id) {
  auto& m = *impl_;
  auto r = active_record(m.store, id, m.clock.now(), "repair");
  if (!r) return r.error();
  auto p = m.wiring.provider(*r);
  if (!p) return p.error();
  StoreJournal journal(m.store, m.clock, r->id, m.opt.dry_run);
  // What is there now (a stored drift may be a day old), with mutable fields brought along.
  auto c = run_to_end<Check>(ioc, [&] { return m.check(*r, **p, journal, /*fix_fields=*/true); });
  if (!c) return Error(ErrorKind::unavailable, "record " + id, "no answer");
  if (!c->record) return c->record.error();
  const auto condition = c->finding.condition;
  const RepairPlan plan = repair_plan(r->kind, condition);
  RecordOutcome out = outcome_of(*r, Outcome::unchanged);
  out.drift = to_string(condition);
  out.verified = true;
  out.note = condition == DriftCondition::none ? c->note : plan.reason;
  if (plan.action == RepairPlan::Action::nothing) return out;
  const std::string why =
      std::string("repair of drift (") + to_string(condition) + "): " + c->finding.message;
  if (plan.action == RepairPlan::Action::renew) {
    if (m.opt.dry_run) return out;
    std::optional<std::string> profile;
    if (m.wiring.renewal)
      if (auto plan_of = m.wiring.renewal(*r)) profile = plan_of->profile_json;
    auto successor = m.life.renew(r->id, new_record_id(m.rng), profile, why);
    if (!successor) return successor.error();
    out.result = Outcome::progressed;
    out.note = plan.reason + " (successor " + successor->id + ")";
    return out;
  }
  if (plan.action == RepairPlan::Action::enable) {
    auto st = run_to_end<Status>(ioc, [&] { return (*p)->enable(*r, journal); });
    if (!st || !*st) return st ? st->error() : Error(ErrorKind::unavailable, id, "no answer");
    if (m.opt.dry_run) return out;
    auto again = run_to_end<Check>(ioc, [&] { return m.check(*r, **p, journal, false); });
    if (!again || !again->record)
      return again ? again->record.error() : Error(ErrorKind::unavailable, id, "no answer");
    out.drift = to_string(again->finding.condition);
    out.note = plan.reason + "; now: " + again->note;
    out.result = Outcome::progressed;
    return out;
  }
  auto up = run_to_end<Result<providers::Uploaded>>(ioc, [&] { return (*p)->upload(*r, journal); });
  if (!up || !*up) return up ? up->error() : Error(ErrorKind::unavailable, id, "no answer");
  if (m.opt.dry_run) return out;
  auto fixed = m.life.reprovisioned(r->id, (*up)->remote_id, (*up)->remote_status,
                                    why + "; uploaded again as " + (*up)->remote_id);
  if (!fixed) return fixed.error();
  out.drift.clear();
  out.result = Outcome::progressed;
  out.note = "uploaded again as " + (*up)->remote_id + " (was " + r->remote_id + ")";
  return out;
}

}  // namespace pkiflow::engine

// The inside of a Workflow (internal, not installed): the journal adapter, the steps of the
// lifecycle as coroutines over the store, and the drift check, shared by the run loop
// (workflow.cpp) and the verbs that work one record (run/record_verbs.cpp).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/bundle/records.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/run/durability.hpp"
#include "engine/run/lease_keeper.hpp"
#include "engine/workflow.hpp"
#include "state/sql/record_codec.hpp"

namespace pkiflow::engine {

namespace net = boost::asio;
using Outcome = RecordOutcome::Result;
using state::Operation;
using state::OperationState;
using state::RecordState;

namespace detail {

// The live record other than `self` whose remote object is `remote_id` ("" when none).
inline std::string other_live_owner(state::StateStore& store, const std::string& self,
                                    const std::string& remote_id) {
  if (remote_id.empty()) return "";
  state::RecordFilter f;
  f.remote_id = remote_id;
  auto all = store.list(f);
  if (!all) return "";
  for (const auto& r : *all)
    if (r.id != self && r.remote_id == remote_id && r.state != RecordState::retired) return r.id;
  return "";
}

// Deleting a remote object another live record calls its own would take it from that record.
inline Status sole_owner(state::StateStore& store, const Record& r) {
  const std::string other = other_live_owner(store, r.id, r.remote_id);
  if (other.empty()) return Ok{};
  return Error(ErrorKind::remote, "record " + r.id,
               "its remote object " + r.remote_id + " is also live record " + other +
                   "'s; it is not deleted (look at both records before retiring either)");
}

// The journal of one record, written through the store before each mutating request.
class StoreJournal : public providers::Journal {
 public:
  // `durable`: the run's group sync, waited for before the request goes (nullptr: the store
  // makes each commit durable itself).
  StoreJournal(state::StateStore& store, const Clock& clock, std::string record_id, bool dry_run,
               DurabilityBarrier* durable = nullptr)
      : store_(store),
        clock_(clock),
        record_id_(std::move(record_id)),
        dry_run_(dry_run),
        durable_(durable),
        rng_(pki::Rng::system()) {}

  net::awaitable<Result<std::string>> begin(const std::string& action,
                                            const graph::HttpRequest& request) override {
    if (dry_run_) co_return std::string("dry-run");
    Operation op;
    op.op_id = new_record_id(rng_);
    op.record_id = record_id_;
    op.action = action;
    op.request_summary = request.method + " " + request.url;
    // The name of a created object, so reconciliation can match the attempt to what it finds.
    // (Only a body that spells "name" can hold one: an upload's 3 KB of PEM is not parsed.)
    if (request.body.find("\"name\"") != std::string::npos) {
      auto body = nlohmann::json::parse(request.body, nullptr, false);
      if (body.is_object() && body.contains("name") && body["name"].is_string())
        op.request_summary += " name=" + body["name"].get<std::string>();
    }
    if (const auto* crid = request.header("client-request-id")) op.client_request_id = *crid;
    op.state = OperationState::sent;
    op.created_at = op.updated_at = std::chrono::floor<std::chrono::milliseconds>(clock_.now());
    if (auto st = store_.journal_begin(op); !st) co_return st.error();
    if (ops_) {  // as the store keeps it, in journal_of's order
      op.request_summary = state::sql::storable_text(op.request_summary);
      op.client_request_id = state::sql::storable_text(op.client_request_id);
      ops_->push_back(op);
      std::sort(ops_->begin(), ops_->end(), [](const Operation& a, const Operation& b) {
        return std::tie(a.created_at, a.op_id) < std::tie(b.created_at, b.op_id);
      });
    }
    if (durable_)
      if (auto st = co_await durable_->wait(); !st)
        co_return Error(ErrorKind::unavailable, "record " + record_id_,
                        "the state store could not sync its journal before " + action +
                            ", so nothing was sent: " + st.error().what());
    co_return op.op_id;
  }

  void end(const std::string& op_id, OperationState outcome, const std::string& summary) override {
    if (dry_run_) return;
    // A failure to close is harmless: the next run reconciles the open operation.
    const auto at = std::chrono::floor<std::chrono::milliseconds>(clock_.now());
    const std::string kept = summary.substr(0, 500);
    if (!store_.journal_update(op_id, outcome, kept, at)) return;
    if (ops_)
      for (auto& op : *ops_)
        if (op.op_id == op_id) {
          op.state = outcome;
          op.response_summary = state::sql::storable_text(kept);
          op.updated_at = at;
        }
  }

  // Read once per record and kept up to date by begin and end: the record is leased to this
  // run, so no other writes its journal meanwhile.
  std::vector<Operation> earlier() override {
    if (!ops_) {
      auto ops = store_.journal_of(record_id_);
      if (!ops) return {};
      ops_ = std::move(*ops);
    }
    return *ops_;
  }

  std::string owner_of(const std::string& remote_id) override {
    return other_live_owner(store_, record_id_, remote_id);
  }

 private:
  state::StateStore& store_;
  const Clock& clock_;
  std::string record_id_;
  bool dry_run_;
  DurabilityBarrier* durable_;
  pki::Rng rng_;
  std::optional<std::vector<Operation>> ops_;  // this record's journal, once read
};

constexpr const char* kLeaseLost =
    "its lease was taken by another run, which works it now; left alone";

// What a step leads to: the record after it, or a reason to stop here for now.
struct Step {
  Result<Record> record;
  std::string waiting;      // non-empty: not an error, nothing more to do in this run
  bool lease_lost = false;  // another run took the record while this step waited
  // The error is this host's or its configuration's (a signer that cannot be made), not the
  // record's: the record is left as it is and the run reports it.
  bool host_problem = false;
  // An upload's read-back, for the confirmation that follows it in the same turn.
  std::optional<providers::Confirmation> read_back{};
};

// What a drift check of one active record found and did.
struct Check {
  Result<Record> record;
  DriftFinding finding;
  std::string note;  // for the report: "in force", the drift, or what was updated
  bool changed_remote = false;
};

inline std::string concat_pem(const std::vector<pki::Certificate>& chain) {
  std::string out;
  for (const auto& c : chain)
    out += c.pem();
  return out;
}

inline bool past(RecordState now,
                 RecordState step) {  // `now` is later in the lifecycle than `step`
  auto rank = [](RecordState s) {
    switch (s) {
      case RecordState::planned:
        return 0;
      case RecordState::csrGenerated:
        return 1;
      case RecordState::signed_:
        return 2;
      case RecordState::uploaded:
        return 3;
      case RecordState::active:
        return 4;
      case RecordState::superseded:
        return 5;
      case RecordState::retired:
        return 6;
      case RecordState::failed:
        return -1;
    }
    return -1;
  };
  return rank(now) > rank(step);
}

}  // namespace detail

using namespace detail;  // this internal header is included by the workflow's own files only

struct Workflow::Impl {
  state::StateStore& store;
  const Clock& clock;
  RunWiring wiring;
  RunOptions opt;
  Lifecycle life;
  pki::Rng rng = pki::Rng::system();
  LeaseKeeper* leases = nullptr;  // this run's leases (none in a dry run or a single verb)
  std::atomic<bool> stopping{false};

  // Key generation, key encryption, signing and validation run here, off the I/O thread
  // (DESIGN.md): the waits for the service overlap, and so does the crypto.
  std::unique_ptr<net::thread_pool> crypto;
  // The run's group sync (durability.hpp); none in a dry run or a single verb.
  std::unique_ptr<DurabilityBarrier> durable;

  // Runs `f` on the crypto pool and resumes on the I/O executor (store writes stay there).
  template <class T, class F>
  net::awaitable<T> off_loop(F f) {
    auto io = co_await net::this_coro::executor;
    if (!crypto) co_return f();
    T out = co_await net::co_spawn(
        crypto->get_executor(), [&f]() -> net::awaitable<T> { co_return f(); }, net::use_awaitable);
    co_await net::post(io, net::use_awaitable);
    co_return out;
  }

  Impl(state::StateStore& s, const Clock& c, RunWiring w, RunOptions o)
      : store(s),
        clock(c),
        wiring(std::move(w)),
        opt(std::move(o)),
        life(s, c, opt.actor, opt.backoff) {}

  void emit(const RunEvent& e) const {
    if (opt.on_event) opt.on_event(e);
  }

  // The record's renewal policy as the configuration says now (the defaults without one).
  RenewalPolicy policy_of(const Record& r) const {
    if (wiring.renewal)
      if (auto plan = wiring.renewal(r)) return plan->policy;
    return RenewalPolicy{};
  }

  // Whether a due record has work now: a superseded one only when its policy retires it, an
  // active one only when its drift check is due. (An active record whose renewal is under way
  // is not listed as due at all, StateStore::due_page: its successor being put in force
  // switches it off on the service; that is the renewal, not drift, and a check would race the
  // successor's steps.)
  bool has_work(const Record& r) const {
    if (r.state == RecordState::active)
      return verify_due(r, opt.verify_interval, clock.now(), opt.config_changed_at);
    return r.state != RecordState::superseded || retirement_due(r, policy_of(r), clock.now());
  }

  double jitter() {
    auto b = pki::random_bytes(rng, 4);
    std::uint32_t v = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) |
                      (std::uint32_t(b[2]) << 8) | b[3];
    return v / 4294967296.0;
  }

  // Operations an earlier run left open whose record shows they took effect: close them.
  void reconcile_journal() {
    auto open = store.journal_open();
    if (!open) return;
    for (const auto& op : *open) {
      auto rec = store.get(op.record_id);
      if (!rec || !*rec) continue;
      const RecordState s = (*rec)->state;
      const bool applied = (op.action == "create" && past(s, RecordState::planned)) ||
                           ((op.action == "upload" || op.action == "create-ca" ||
                             op.action == "update-ca" || op.action == "create-pki") &&
                            past(s, RecordState::signed_)) ||
                           (op.action == "enable" && past(s, RecordState::uploaded)) ||
                           (op.action == "retire" && s == RecordState::retired);
      if (applied)
        (void)store.journal_update(op.op_id, OperationState::done,
                                   "reconciled: the record shows it took effect", clock.now());
      else if (s == RecordState::retired)  // nothing of it is ever read back again
        (void)store.journal_update(op.op_id, OperationState::failed,
                                   "reconciled: the record is retired", clock.now());
      // The others are settled by their record's next step (create_or_get_csr adopts).
    }
  }

  // ---- the steps; in a dry run they edit the in-memory record instead of the store ----

  net::awaitable<Step> create(const Record& r, providers::Provider& p, providers::Journal& j) {
    if (!p.service_makes_csr()) {  // the key and CSR are made here; nothing remote yet
      struct Made {
        std::optional<Result<CsrArtifacts>> made;
      };
      const auto& rules = p.rules();
      const bool persist = !opt.dry_run;
      Made m = co_await off_loop<Made>([&] {
        auto own_rng = pki::Rng::system();  // one per call: the pool has several threads
        return Made{make_local_csr(r, rules, wiring.keys, own_rng, persist)};
      });
      auto& local = *m.made;
      if (!local) co_return Step{local.error(), ""};
      if (opt.dry_run) {
        Record n = r;
        n.state = RecordState::csrGenerated;
        n.csr_pem = local->csr_pem;
        n.key_path = local->key_path;
        co_return Step{n, ""};
      }
      co_return Step{life.csr_generated(r, *local), ""};
    }
    auto made = co_await p.create_or_get_csr(r, j);
    if (!made) co_return Step{made.error(), ""};
    CsrArtifacts a{made->csr_pem, "", made->remote_id, made->remote_status};
    if (opt.dry_run) {
      Record n = r;
      n.state = RecordState::csrGenerated;
      n.csr_pem = a.csr_pem;
      n.remote_id = a.remote_id;
      co_return Step{n, ""};
    }
    co_return Step{life.csr_generated(r, a), ""};
  }

  net::awaitable<Step> sign(const Record& r, providers::Provider& p) {
    Result<Signer*> found = wiring.signer ? wiring.signer(r) : Result<Signer*>(nullptr);
    // A CA key that cannot be opened (a wrong PIN, a key file that is not its certificate's, a
    // label the token does not hold) fails no record; a token not present makes them wait.
    if (!found)
      co_return Step{found.error(), "", false, found.error().kind() != ErrorKind::unavailable};
    Signer* signer = *found;
    if (auto note = bundle::bundle_wait_note(r);
        !note.empty() && (!signer || !signer->unavailable().empty()))
      co_return Step{r, note};
    if (!signer)
      co_return Step{r,
                     "waiting for a signed certificate: no signer is configured for this record; "
                     "sign its CSR (pkiflow show " +
                         r.id + " --csr) elsewhere and run `pkiflow import " + r.id +
                         " --certificate … --chain …`"};
    if (auto why = signer->unavailable(); !why.empty())
      co_return Step{r, "waiting in csrGenerated: " + why};
    if (opt.dry_run && signer->acts_outside())
      co_return Step{r, "dry run: signer " + signer->name() +
                            " would be asked to sign (it reaches outside pkiflow, so a dry run "
                            "does not run it)"};
    const std::string subject = "record " + r.id + " (" + r.name + ")";
    auto csr = pki::Csr::decode(pki::Bytes(r.csr_pem.begin(), r.csr_pem.end()));
    if (!csr) co_return Step{csr.error().about(subject + ": stored CSR"), ""};
    const auto now = clock.now();
    const auto& rules = p.rules();
    const int days = validity_days_of(r, rules);
    // Signing and validation on the crypto pool; the store is written back here.
    struct Issue {
      std::optional<Error> error;
      SignedArtifacts a;
    };
    Issue o = co_await off_loop<Issue>([&]() -> Issue {
      auto issued = signer->sign(SignRequest{*csr, rules, days, now, r.id});
      if (!issued) return {issued.error(), {}};
      // What another program signed is judged when it returned: its CA took its own time for
      // notBefore, after `now` (openssl ca does not backdate).
      const auto at = signer->acts_outside() ? clock.now() : now;
      if (auto st = validate_for_upload(issued->certificate, issued->chain, *csr, rules,
                                        wiring.trust, at, subject);
          !st)
        return {st.error(), {}};
      const auto facts = issued->certificate.facts();
      return {std::nullopt,
              {issued->certificate.pem(), concat_pem(issued->chain), facts.not_before,
               facts.not_after, facts.sha1_thumbprint, facts.sha256_thumbprint}};
    });
    if (o.error) co_return Step{*o.error, ""};
    if (opt.dry_run) {
      Record n = r;
      n.state = RecordState::signed_;
      n.certificate_pem = o.a.certificate_pem;
      n.chain_pem = o.a.chain_pem;
      co_return Step{n, ""};
    }
    co_return Step{life.signed_(r, o.a), ""};
  }

  net::awaitable<Step> upload(const Record& r, providers::Provider& p, providers::Journal& j) {
    auto up = co_await p.upload(r, j);
    if (!up) co_return Step{up.error(), ""};
    if (opt.dry_run) {  // a plan found it uploaded already (read back): on, in memory
      Record n = r;
      n.state = RecordState::uploaded;
      if (!up->remote_id.empty()) n.remote_id = up->remote_id;
      n.remote_status = up->remote_status;
      co_return Step{n, ""};
    }
    Step s{life.uploaded(r, up->remote_status, up->remote_id), ""};
    s.read_back = std::move(up->read_back);
    co_return s;
  }

  // uploaded -> active: polls the service; a staged upload is switched on here (the cutover of
  // a renewal) unless the tenant's activation is manual (or `force_enable`: `pkiflow enable`).
  // `first`: the upload's read-back, taken as the first reading instead of reading again.
  net::awaitable<Step> confirm(const Record& r, providers::Provider& p, providers::Journal& j,
                               bool force_enable = false,
                               std::optional<providers::Confirmation> first = std::nullopt) {
    const auto started = std::chrono::steady_clock::now();
    bool enabled = false;
    for (;;) {
      // (Not a conditional expression: g++ 12 miscompiles co_await inside one.)
      Result<providers::Confirmation> c = providers::Confirmation{};
      if (first)
        c = std::move(*first);
      else
        c = co_await p.confirm(r, j);
      first.reset();
      if (!c) co_return Step{c.error(), ""};
      if (c->in_force && opt.dry_run) {
        Record n = r;
        n.state = RecordState::active;
        n.remote_status = c->remote_status;
        co_return Step{n, ""};
      }
      if (c->in_force)
        co_return Step{life.activated(r, c->remote_status,
                                      [this](const Record& old) {
                                        return kept_until_note(old, policy_of(old));
                                      }),
                       ""};
      if (c->staged && !enabled) {
        if (p.manual_activation() && !force_enable)
          co_return Step{r, "staged (\"" + c->remote_status +
                                "\"): enable it in the admin center or with `pkiflow enable " +
                                r.id + "`"};
        if (opt.dry_run && !opt.reads_tenant)
          co_return Step{r, "staged; a real run would enable it now"};
        if (auto st = co_await p.enable(r, j); !st) co_return Step{st.error(), ""};
        enabled = true;
        continue;
      }
      if (clock.now() - r.updated_at > opt.confirm_deadline)
        co_return Step{
            Error(ErrorKind::remote, "record " + r.id,
                  "the service still says \"" + c->remote_status + "\" " +
                      std::to_string(opt.confirm_deadline.count()) + " hours after the upload"),
            ""};
      if (stopping)
        co_return Step{r, "uploaded; the service says \"" + c->remote_status +
                              "\"; the run was stopped (the next run checks again)"};
      if (leases && !leases->holds(r.id)) co_return Step{r, kLeaseLost, true};
      if (opt.dry_run)  // a plan reads once; it does not wait for the service
        co_return Step{r, "uploaded; the service says \"" + c->remote_status +
                              "\", not in force yet (a run waits for it)"};
      if (std::chrono::steady_clock::now() - started + opt.poll_interval > opt.confirm_wait)
        co_return Step{r, "uploaded; the service says \"" + c->remote_status +
                              "\", not in force yet (the next run checks again)"};
      co_await pause(opt.poll_interval);
    }
  }

  // Sleeps `d`, in slices, so a stop request (SIGTERM) ends the wait at once.
  net::awaitable<void> pause(std::chrono::milliseconds d) {
    constexpr std::chrono::milliseconds kSlice{100};
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      net::steady_timer t(co_await net::this_coro::executor,
                          std::min<std::chrono::steady_clock::duration>(
                              kSlice, until - std::chrono::steady_clock::now()));
      boost::system::error_code ec;
      co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
  }

  // A drift check: reads the object back and records what it found. Mutable fields that
  // differ from the configuration are brought to it (`fix_fields`: a run) or only reported
  // (`pkiflow verify`). A dry run records nothing and sends no update.
  net::awaitable<Check> check(const Record& r, providers::Provider& p, providers::Journal& j,
                              bool fix_fields) {
    auto seen = co_await p.observe(r);
    if (!seen) co_return Check{seen.error(), {}, "", false};
    Check c{r, judge_drift(r, *seen, clock.now()), "", false};
    std::string done;
    if (c.finding.condition == DriftCondition::none && !seen->fields.empty()) {
      const std::string what = describe_changes(seen->fields);
      if (fix_fields && opt.dry_run && opt.reads_tenant) {  // a plan shows the update
        auto st = co_await p.update_fields(r, seen->fields, j);
        if (!st && st.error().kind() != ErrorKind::not_sent)
          co_return Check{st.error(), c.finding, "", false};
        c.note = "a run updates on the service to match the configuration: " + what;
      } else if (!fix_fields || opt.dry_run) {
        c.note = "its fields differ from the configuration (" + what + "); " +
                 (fix_fields ? "a run updates them" : "the next run updates them");
      } else if (auto st = co_await p.update_fields(r, seen->fields, j); !st) {
        co_return Check{st.error(), c.finding, "", false};
      } else {
        done = "updated on the service to match the configuration: " + what;
        c.changed_remote = true;
        c.note = done;
      }
    }
    if (c.note.empty())
      c.note = c.finding.condition == DriftCondition::none
                   ? "verified: the remote object matches (\"" + seen->remote_status + "\")"
                   : std::string("drift (") + to_string(c.finding.condition) +
                         "): " + c.finding.message + "; see `pkiflow repair " + r.id + "`";
    if (opt.dry_run) co_return c;
    const bool pending = !seen->fields.empty() && !c.changed_remote;
    c.record =
        life.observed(r.id, to_string(c.finding.condition), c.finding.message, done, pending);
    co_return c;
  }

  net::awaitable<Step> retire(const Record& r, providers::Provider& p, providers::Journal& j) {
    if (auto st = sole_owner(store, r); !st) co_return Step{st.error(), ""};
    if (auto st = co_await p.retire(r, j); !st) co_return Step{st.error(), ""};
    if (opt.dry_run) {  // a plan read it back gone already
      Record n = r;
      n.state = RecordState::retired;
      co_return Step{n, ""};
    }
    std::string why = "superseded by " + r.superseded_by;
    if (r.not_after && *r.not_after <= clock.now())
      why += " and expired at " + pki::format_rfc3339(*r.not_after);
    co_return Step{life.retire(r.id, why + "; its remote object is deleted"), ""};
  }

  net::awaitable<RecordOutcome> process(Record r) {
    RecordOutcome out = outcome_of(r, Outcome::unchanged);
    auto found = wiring.provider ? wiring.provider(r)
                                 : Result<std::shared_ptr<providers::Provider>>(Error(
                                       ErrorKind::invalid_input, "record " + r.id, "no provider"));
    if (!found) {  // a configuration problem: the record itself is left as it is
      out.result = Outcome::failed;
      out.note = found.error().what();
      co_return out;
    }
    const std::shared_ptr<providers::Provider> held = *found;
    providers::Provider* p = held.get();
    StoreJournal journal(store, clock, r.id, opt.dry_run, durable.get());
    if (r.state == RecordState::active) co_return co_await verified(out, r, *p, journal);
    std::optional<providers::Confirmation> read_back;  // the last step's, for the next
    for (int steps = 0; steps < 8; ++steps) {
      if (stopping) {  // no new step starts; this one is re-derived by the next run
        out.result = out.result == Outcome::progressed ? Outcome::progressed : Outcome::waiting;
        out.note = "the run was stopped before its next step";
        co_return out;
      }
      if (leases && !leases->holds(r.id)) {  // another run took it: hands off
        out.result = out.result == Outcome::progressed ? Outcome::progressed : Outcome::waiting;
        out.note = kLeaseLost;
        out.lease_lost = true;
        co_return out;
      }
      Step s{r, ""};
      switch (r.state) {
        case RecordState::planned:
          s = co_await create(r, *p, journal);
          break;
        case RecordState::csrGenerated:
          s = co_await sign(r, *p);
          break;
        case RecordState::signed_:
          s = co_await upload(r, *p, journal);
          break;
        case RecordState::uploaded:
          s = co_await confirm(r, *p, journal, false, std::move(read_back));
          break;
        case RecordState::superseded:
          s = co_await retire(r, *p, journal);
          break;
        default:
          co_return out;
      }
      if (!s.record) {
        co_return settle_error(out, r, s.record.error(), s.host_problem);
      }
      if (!s.waiting.empty()) {
        out.result = out.result == Outcome::progressed ? Outcome::progressed : Outcome::waiting;
        out.note = s.waiting;
        out.lease_lost = s.lease_lost;
        co_return out;
      }
      const RecordState before = r.state;
      r = std::move(*s.record);
      read_back = std::move(s.read_back);
      out.to = r.state;
      out.result = Outcome::progressed;
      out.note.clear();
      if (r.state != before) {
        RunEvent e;
        e.kind = RunEvent::Kind::transition;
        e.record_id = r.id;
        e.name = r.name;
        e.record_kind = r.kind;
        e.from = before;
        e.to = r.state;
        emit(e);
      }
    }
    co_return out;
  }

  // An active record's turn in a run: its drift check.
  net::awaitable<RecordOutcome> verified(RecordOutcome out, const Record& r, providers::Provider& p,
                                         providers::Journal& j) {
    auto c = co_await check(r, p, j, /*fix_fields=*/true);
    if (!c.record) {
      // A renewal of this run superseded it while it was read back: the check is moot.
      auto now = store.get(r.id);
      if (now && *now && (*now)->version != r.version) {
        out.note = "not checked: it moved on while its object was read back";
        co_return out;
      }
      co_return settle_error(out, r, c.record.error());
    }
    out.verified = true;
    out.drift = to_string(c.finding.condition);
    out.note = c.note;
    // A plan did read the object: its check is real, only nothing was stored.
    out.result = c.changed_remote                   ? Outcome::progressed
                 : opt.dry_run && !opt.reads_tenant ? Outcome::dry_run
                                                    : Outcome::unchanged;
    co_return out;
  }

  RecordOutcome settle_error(RecordOutcome out, const Record& r, const Error& e,
                             bool host_problem = false) {
    out.note = e.what();
    if (e.kind() == ErrorKind::not_sent) {
      out.result = Outcome::dry_run;
      return out;
    }
    if (opt.dry_run) {
      out.result = Outcome::failed;
      return out;
    }
    // Problems of this host or its configuration (sign-in, key passphrases, files) are not the
    // record's: it is left as it is, and the run reports it failed.
    if (host_problem || e.kind() == ErrorKind::auth || e.kind() == ErrorKind::passphrase ||
        e.kind() == ErrorKind::io) {
      out.result = Outcome::failed;
      return out;
    }
    if (e.kind() == ErrorKind::unavailable) {
      auto t = life.transient_failure(r.id, e.what(), jitter());
      out.result = Outcome::waiting;
      if (t && t->next_attempt_at)
        out.note += " (next attempt after a back-off; attempt " + std::to_string(t->attempts) + ")";
      return out;
    }
    if (is_legal(r.state, RecordState::failed)) {
      auto f = life.failed(r.id, e.what());
      if (f) out.to = f->state;
    }
    out.result = Outcome::failed;
    return out;
  }
};

}  // namespace pkiflow::engine

// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "engine/workflow.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <deque>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/run/lease_keeper.hpp"

namespace pkiflow::engine {

namespace net = boost::asio;
using Outcome = RecordOutcome::Result;
using state::Operation;
using state::OperationState;
using state::RecordState;

const char* to_string(RecordOutcome::Result r) {
  switch (r) {
    case Outcome::progressed:
      return "progressed";
    case Outcome::waiting:
      return "waiting";
    case Outcome::failed:
      return "failed";
    case Outcome::unchanged:
      return "unchanged";
    case Outcome::dry_run:
      return "dry-run";
  }
  return "unknown";
}

const char* to_string(RunEvent::Kind k) {
  switch (k) {
    case RunEvent::Kind::claimed:
      return "claimed";
    case RunEvent::Kind::transition:
      return "transition";
    case RunEvent::Kind::settled:
      return "settled";
    case RunEvent::Kind::renewal:
      return "renewal";
  }
  return "settled";
}

RecordOutcome outcome_of(const state::Record& r, RecordOutcome::Result result, std::string note) {
  RecordOutcome o;
  o.id = r.id;
  o.name = r.name;
  o.kind = r.kind;
  o.from = o.to = r.state;
  o.result = result;
  o.note = std::move(note);
  return o;
}

std::size_t RunReport::count(RecordOutcome::Result r) const {
  std::size_t n = 0;
  for (const auto& o : records)
    n += o.result == r;
  return n;
}

Status validate_for_upload(const pki::Certificate& cert, const std::vector<pki::Certificate>& chain,
                           const std::optional<pki::Csr>& csr, const pki::SigningProfile& profile,
                           std::shared_ptr<const pki::TrustStore> trust, pki::TimePoint now,
                           const std::string& subject) {
  if (!trust)
    return Error(ErrorKind::invalid_input, subject,
                 "no trust anchors configured (\"trust_anchors\" in the configuration): the "
                 "chain cannot be validated, so nothing is uploaded");
  pki::ValidationRequest req{cert, chain, std::move(trust), csr, &profile, {}, now};
  pki::Validator validator;
  auto report = validator.validate(req);
  if (report.verdict() == pki::Verdict::valid) return Ok{};
  std::string why;
  for (const auto& r : report.results)
    if (r.outcome == pki::Outcome::fail)
      why += (why.empty() ? "" : "; ") + r.rule + ": " + r.reason;
  return Error(ErrorKind::invalid_input, subject,
               "the signed certificate fails validation under profile " + profile.name + " (" +
                   why + "); nothing was uploaded");
}

namespace {

// The live record other than `self` whose remote object is `remote_id` ("" when none).
std::string other_live_owner(state::StateStore& store, const std::string& self,
                             const std::string& remote_id) {
  if (remote_id.empty()) return "";
  auto all = store.list({});
  if (!all) return "";
  for (const auto& r : *all)
    if (r.id != self && r.remote_id == remote_id && r.state != RecordState::retired) return r.id;
  return "";
}

// Deleting a remote object another live record calls its own would take it from that record.
Status sole_owner(state::StateStore& store, const Record& r) {
  const std::string other = other_live_owner(store, r.id, r.remote_id);
  if (other.empty()) return Ok{};
  return Error(ErrorKind::remote, "record " + r.id,
               "its remote object " + r.remote_id + " is also live record " + other +
                   "'s; it is not deleted (look at both records before retiring either)");
}

// The journal of one record, written through the store before each mutating request.
class StoreJournal : public providers::Journal {
 public:
  StoreJournal(state::StateStore& store, const Clock& clock, std::string record_id, bool dry_run)
      : store_(store),
        clock_(clock),
        record_id_(std::move(record_id)),
        dry_run_(dry_run),
        rng_(pki::Rng::system()) {}

  Result<std::string> begin(const std::string& action, const graph::HttpRequest& request) override {
    if (dry_run_) return std::string("dry-run");
    Operation op;
    op.op_id = new_record_id(rng_);
    op.record_id = record_id_;
    op.action = action;
    op.request_summary = request.method + " " + request.url;
    // The name of a created object, so reconciliation can match the attempt to what it finds.
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_object() && body.contains("name") && body["name"].is_string())
      op.request_summary += " name=" + body["name"].get<std::string>();
    if (const auto* crid = request.header("client-request-id")) op.client_request_id = *crid;
    op.state = OperationState::sent;
    op.created_at = op.updated_at = clock_.now();
    if (auto st = store_.journal_begin(op); !st) return st.error();
    return op.op_id;
  }

  void end(const std::string& op_id, OperationState outcome, const std::string& summary) override {
    if (dry_run_) return;
    // A failure to close is harmless: the next run reconciles the open operation.
    (void)store_.journal_update(op_id, outcome, summary.substr(0, 500), clock_.now());
  }

  std::vector<Operation> earlier() override {
    auto ops = store_.journal_of(record_id_);
    return ops ? *ops : std::vector<Operation>{};
  }

  std::string owner_of(const std::string& remote_id) override {
    return other_live_owner(store_, record_id_, remote_id);
  }

 private:
  state::StateStore& store_;
  const Clock& clock_;
  std::string record_id_;
  bool dry_run_;
  pki::Rng rng_;
};

constexpr const char* kLeaseLost =
    "its lease was taken by another run, which works it now; left alone";

// What a step leads to: the record after it, or a reason to stop here for now.
struct Step {
  Result<Record> record;
  std::string waiting;      // non-empty: not an error, nothing more to do in this run
  bool lease_lost = false;  // another run took the record while this step waited
};

// What a drift check of one active record found and did.
struct Check {
  Result<Record> record;
  DriftFinding finding;
  std::string note;  // for the report: "in force", the drift, or what was updated
  bool changed_remote = false;
};

std::string concat_pem(const std::vector<pki::Certificate>& chain) {
  std::string out;
  for (const auto& c : chain)
    out += c.pem();
  return out;
}

int validity_days_of(const Record& r, const pki::SigningProfile& profile) {
  auto p = nlohmann::json::parse(r.profile_json, nullptr, false);
  if (p.is_object() && p.contains("validity_days") && p["validity_days"].is_number_integer())
    return p["validity_days"].get<int>();
  return profile.default_days;
}

bool past(RecordState now, RecordState step) {  // `now` is later in the lifecycle than `step`
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

}  // namespace

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

  void emit(RunEvent e) const {
    if (opt.on_event) opt.on_event(e);
  }

  // The record's renewal policy as the configuration says now (the defaults without one).
  RenewalPolicy policy_of(const Record& r) const {
    if (wiring.renewal)
      if (auto plan = wiring.renewal(r)) return plan->policy;
    return RenewalPolicy{};
  }

  // Whether a claimed record has work now: a superseded one only when its policy retires it,
  // an active one only when its drift check is due.
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
      co_return Step{life.csr_generated(r.id, *local), ""};
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
    co_return Step{life.csr_generated(r.id, a), ""};
  }

  net::awaitable<Step> sign(const Record& r, providers::Provider& p) {
    Result<Signer*> found = wiring.signer ? wiring.signer(r) : Result<Signer*>(nullptr);
    if (!found) co_return Step{found.error(), ""};
    Signer* signer = *found;
    if (!signer)
      co_return Step{r,
                     "waiting for a signed certificate: no signer is configured for this record; "
                     "sign its CSR (pkiflow show " +
                         r.id + " --csr) elsewhere and run `pkiflow import " + r.id +
                         " --certificate … --chain …`"};
    if (auto why = signer->unavailable(); !why.empty())
      co_return Step{r, "waiting in csrGenerated: " + why};
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
      auto issued = signer->sign(*csr, rules, days, now);
      if (!issued) return {issued.error(), {}};
      if (auto st = validate_for_upload(issued->certificate, issued->chain, *csr, rules,
                                        wiring.trust, now, subject);
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
    co_return Step{life.signed_(r.id, o.a), ""};
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
    co_return Step{life.uploaded(r.id, up->remote_status, up->remote_id), ""};
  }

  // uploaded -> active: polls the service; a staged upload is switched on here (the cutover of
  // a renewal) unless the tenant's activation is manual (or `force_enable`: `pkiflow enable`).
  net::awaitable<Step> confirm(const Record& r, providers::Provider& p, providers::Journal& j,
                               bool force_enable = false) {
    const auto started = std::chrono::steady_clock::now();
    bool enabled = false;
    for (;;) {
      auto c = co_await p.confirm(r, j);
      if (!c) co_return Step{c.error(), ""};
      if (c->in_force && opt.dry_run) {
        Record n = r;
        n.state = RecordState::active;
        n.remote_status = c->remote_status;
        co_return Step{n, ""};
      }
      if (c->in_force)
        co_return Step{life.activated(r.id, c->remote_status,
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
                                 : Result<providers::Provider*>(Error(
                                       ErrorKind::invalid_input, "record " + r.id, "no provider"));
    if (!found) {  // a configuration problem: the record itself is left as it is
      out.result = Outcome::failed;
      out.note = found.error().what();
      co_return out;
    }
    providers::Provider* p = *found;
    StoreJournal journal(store, clock, r.id, opt.dry_run);
    if (r.state == RecordState::active) co_return co_await verified(out, r, *p, journal);
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
          s = co_await confirm(r, *p, journal);
          break;
        case RecordState::superseded:
          s = co_await retire(r, *p, journal);
          break;
        default:
          co_return out;
      }
      if (!s.record) {
        co_return settle_error(out, r, s.record.error());
      }
      if (!s.waiting.empty()) {
        out.result = out.result == Outcome::progressed ? Outcome::progressed : Outcome::waiting;
        out.note = s.waiting;
        out.lease_lost = s.lease_lost;
        co_return out;
      }
      const RecordState before = r.state;
      r = std::move(*s.record);
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
        emit(std::move(e));
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

  RecordOutcome settle_error(RecordOutcome out, const Record& r, const Error& e) {
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
    if (e.kind() == ErrorKind::auth || e.kind() == ErrorKind::passphrase ||
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

Workflow::Workflow(state::StateStore& store, const Clock& clock, RunWiring wiring,
                   RunOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(wiring), std::move(options))) {}
Workflow::~Workflow() = default;

namespace {

const std::vector<RecordState>& due_states() {
  static const std::vector<RecordState> states{RecordState::planned, RecordState::csrGenerated,
                                               RecordState::signed_, RecordState::uploaded,
                                               RecordState::active,  RecordState::superseded};
  return states;
}

// Every record with work due now.
Result<std::vector<Record>> due_records(state::StateStore& store, TimePoint now) {
  std::vector<Record> due;
  for (auto s : due_states()) {
    state::RecordFilter f;
    f.state = s;
    auto list = store.list(f);
    if (!list) return list.error();
    for (auto& r : *list)
      if (!r.next_attempt_at || *r.next_attempt_at <= now) due.push_back(std::move(r));
  }
  return due;
}

}  // namespace

void Workflow::request_stop() {
  impl_->stopping = true;
}

// One pass of `pkiflow run` as named steps: claim the due records, watch for SIGTERM/SIGINT,
// keep the leases alive, work the records on `concurrency` workers, and settle the report.
struct Workflow::Pass {
  Pass(Impl& impl, net::io_context& context) : m(impl), ioc(context) {}
  Impl& m;
  net::io_context& ioc;
  RunReport report;
  std::deque<Record> work;
  // Each record taken up, in the state it was taken up in: a record comes back (claim_more)
  // only when it moved on since (the active predecessor a renewal superseded in this run).
  std::map<std::string, RecordState> taken;
  std::optional<LeaseKeeper> leases;

  bool take_up(const Record& r) {
    auto [it, fresh] = taken.emplace(r.id, r.state);
    if (fresh) return true;
    if (it->second == r.state) return false;
    it->second = r.state;
    return true;
  }
  std::size_t running = 0;  // workers still going; the heartbeat and signal watch end with them
  net::steady_timer beat{ioc};
  std::optional<net::signal_set> signals;
  std::exception_ptr crashed;

  Status claim() {
    // Renewals that came due first, so their successors are worked in this run.
    auto renewals =
        plan_due_renewals(m.store, m.life, m.clock, m.rng, m.wiring.renewal, m.opt.dry_run);
    if (!renewals) return renewals.error();
    report.renewals = std::move(*renewals);
    for (const auto& p : report.renewals) {
      RunEvent e;
      e.kind = RunEvent::Kind::renewal;
      e.record_id = p.id;
      e.name = p.name;
      e.message = !p.error.empty()    ? "not planned: " + p.error
                  : !p.window.empty() ? "waits for its renewal window (" + p.window + ")"
                  : p.successor.empty()
                      ? "due (" + p.reason + "); a run would plan its successor"
                      : "due (" + p.reason + "); successor " + p.successor + " planned";
      m.emit(std::move(e));
    }
    auto due = due_records(m.store, m.clock.now());
    if (!due) return due.error();
    std::erase_if(*due, [this](const Record& r) { return !m.has_work(r); });
    if (m.opt.dry_run) {
      work.assign(due->begin(), due->end());
      return Ok{};
    }
    m.reconcile_journal();
    leases.emplace(m.store, m.clock,
                   RunOwner::current(m.opt.run_id.empty() ? new_record_id(m.rng) : m.opt.run_id),
                   std::chrono::duration_cast<std::chrono::seconds>(m.opt.lease));
    auto claimed = leases->claim(due_states(), *due);
    if (!claimed) return claimed.error();
    for (const auto& h : claimed->held)
      report.skipped_leased.push_back({h.id, h.owner, h.until});
    report.taken_over = claimed->taken_over;
    std::vector<std::string> idle;  // claimed with the others, but nothing is due for them now
    for (auto& r : claimed->records) {
      if (m.has_work(r) && take_up(r))
        work.push_back(std::move(r));
      else
        idle.push_back(r.id);
    }
    leases->let_go(idle);
    m.leases = &*leases;
    return Ok{};
  }

  void all_done() {
    beat.cancel();
    if (signals) signals->cancel();
  }

  // SIGTERM (systemctl stop) and SIGINT: no new step starts; the steps in flight finish.
  void watch_signals() {
    if (!m.opt.handle_signals || m.opt.dry_run) return;
    signals.emplace(ioc, SIGINT, SIGTERM);
    signals->async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      m.stopping = true;
      beat.cancel();
    });
  }

  // Renews the leases while the run works, so a long wait never loses them.
  net::awaitable<void> heartbeat() {
    while (running > 0 && !m.stopping) {
      beat.expires_after(m.opt.heartbeat);
      boost::system::error_code ec;
      co_await beat.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (running == 0) break;
      (void)leases->heartbeat();  // a lost record is noticed by its next step
    }
  }

  net::awaitable<void> worker() {
    while (!work.empty() && !m.stopping) {
      Record r = std::move(work.front());
      work.pop_front();
      RecordOutcome outcome = outcome_of(r, Outcome::failed);
      try {
        outcome = co_await m.process(r);
      } catch (const std::exception& e) {  // a bug must not stop the other records
        outcome.note = std::string("internal error: ") + e.what();
      }
      // A renewal that became active superseded its predecessor: retire it now, so the tenant
      // never keeps the old object longer than one run.
      if (outcome.to == RecordState::active && outcome.from != RecordState::active && leases) {
        auto more = leases->claim_more({RecordState::superseded});
        if (more)
          for (auto& rec : *more)
            if (m.has_work(rec) && take_up(rec)) work.push_back(std::move(rec));
      }
      RunEvent settled;
      settled.kind = RunEvent::Kind::settled;
      settled.record_id = outcome.id;
      settled.name = outcome.name;
      settled.record_kind = outcome.kind;
      settled.from = outcome.from;
      settled.to = outcome.to;
      settled.result = to_string(outcome.result);
      settled.message = outcome.note;
      settled.drift = outcome.drift;
      m.emit(std::move(settled));
      if (outcome.lease_lost) {
        auto who = m.store.lease_owner(outcome.id, m.clock.now());
        report.skipped_leased.push_back(
            {outcome.id, who && *who ? **who : std::string("another run"), m.clock.now()});
      }
      report.records.push_back(std::move(outcome));
    }
  }

  void work_all() {
    RunEvent claimed;
    claimed.kind = RunEvent::Kind::claimed;
    claimed.total = work.size();
    m.emit(std::move(claimed));
    watch_signals();
    const std::size_t workers = std::max<std::size_t>(1, std::min(m.opt.concurrency, work.size()));
    for (std::size_t i = 0; i < workers && !work.empty(); ++i) {
      ++running;
      net::co_spawn(ioc, worker(), [this](std::exception_ptr e) {
        if (e && !crashed) crashed = e;
        if (--running == 0) all_done();
      });
    }
    if (leases && running > 0) net::co_spawn(ioc, heartbeat(), net::detached);
    if (running == 0) all_done();
    ioc.restart();
    try {
      ioc.run();
    } catch (...) {
      if (!crashed) crashed = std::current_exception();
    }
  }

  void settle() {
    report.interrupted = m.stopping;
    for (const auto& r : work)  // never started because the run stopped
      report.records.push_back(outcome_of(r, Outcome::waiting, "not started: the run was stopped"));
    m.leases = nullptr;
    if (leases) leases->release();  // also after a crash
  }
};

Result<RunReport> Workflow::run(net::io_context& ioc) {
  auto& m = *impl_;
  Pass pass(m, ioc);
  if (auto st = pass.claim(); !st) return st.error();
  m.crypto = std::make_unique<net::thread_pool>(std::max<std::size_t>(
      1, std::min<std::size_t>(m.opt.concurrency, std::thread::hardware_concurrency())));
  pass.work_all();
  m.crypto->join();
  m.crypto.reset();
  pass.settle();
  if (pass.crashed) std::rethrow_exception(pass.crashed);
  return std::move(pass.report);
}

namespace {

// Runs one coroutine on `ioc` to its end (the verbs that work a single record).
template <class T, class F>
std::optional<T> run_to_end(net::io_context& ioc, F make) {
  std::optional<T> out;
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { out = co_await make(); },
      [](std::exception_ptr e) {
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

Status Workflow::cancel(net::io_context& ioc, const std::string& id) {
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
  if (auto st = sole_owner(m.store, r); !st) return st;
  // A create may have reached the service although no remote id was recorded (its answer was
  // lost): the provider then looks for it by the names the journal holds.
  bool created_maybe = !r.remote_id.empty();
  if (auto ops = m.store.journal_of(r.id); ops)
    for (const auto& op : *ops)
      created_maybe = created_maybe || op.action == "create";
  if (created_maybe) {
    auto p = m.wiring.provider ? m.wiring.provider(r)
                               : Result<providers::Provider*>(Error(ErrorKind::invalid_input,
                                                                    "record " + id, "no provider"));
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
                             : Result<providers::Provider*>(
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

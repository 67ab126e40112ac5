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
#include "engine/run/workflow_impl.hpp"

namespace pkiflow::engine {

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
  return by_result[static_cast<std::size_t>(r)];
}

void RunReport::add(RecordOutcome o, const std::function<void(const RecordOutcome&)>& sink) {
  ++outcomes;
  ++by_result[static_cast<std::size_t>(o.result)];
  drifted += !o.drift.empty();
  if (sink)
    sink(o);
  else
    records.push_back(std::move(o));
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
  // No CRLs here: the certificate was just issued (or is an existing one the operator
  // supplies), so the profile's revocation demand is for `pkiflow validate --crl`.
  req.options.crl_check = pki::CrlCheck::none;
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

// Due records are read this many at a time (StateStore::due_page).
constexpr std::size_t kDuePage = 256;
// The longest a run's writes wait uncommitted when no step waits for the disk (flush_writes).
constexpr std::chrono::milliseconds kFlushEvery{50};
// How long the first step to wait for the disk holds its commit and sync open for others when
// several records are worked at once: at 100 ms of Graph latency and 64 at once, 5 ms cut a
// 1,000-record run's syncs by half and its CPU by a fifth (fewer commits write fewer pages), for
// about 3% more wall time. One record at a time has nobody to wait for.
constexpr std::chrono::milliseconds kSyncLinger{5};
constexpr std::chrono::milliseconds kNoLinger{0};

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
  // The run streams: due records are read a page at a time in id order (the cursor), claimed a
  // batch at a time, and each lease is let go once its record has settled. So a run holds a
  // page, a batch and the records in flight, however many records the store has.
  std::string cursor;                  // the last id read
  bool read_all = false;               // the last page has been read
  std::deque<Record> pending;          // read, not yet claimed (at most a page)
  std::deque<Record> work;             // claimed, not yet taken by a worker
  std::vector<std::string> held_back;  // due, but another run held them when asked
  std::vector<std::string> retake;     // held back, since let go or dead: to claim again
  std::vector<std::string> settled;    // worked: their leases go at the next claim
  std::size_t due_total = 0;
  // Superseded records taken up, in the state they were taken up in: one comes back through
  // claim_more as well as through the pages, and is worked again only when it moved on since.
  // (Every other record is read once, by the cursor.)
  std::map<std::string, RecordState> taken;
  std::optional<LeaseKeeper> leases;

  bool take_up(const Record& r) {
    if (r.state != RecordState::superseded) return true;
    auto [it, fresh] = taken.emplace(r.id, r.state);
    if (fresh) return true;
    if (it->second == r.state) return false;
    it->second = r.state;
    return true;
  }
  std::size_t running = 0;  // workers still going; the heartbeat and signal watch end with them
  net::steady_timer beat{ioc};
  net::steady_timer flush{ioc};
  net::steady_timer deadline{ioc};
  std::optional<net::signal_set> signals;
  std::exception_ptr crashed;
  std::string claim_error;  // why claiming stopped early ("" when it did not)

  std::size_t batch() const {
    return m.opt.claim_batch > 0 ? m.opt.claim_batch
                                 : std::max<std::size_t>(8, 2 * m.opt.concurrency);
  }

  // How many records have work now (the progress line's total): the pages read once, nothing
  // kept.
  Result<std::size_t> count_due() {
    std::size_t n = 0;
    std::string after;
    for (;;) {
      auto page = m.store.due_page(due_states(), m.clock.now(), after, kDuePage);
      if (!page) return page.error();
      for (const auto& r : *page)
        n += m.has_work(r);
      if (page->size() < kDuePage) return n;
      after = page->back().id;
    }
  }

  // The next page of due records with work into `pending`; false when there are no more.
  Result<bool> read_page() {
    while (pending.empty() && !read_all) {
      auto page = m.store.due_page(due_states(), m.clock.now(), cursor, kDuePage);
      if (!page) return page.error();
      read_all = page->size() < kDuePage;
      if (!page->empty()) cursor = page->back().id;
      for (auto& r : *page)
        if (m.has_work(r)) pending.push_back(std::move(r));
    }
    return !pending.empty();
  }

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
      m.emit(e);
    }
    auto total = count_due();
    if (!total) return total.error();
    due_total = *total;
    if (!m.opt.dry_run) {
      m.reconcile_journal();
      leases.emplace(m.store, m.clock,
                     RunOwner::current(m.opt.run_id.empty() ? new_record_id(m.rng) : m.opt.run_id),
                     std::chrono::duration_cast<std::chrono::seconds>(m.opt.lease));
      m.leases = &*leases;
    }
    return refill();
  }

  // Claims the next batch of due records once the claimed ones are all taken. A batch at a
  // time, so that runs started together (several workers on a shared store) share the records
  // instead of the first one taking them all.
  Status refill() {
    if (leases && !settled.empty()) {
      leases->let_go(settled);  // settled: nothing more is due for them in this run
      settled.clear();
    }
    while (work.empty()) {
      std::vector<std::string> next;
      if (!retake.empty()) {
        next = std::move(retake);
        retake.clear();
      } else {
        auto more = read_page();
        if (!more) return more.error();
        if (!*more && !(leases && take_back_from_the_dead())) break;
        if (!*more) continue;
        while (!pending.empty() && next.size() < batch()) {
          if (!leases) {  // a dry run works on what it read
            if (take_up(pending.front())) work.push_back(std::move(pending.front()));
          } else {
            next.push_back(pending.front().id);
          }
          pending.pop_front();
        }
        if (!leases) continue;
      }
      auto claimed = leases->claim(next);
      if (!claimed) return claimed.error();
      for (const auto& h : claimed->held) {
        report.skipped_leased.push_back({h.id, h.owner, h.until});
        held_back.push_back(h.id);
      }
      report.taken_over += claimed->taken_over;
      std::vector<std::string> idle;  // claimed, but nothing is due for it now
      for (auto& r : claimed->records) {
        if (m.has_work(r) && take_up(r))
          work.push_back(std::move(r));
        else
          idle.push_back(r.id);
      }
      leases->let_go(idle);
    }
    return Ok{};
  }

  // When all else is done: the held-back records whose run has died since (a worker of this
  // host killed mid-run) or has let go of them go back to be claimed, so the runs still going
  // finish a dead worker's records. Those a live run still holds stay with it.
  bool take_back_from_the_dead() {
    std::vector<std::string> still;
    for (auto& id : held_back) {
      auto who = m.store.lease_owner(id, m.clock.now());
      if (who && *who && !owner_is_dead(**who))
        still.push_back(std::move(id));
      else
        retake.push_back(std::move(id));
    }
    held_back = std::move(still);
    return !retake.empty();
  }

  void all_done() {
    beat.cancel();
    flush.cancel();
    deadline.cancel();
    if (signals) signals->cancel();
  }

  // run.deadline_seconds: as SIGTERM, no new step starts and waits end; the Graph session cuts
  // the requests in flight at the same moment.
  void watch_deadline() {
    if (!m.opt.deadline) return;
    deadline.expires_at(*m.opt.deadline);
    deadline.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      report.deadline_passed = true;
      m.stopping = true;
      beat.cancel();
    });
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

  // Commits what the run wrote every few milliseconds while it works (a step's wait for the
  // disk commits too): a crash loses little, and other processes (a second worker, `pkiflow
  // request`) wait little for their turn to write.
  net::awaitable<void> flush_writes() {
    while (running > 0) {
      flush.expires_after(kFlushEvery);
      boost::system::error_code ec;
      co_await flush.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (running == 0) break;
      m.durable->flush();
    }
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
    while (!m.stopping) {
      if (work.empty() && claim_error.empty()) {
        if (auto st = refill(); !st) {
          claim_error = st.error().what();  // no more claims in this run; the claimed are worked
          pending.clear();
        }
      }
      if (work.empty()) break;
      Record r = std::move(work.front());
      work.pop_front();
      const bool renewal = !r.renews.empty();
      RecordOutcome outcome = outcome_of(r, Outcome::failed);
      try {
        outcome = co_await m.process(r);
      } catch (const std::exception& e) {  // a bug must not stop the other records
        outcome.note = std::string("internal error: ") + e.what();
      }
      // A renewal that became active superseded its predecessor: retire it now, so the tenant
      // never keeps the old object longer than one run.
      if (renewal && outcome.to == RecordState::active && outcome.from != RecordState::active &&
          leases) {
        auto more = leases->claim_more({RecordState::superseded}, batch());
        if (more)
          for (auto& rec : *more)
            if (m.has_work(rec) && take_up(rec)) work.push_back(std::move(rec));
      }
      RunEvent done;
      done.kind = RunEvent::Kind::settled;
      done.record_id = outcome.id;
      done.name = outcome.name;
      done.record_kind = outcome.kind;
      done.from = outcome.from;
      done.to = outcome.to;
      done.result = to_string(outcome.result);
      done.message = outcome.note;
      done.drift = outcome.drift;
      m.emit(done);
      if (outcome.lease_lost) {
        auto who = m.store.lease_owner(outcome.id, m.clock.now());
        report.skipped_leased.push_back(
            {outcome.id, who && *who ? **who : std::string("another run"), m.clock.now()});
      } else if (leases) {
        settled.push_back(outcome.id);
      }
      report.add(std::move(outcome), m.opt.on_outcome);
    }
  }

  void work_all() {
    RunEvent claimed;
    claimed.kind = RunEvent::Kind::claimed;
    claimed.total = due_total;
    m.emit(claimed);
    watch_signals();
    watch_deadline();
    const std::size_t workers =
        std::max<std::size_t>(1, std::min(m.opt.concurrency, std::max(due_total, work.size())));
    for (std::size_t i = 0; i < workers && !work.empty(); ++i) {
      ++running;
      net::co_spawn(ioc, worker(), [this](const std::exception_ptr& e) {
        if (e && !crashed) crashed = e;
        if (--running == 0) all_done();
      });
    }
    if (leases && running > 0) net::co_spawn(ioc, heartbeat(), net::detached);
    if (m.durable && running > 0) net::co_spawn(ioc, flush_writes(), net::detached);
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
    const std::string why =
        report.deadline_passed ? "not started: the run's deadline (run.deadline_seconds) passed"
        : !claim_error.empty()
            ? "not started: the store could not be asked for it (" + claim_error + ")"
            : "not started: the run was stopped";
    for (const auto* queue : {&work, &pending})  // never started: the run stopped first
      for (const auto& r : *queue)
        report.add(outcome_of(r, Outcome::waiting, why), m.opt.on_outcome);
    // Due records the run stopped before reading (it reads a page at a time): counted only.
    if (report.interrupted || !claim_error.empty())
      report.not_read = due_total > report.outcomes ? due_total - report.outcomes : 0;
    m.leases = nullptr;
    if (leases) leases->release();  // also after a crash
    // A due record another run held when this one asked, and has let go since, was worked by
    // that run (several workers share a store): only those still held are left alone.
    std::set<std::string> seen;
    std::erase_if(report.skipped_leased, [&](const SkippedRecord& s) {
      if (!seen.insert(s.id).second) return true;
      auto who = m.store.lease_owner(s.id, m.clock.now());
      return who && !*who;
    });
  }
};

Result<RunReport> Workflow::run(net::io_context& ioc) {
  auto& m = *impl_;
  Pass pass(m, ioc);
  if (auto st = pass.claim(); !st) return st.error();
  m.crypto = std::make_unique<net::thread_pool>(std::max<std::size_t>(
      1, std::min<std::size_t>(m.opt.concurrency, std::thread::hardware_concurrency())));
  // Commits wait for the disk only where a request follows (StoreJournal): steps share syncs.
  if (!m.opt.dry_run)
    if (auto group = m.store.defer_sync())
      m.durable = std::make_unique<DurabilityBarrier>(
          ioc.get_executor(), std::move(group->sync), std::move(group->commit),
          m.opt.concurrency > 1 ? kSyncLinger : kNoLinger);
  pass.work_all();
  m.crypto->join();
  m.crypto.reset();
  Status synced = Ok{};
  if (m.durable) {
    m.durable.reset();                     // a sync still running ends first
    synced = m.store.end_deferred_sync();  // everything the run wrote is on disk before it ends
  }
  pass.settle();
  if (!synced) return synced.error();
  if (pass.crashed) std::rethrow_exception(pass.crashed);
  return std::move(pass.report);
}

}  // namespace pkiflow::engine

// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "pkiflow/engine.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <mutex>

#include "engine/api/record_json.hpp"
#include "engine/api/setup.hpp"
#include "engine/config.hpp"
#include "engine/config_check.hpp"
#include "engine/graph_session.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/renewal.hpp"
#include "engine/run/renewals.hpp"
#include "engine/run/run_owner.hpp"
#include "engine/workflow.hpp"
#include "state/store.hpp"

namespace pkiflow {

// ---- CancelToken ----

struct CancelToken::State {
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  std::function<void()> stop;  // the run under way, if any
};

CancelToken::CancelToken() : state_(std::make_shared<State>()) {}

void CancelToken::cancel() const {
  state_->cancelled = true;
  const std::lock_guard lock(state_->mutex);
  if (state_->stop) state_->stop();
}

bool CancelToken::cancelled() const {
  return state_->cancelled;
}

// ---- Engine ----

namespace {

std::string rfc3339_or_empty(const std::optional<state::TimePoint>& t) {
  return t ? pki::format_rfc3339(*t) : std::string();
}

Transition transition_of(const engine::RecordOutcome& o) {
  return {o.id,
          o.name,
          state::to_string(o.kind),
          state::to_string(o.from),
          state::to_string(o.to),
          engine::to_string(o.result),
          o.note,
          o.drift};
}

RecordInfo info_of(const state::Record& r, const std::optional<engine::RenewalTime>& renewal) {
  RecordInfo i;
  i.id = r.id;
  i.kind = state::to_string(r.kind);
  i.name = r.name;
  i.tenant = r.tenant;
  i.state = state::to_string(r.state);
  i.remote_id = r.remote_id;
  i.remote_status = r.remote_status;
  i.not_after = rfc3339_or_empty(r.not_after);
  i.last_error = r.last_error;
  i.attempts = r.attempts;
  i.drift = r.drift;
  i.json = engine::record_json_text(r, renewal);
  return i;
}

RequestResult result_of(const engine::Requested& r) {
  return {r.id, r.name, r.created, state::to_string(r.state), r.profile_changes};
}

}  // namespace

struct Engine::Impl {
  engine::Config config;
  std::string url;
  std::string actor;
  std::unique_ptr<state::StateStore> writer;  // opened by the first call that writes
  std::unique_ptr<state::StateStore> reader;  // read-only, until a writer is open

  // The store for writing, made on first use (a SQLite file is created then, as by request).
  Result<state::StateStore*> write() {
    if (!writer) {
      auto st = engine::open_state(config, url, state::OpenMode::read_write);
      if (!st) return st.error();
      writer = std::move(*st);
      reader.reset();
    }
    return writer.get();
  }

  // The store for reading: the writer if there is one, else read-only (nothing is created).
  Result<state::StateStore*> read() {
    if (writer) return writer.get();
    if (!reader) {
      auto st = engine::open_state(config, url, state::OpenMode::read_only);
      if (!st) return st.error();
      reader = std::move(*st);
    }
    return reader.get();
  }

  // What a verb that talks to Graph needs: an I/O context, the session, and a workflow on the
  // store for writing (`verb` names it in history).
  struct Flow {
    boost::asio::io_context ioc{1};
    engine::SystemClock clock;
    std::unique_ptr<engine::GraphSession> session;
    std::unique_ptr<engine::Workflow> flow;
  };
  Result<std::unique_ptr<Flow>> flow(const std::string& verb) {
    auto st = write();
    if (!st) return st.error();
    auto f = std::make_unique<Flow>();
    f->session = std::make_unique<engine::GraphSession>(f->ioc.get_executor(), config, f->clock,
                                                        engine::GraphSession::Options{});
    engine::RunWiring wiring;
    auto* session = f->session.get();
    wiring.provider = [session](const state::Record& r) { return session->provider(r); };
    wiring.renewal = engine::renewal_source(config);
    engine::RunOptions ro;
    ro.actor = "pkiflow " + verb + " (" + actor + ")";
    ro.poll_interval = config.run.poll_interval;
    ro.confirm_wait = config.run.confirm_wait;
    ro.handle_signals = false;
    f->flow = std::make_unique<engine::Workflow>(**st, f->clock, std::move(wiring), ro);
    return f;
  }

  Result<RecordInfo> record(const std::string& id) {
    auto st = read();
    if (!st) return st.error();
    auto r = (*st)->get(id);
    if (!r) return r.error();
    if (!*r) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
    return info_of(**r, renewal(**r));
  }

  std::optional<engine::RenewalTime> renewal(const state::Record& r) const {
    if (r.state != state::RecordState::active) return std::nullopt;
    return engine::renewal_due(r, config.renewal_policy(r.kind, r.name, r.tenant));
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<Engine> Engine::open(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  Result<engine::Config> config = engine::Config{};
  if (!options.config_file.empty())
    config = engine::load_config(std::filesystem::path(options.config_file));
  else if (!options.config_json.empty())
    config = engine::parse_config(options.config_json, options.config_name);
  if (!config) return config.error();
  for (const auto& problem : engine::check_config_files(*config))
    if (!(problem.permissions && options.allow_insecure_permissions)) return problem.error;
  impl->config = std::move(*config);
  impl->url = !options.state_url.empty() ? options.state_url : impl->config.state_url;
  if (impl->url.empty()) {
    auto url = engine::default_state_url();
    if (!url) return url.error();
    impl->url = *url;
  }
  impl->actor = "embedded:" + engine::this_host() + " pid " + std::to_string(::getpid());
  return Engine(std::move(impl));
}

Result<std::vector<RequestResult>> Engine::request_configured() {
  auto& m = *impl_;
  if (m.config.file.empty())
    return Error(ErrorKind::invalid_input, "request",
                 "the Engine was opened without a configuration file, so it has no certificates "
                 "to request; use request() with an entry");
  auto st = m.write();
  if (!st) return st.error();
  std::vector<RequestResult> out;
  auto done = engine::request_records(
      **st, m.config.certificates, "requested from " + m.config.file.string(), m.actor,
      [&out](const engine::Requested& r) { out.push_back(result_of(r)); });
  if (!done) return done.error();
  return out;
}

Result<RequestResult> Engine::request(const std::string& certificate_json) {
  auto& m = *impl_;
  auto spec = engine::parse_certificate_entry(certificate_json, m.config, "certificate");
  if (!spec) return spec.error();
  auto st = m.write();
  if (!st) return st.error();
  std::optional<RequestResult> out;
  auto done = engine::request_records(**st, {*spec}, "requested through the embedding API", m.actor,
                                      [&out](const engine::Requested& r) { out = result_of(r); });
  if (!done) return done.error();
  return *out;
}

Result<std::vector<RecordInfo>> Engine::status(bool include_retired) {
  auto st = impl_->read();
  if (!st) return st.error();
  std::vector<RecordInfo> out;
  auto done = state::for_each_record(**st, [&](const state::Record& r) {
    if (include_retired || r.state != state::RecordState::retired)
      out.push_back(info_of(r, impl_->renewal(r)));
  });
  if (!done) return done.error();
  return out;
}

Result<RecordInfo> Engine::show(const std::string& id) {
  return impl_->record(id);
}

Result<RecordInfo> Engine::renew(const std::string& id) {
  auto st = impl_->write();
  if (!st) return st.error();
  auto r = engine::renew_record(**st, impl_->config, id, impl_->actor);
  if (!r) return r.error();
  return info_of(r->successor, std::nullopt);
}

Result<RecordInfo> Engine::retry(const std::string& id) {
  auto st = impl_->write();
  if (!st) return st.error();
  engine::SystemClock clock;
  engine::Lifecycle life(**st, clock, impl_->actor);
  auto r = life.retry(id);
  if (!r) return r.error();
  return info_of(*r, std::nullopt);
}

Result<RecordInfo> Engine::cancel(const std::string& id, bool keep_remote) {
  if (keep_remote) {
    auto st = impl_->write();
    if (!st) return st.error();
    engine::SystemClock clock;
    auto who = (*st)->lease_owner(id, clock.now());
    if (!who) return who.error();
    if (*who && !engine::owner_is_dead(**who))
      return Error(ErrorKind::busy, "record " + id,
                   "a run holds it (" + **who + "); try again when that run has finished");
    engine::Lifecycle life(**st, clock, impl_->actor);
    auto r = life.cancel(id);
    if (!r) return r.error();
    return info_of(*r, std::nullopt);
  }
  auto f = impl_->flow("cancel");
  if (!f) return f.error();
  if (auto ok = (*f)->flow->cancel((*f)->ioc, id); !ok) return ok.error();
  return impl_->record(id);
}

Result<Transition> Engine::enable(const std::string& id) {
  auto f = impl_->flow("enable");
  if (!f) return f.error();
  auto o = (*f)->flow->enable((*f)->ioc, id);
  if (!o) return o.error();
  return transition_of(*o);
}

Result<Transition> Engine::verify(const std::string& id) {
  auto f = impl_->flow("verify");
  if (!f) return f.error();
  auto o = (*f)->flow->verify((*f)->ioc, id);
  if (!o) return o.error();
  return transition_of(*o);
}

Result<std::vector<HistoryItem>> Engine::history(const std::string& id) {
  auto st = impl_->read();
  if (!st) return st.error();
  auto rows = (*st)->history(id);
  if (!rows) return rows.error();
  if (rows->empty()) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
  std::vector<HistoryItem> out;
  out.reserve(rows->size());
  for (const auto& h : *rows)
    out.push_back({h.seq, h.from ? state::to_string(*h.from) : "", state::to_string(h.to),
                   pki::format_rfc3339(h.at), h.reason, h.actor, h.details_json});
  return out;
}

Result<RunResult> Engine::run(const RunOptions& options) {
  auto& m = *impl_;
  const engine::Config& config = m.config;
  const bool dry = options.dry_run || options.plan;
  auto st = dry ? m.read() : m.write();
  if (!st) return st.error();
  state::StateStore& store = **st;
  auto trust = engine::trust_anchors(config);
  if (!trust) return trust.error();
  auto keys = engine::local_keys(config, m.url);
  if (!keys) return keys.error();

  engine::SystemClock clock;
  auto rng = pki::Rng::system();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  const auto limit = options.deadline.count() > 0 ? options.deadline : config.run.deadline;
  if (limit.count() > 0) deadline = std::chrono::steady_clock::now() + limit;

  RunResult result;
  boost::asio::io_context ioc{1};
  engine::GraphSession::Options so;
  so.dry_run = dry && !options.plan;
  so.read_only = options.plan;
  so.dry_run_sink = [&result](const std::string& line) { result.requests.push_back(line); };
  so.run_deadline = deadline;
  engine::GraphSession session(ioc.get_executor(), config, clock, so);
  if (!dry) session.share_throttling(store);

  engine::RunWiring wiring;
  wiring.provider = [&session](const state::Record& r) { return session.provider(r); };
  wiring.signer = [&session](const state::Record& r) { return session.signer(r); };
  wiring.trust = std::move(*trust);
  wiring.keys = std::move(*keys);
  wiring.renewal = engine::renewal_source(config);

  engine::RunOptions ro;
  ro.actor = "pkiflow run (" + m.actor + ")";
  ro.run_id = engine::new_record_id(rng);
  ro.on_outcome = [&result, &options](const engine::RecordOutcome& o) {
    Transition t = transition_of(o);
    if (options.on_transition) options.on_transition(t);
    result.records.push_back(std::move(t));
  };
  ro.dry_run = dry;
  ro.reads_tenant = options.plan;
  ro.concurrency = options.concurrency > 0 ? options.concurrency : config.run.concurrency;
  ro.poll_interval = config.run.poll_interval;
  ro.confirm_wait = config.run.confirm_wait;
  ro.backoff.base = config.run.retry_base;
  ro.backoff.cap = config.run.retry_cap;
  ro.handle_signals = false;  // the host program's signals are its own
  ro.verify_interval = config.run.verify_interval;
  ro.config_changed_at = engine::config_changed_at(config);
  ro.deadline = deadline;
  engine::Workflow flow(store, clock, std::move(wiring), ro);

  {
    const std::lock_guard lock(options.cancel.state_->mutex);
    options.cancel.state_->stop = [&flow] { flow.request_stop(); };
  }
  if (options.cancel.cancelled()) flow.request_stop();
  auto report = flow.run(ioc);
  {
    const std::lock_guard lock(options.cancel.state_->mutex);
    options.cancel.state_->stop = nullptr;
  }
  if (!report) return report.error();

  using R = engine::RecordOutcome::Result;
  result.progressed = report->count(R::progressed);
  result.unchanged = report->count(R::unchanged);
  result.waiting = report->count(R::waiting);
  result.failed = report->count(R::failed);
  result.interrupted = report->interrupted;
  result.deadline_passed = report->deadline_passed;
  result.held_elsewhere = report->skipped_leased.size();
  // Drift stays a condition until it is put right, whether or not this run checked again.
  bool drift_in_store = false;
  if (!dry)
    if (auto seen =
            state::for_each_record(store,
                                   [&drift_in_store](const state::Record& r) {
                                     if (r.state == state::RecordState::active && !r.drift.empty())
                                       drift_in_store = true;
                                   });
        !seen)
      return seen.error();
  result.drift = drift_in_store || report->drifted > 0;
  result.exit_code = engine::run_exit_code(*report, drift_in_store);
  return result;
}

}  // namespace pkiflow

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
#include "engine/bundle/records.hpp"
#include "engine/closest_name.hpp"
#include "engine/config.hpp"
#include "engine/config_check.hpp"
#include "engine/graph_session.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/record_id.hpp"
#include "engine/renewal.hpp"
#include "engine/run/metrics.hpp"
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
          o.drift,
          o.verified};
}

RunEvent event_of(const engine::RunEvent& e, std::size_t concurrency) {
  using K = engine::RunEvent::Kind;
  RunEvent out;
  out.type = e.kind == K::claimed      ? RunEvent::Type::claimed
             : e.kind == K::transition ? RunEvent::Type::transition
             : e.kind == K::renewal    ? RunEvent::Type::renewal
                                       : RunEvent::Type::settled;
  out.record_id = e.record_id;
  out.name = e.name;
  if (!e.record_id.empty()) out.kind = state::to_string(e.record_kind);
  if (e.from) out.from = state::to_string(*e.from);
  if (e.to) out.to = state::to_string(*e.to);
  out.result = e.result;
  out.message = e.message;
  out.drift = e.drift;
  out.total = e.total;
  if (e.kind == K::claimed) out.concurrency = concurrency;
  return out;
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
  i.next_attempt_at = rfc3339_or_empty(r.next_attempt_at);
  i.drift = r.drift;
  if (renewal) {
    i.renew_at = pki::format_rfc3339(renewal->at);
    i.renew_reason = renewal->reason;
  }
  i.json = engine::record_json_text(r, renewal);
  return i;
}

// Why a record waits, for people: its last error, a drift note, or the offline signature (in
// a bundle, or to be exported in one) it needs.
std::string note_of(const state::Record& r, const engine::Config& config) {
  if (!r.last_error.empty()) return r.last_error;
  if (!r.drift_note.empty()) return r.drift_note;
  if (auto b = engine::bundle::bundle_wait_note(r); !b.empty()) return b;
  if (engine::bundle::waits_for_offline_signature(r, config))
    return "waiting for an offline signature (pkiflow bundle export DIR)";
  return "";
}

template <class T>
Result<T> parse_name(const std::string& text, const char* field,
                     std::optional<T> (*parse)(std::string_view),
                     const std::vector<std::string>& names) {
  if (auto v = parse(text)) return *v;
  std::string known, close = engine::closest_name(text, names);
  for (const auto& n : names)
    known += (known.empty() ? "" : ", ") + n;
  return Error(ErrorKind::invalid_input, field,
               "unknown " + std::string(field) + " \"" + text + "\"" +
                   (close.empty() ? "" : " (did you mean \"" + close + "\"?)") + "; the " + field +
                   "s are " + known);
}

RequestResult result_of(const engine::Requested& r) {
  return {r.id, r.name, r.created, state::to_string(r.state), r.profile_changes};
}

}  // namespace

struct Engine::Impl {
  engine::Config config;
  std::string url;
  std::string actor;
  std::vector<std::string> warnings;          // secret files read in spite of their permissions
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
  Result<std::unique_ptr<Flow>> flow(const std::string& verb, const ActionOptions& options) {
    if (options.wait.count() > engine::kConfirmWaitSecondsBounds.max)
      return Error(
          ErrorKind::invalid_input, "action options.wait",
          "must be at most " + std::to_string(engine::kConfirmWaitSecondsBounds.max) + " seconds");
    auto st = write();
    if (!st) return st.error();
    auto f = std::make_unique<Flow>();
    engine::GraphSession::Options so;
    so.dry_run = options.dry_run;
    so.dry_run_sink =
        options.on_dry_run_request ? options.on_dry_run_request : [](const std::string&) {};
    so.trace = options.on_request;
    f->session = std::make_unique<engine::GraphSession>(f->ioc.get_executor(), config, f->clock,
                                                        std::move(so));
    engine::RunWiring wiring;
    auto* session = f->session.get();
    wiring.provider = [session](const state::Record& r) { return session->provider(r); };
    wiring.renewal = engine::renewal_source(config);
    engine::RunOptions ro;
    ro.actor = "pkiflow " + verb + " (" + actor + ")";
    ro.dry_run = options.dry_run;
    ro.poll_interval = config.run.poll_interval;
    ro.confirm_wait = options.wait.count() >= 0
                          ? std::chrono::duration_cast<std::chrono::milliseconds>(options.wait)
                          : config.run.confirm_wait;
    ro.handle_signals = false;
    f->flow = std::make_unique<engine::Workflow>(**st, f->clock, std::move(wiring), ro);
    return f;
  }

  // enable, verify, repair: one record's transition through a workflow of its own.
  template <class Verb>
  Result<Transition> act(const std::string& verb_name, const std::string& id,
                         const ActionOptions& options, Verb verb) {
    auto f = flow(verb_name, options);
    if (!f) return f.error();
    auto o = verb(*(*f)->flow, (*f)->ioc, id);
    if (!o) return o.error();
    return transition_of(*o);
  }

  Result<state::Record> get(const std::string& id) {
    auto st = read();
    if (!st) return st.error();
    auto r = (*st)->get(id);
    if (!r) return r.error();
    if (!*r) return Error(ErrorKind::invalid_input, "record " + id, "no such record");
    return std::move(**r);
  }

  // As status() lists it.
  RecordInfo summary(const state::Record& r) const {
    RecordInfo i = info_of(r, renewal(r));
    i.note = note_of(r, config);
    return i;
  }

  // As show() gives it.
  RecordInfo full(const state::Record& r) const {
    RecordInfo i = summary(r);
    i.csr_pem = r.csr_pem;
    i.certificate_pem = r.certificate_pem;
    i.chain_pem = r.chain_pem;
    i.key_path = r.key_path;
    i.json = engine::record_show_json_text(r, renewal(r));
    return i;
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
  else if (options.find_config)
    config = engine::load_config(std::nullopt);
  if (!config) return config.error();
  if (auto ok = engine::accept_config_files(
          *config, options.allow_insecure_permissions,
          [&impl](const Error& e) { impl->warnings.push_back(e.what()); });
      !ok)
    return ok.error();
  impl->config = std::move(*config);
  impl->url = !options.state_url.empty() ? options.state_url : impl->config.state_url;
  if (impl->url.empty()) {
    auto url = engine::default_state_url();
    if (!url) return url.error();
    impl->url = *url;
  }
  impl->actor = !options.actor.empty()
                    ? options.actor
                    : "embedded:" + engine::this_host() + " pid " + std::to_string(::getpid());
  return Engine(std::move(impl));
}

const std::vector<std::string>& Engine::notices() const {
  return impl_->config.notices;
}

const std::vector<std::string>& Engine::warnings() const {
  return impl_->warnings;
}

Result<std::vector<RequestResult>> Engine::request_configured() {
  auto& m = *impl_;
  if (m.config.file.empty())
    return Error(ErrorKind::invalid_input, "request",
                 "no configuration file was given or found, so there are no configured "
                 "certificates to request");
  auto st = m.write();
  if (!st) return st.error();
  std::vector<RequestResult> out;
  auto done = engine::request_records(
      **st, m.config.certificates, "requested from " + m.config.file.string(), m.actor,
      [&out](const engine::Requested& r) { out.push_back(result_of(r)); });
  if (!done) return done.error();
  return out;
}

Result<RequestResult> Engine::request(const std::string& certificate_json,
                                      const std::string& from) {
  auto& m = *impl_;
  auto spec = engine::parse_certificate_entry(certificate_json, m.config, from);
  if (!spec) return spec.error();
  auto st = m.write();
  if (!st) return st.error();
  std::optional<RequestResult> out;
  auto done = engine::request_records(**st, {*spec}, "requested from " + from, m.actor,
                                      [&out](const engine::Requested& r) { out = result_of(r); });
  if (!done) return done.error();
  return *out;
}

Result<std::vector<RecordInfo>> Engine::status(const StatusFilter& filter) {
  state::RecordFilter f;
  if (!filter.state.empty()) {
    std::vector<std::string> known;
    for (auto s : state::kAllStates)
      known.emplace_back(state::to_string(s));
    auto s = parse_name<state::RecordState>(filter.state, "state", state::parse_state, known);
    if (!s) return s.error();
    f.state = *s;
  }
  if (!filter.kind.empty()) {
    auto k = parse_name<state::RecordKind>(filter.kind, "kind", state::parse_kind,
                                           {"gsa-tls-ca", "cba-ca", "intune-codesigning"});
    if (!k) return k.error();
    f.kind = *k;
  }
  f.expiring_before = filter.expiring_before;
  auto st = impl_->read();
  if (!st) return st.error();
  auto records = (*st)->list(f);
  if (!records) return records.error();
  std::vector<RecordInfo> out;
  out.reserve(records->size());
  for (const auto& r : *records) {
    // Retired records are history: listed when asked for by state or with include_retired.
    if (!filter.include_retired && !f.state && r.state == state::RecordState::retired) continue;
    out.push_back(impl_->summary(r));
  }
  return out;
}

Result<RecordInfo> Engine::show(const std::string& id) {
  auto r = impl_->get(id);
  if (!r) return r.error();
  return impl_->full(*r);
}

Result<Renewed> Engine::renew(const std::string& id) {
  auto st = impl_->write();
  if (!st) return st.error();
  auto r = engine::renew_record(**st, impl_->config, id, impl_->actor);
  if (!r) return r.error();
  return Renewed{info_of(r->successor, std::nullopt), std::move(r->profile_changes)};
}

Result<RecordInfo> Engine::retry(const std::string& id) {
  auto st = impl_->write();
  if (!st) return st.error();
  engine::SystemClock clock;
  engine::Lifecycle life(**st, clock, impl_->actor);
  auto r = life.retry(id);
  if (!r) return r.error();
  return impl_->summary(*r);
}

Result<RecordInfo> Engine::cancel(const std::string& id, bool keep_remote,
                                  const ActionOptions& options) {
  auto f = impl_->flow("cancel", options);
  if (!f) return f.error();
  if (auto ok = (*f)->flow->cancel((*f)->ioc, id, keep_remote); !ok) return ok.error();
  auto r = impl_->get(id);
  if (!r) return r.error();
  return impl_->summary(*r);
}

Result<Transition> Engine::enable(const std::string& id, const ActionOptions& options) {
  return impl_->act(
      "enable", id, options,
      [](engine::Workflow& w, auto& ioc, const std::string& i) { return w.enable(ioc, i); });
}

Result<Transition> Engine::verify(const std::string& id, const ActionOptions& options) {
  return impl_->act(
      "verify", id, options,
      [](engine::Workflow& w, auto& ioc, const std::string& i) { return w.verify(ioc, i); });
}

Result<VerifyResult> Engine::verify_all(const ActionOptions& options) {
  auto f = impl_->flow("verify", options);
  if (!f) return f.error();
  state::RecordFilter active;
  active.state = state::RecordState::active;
  auto records = impl_->writer->list(active);
  if (!records) return records.error();
  VerifyResult out;
  for (const auto& r : *records) {
    out.ids.push_back(r.id);
    auto o = (*f)->flow->verify((*f)->ioc, r.id);
    if (o)
      out.records.push_back(transition_of(*o));
    else if (o.error().kind() != ErrorKind::not_sent)  // dry run: the GET was shown
      out.errors.push_back(o.error());
  }
  return out;
}

Result<Transition> Engine::repair(const std::string& id, const ActionOptions& options) {
  return impl_->act(
      "repair", id, options,
      [](engine::Workflow& w, auto& ioc, const std::string& i) { return w.repair(ioc, i); });
}

Result<ValidationResult> Engine::validate(const ValidateRequest& request) {
  auto bytes = [](const std::string& s) { return pki::Bytes(s.begin(), s.end()); };
  const pki::SigningProfile* profile = nullptr;
  if (!request.profile.empty()) {
    profile = pki::find_profile(request.profile);
    if (!profile)
      return Error(ErrorKind::invalid_input, "profile",
                   "unknown profile \"" + request.profile + "\" (" + pki::profile_names() + ")");
  }
  auto certs = pki::Certificate::decode_all(bytes(request.certificate_pem));
  if (!certs) return certs.error();
  if (certs->empty()) return Error(ErrorKind::parse, "certificate", "holds no certificate");
  std::vector<pki::Certificate> chain;
  if (!request.chain_pem.empty()) {
    auto c = pki::Certificate::decode_all(bytes(request.chain_pem));
    if (!c) return c.error();
    chain = std::move(*c);
  }
  std::shared_ptr<const pki::TrustStore> trust;
  if (!request.trust.empty()) {
    auto t = pki::TrustStore::load(request.trust);
    if (!t) return t.error();
    trust = std::make_shared<const pki::TrustStore>(std::move(*t));
  } else {
    auto t = engine::trust_anchors(impl_->config);
    if (!t) return t.error();
    if (!*t)
      return Error(ErrorKind::invalid_input, "trust",
                   "give trust anchors (a PEM file, a directory or \"system\"): the "
                   "configuration names none");
    trust = std::move(*t);
  }
  std::optional<pki::Csr> csr;
  if (!request.csr_pem.empty()) {
    auto c = pki::Csr::decode(bytes(request.csr_pem));
    if (!c) return c.error();
    csr = std::move(*c);
  }
  std::vector<pki::Crl> crls;
  for (const auto& text : request.crl_pem) {
    auto c = pki::Crl::decode_all(bytes(text));
    if (!c) return c.error();
    for (auto& one : *c)
      crls.push_back(std::move(one));
  }
  pki::OptionText text;
  text.crl_check = request.crl_check;
  text.purpose = request.purpose;
  text.eku = request.eku;
  text.max_depth = request.max_depth;
  text.policies = request.policies;
  text.require_explicit_policy = request.require_explicit_policy;
  text.inhibit_policy_mapping = request.inhibit_policy_mapping;
  text.inhibit_any_policy = request.inhibit_any_policy;
  text.lenient = request.lenient;
  auto options = pki::make_options(text, false);
  if (!options) return options.error();
  pki::ValidationRequest req{certs->front(),
                             std::move(chain),
                             std::move(trust),
                             std::move(csr),
                             profile,
                             std::move(crls),
                             request.at.value_or(std::chrono::system_clock::now()),
                             request.min_remaining_days,
                             std::move(*options)};
  pki::Validator validator;
  const auto report = validator.validate(req);
  return ValidationResult{report.verdict() == pki::Verdict::valid, pki::report_json(report),
                          pki::report_text(report, false)};
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
  const auto start = std::chrono::steady_clock::now();
  // The bounds the configuration file and the command line hold these to.
  auto outside = [](long long v, engine::Bounds b) { return v < b.min || v > b.max; };
  auto refuse = [](const char* field, engine::Bounds b) {
    return Error(ErrorKind::invalid_input, std::string("run options.") + field,
                 "must be from " + std::to_string(b.min) + " to " + std::to_string(b.max));
  };
  if (options.concurrency > 0 &&
      outside(static_cast<long long>(options.concurrency), engine::kConcurrencyBounds))
    return refuse("concurrency", engine::kConcurrencyBounds);
  if (options.poll_interval &&
      outside(options.poll_interval->count(), engine::kPollIntervalMsBounds))
    return refuse("poll_interval (ms)", engine::kPollIntervalMsBounds);
  if (options.confirm_wait &&
      outside(options.confirm_wait->count(), engine::kConfirmWaitSecondsBounds))
    return refuse("confirm_wait (s)", engine::kConfirmWaitSecondsBounds);
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
  RunResult result;
  result.run_id = !options.run_id.empty() ? options.run_id : engine::new_record_id(rng);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  result.deadline = options.deadline.count() > 0 ? options.deadline : config.run.deadline;
  if (result.deadline.count() > 0) deadline = start + result.deadline;

  boost::asio::io_context ioc{1};
  engine::GraphSession::Options so;
  so.dry_run = dry && !options.plan;
  so.read_only = options.plan;
  if (options.on_dry_run_request)
    so.dry_run_sink = options.on_dry_run_request;
  else
    so.dry_run_sink = [&result](const std::string& line) { result.requests.push_back(line); };
  so.trace = options.on_request;
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
  ro.run_id = result.run_id;
  ro.concurrency = options.concurrency > 0 ? options.concurrency : config.run.concurrency;
  if (options.on_event)
    ro.on_event = [&options, concurrency = ro.concurrency](const engine::RunEvent& e) {
      options.on_event(event_of(e, concurrency));
    };
  ro.on_outcome = [&result, &options](const engine::RecordOutcome& o) {
    Transition t = transition_of(o);
    if (options.on_transition) options.on_transition(t);
    if (options.keep_records) result.records.push_back(std::move(t));
  };
  ro.dry_run = dry;
  ro.reads_tenant = options.plan;
  ro.poll_interval = options.poll_interval.value_or(config.run.poll_interval);
  ro.confirm_wait =
      options.confirm_wait
          ? std::chrono::duration_cast<std::chrono::milliseconds>(*options.confirm_wait)
          : config.run.confirm_wait;
  ro.backoff.base = config.run.retry_base;
  ro.backoff.cap = config.run.retry_cap;
  ro.handle_signals = options.handle_signals;
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
  result.settled = report->outcomes;
  result.progressed = report->count(R::progressed);
  result.unchanged = report->count(R::unchanged);
  result.waiting = report->count(R::waiting);
  result.failed = report->count(R::failed);
  result.stopped_at_request = report->count(R::dry_run);
  result.interrupted = report->interrupted;
  result.deadline_passed = report->deadline_passed;
  result.held_elsewhere = report->skipped_leased.size();
  for (const auto& k : report->skipped_leased)
    result.held.push_back({k.id, k.owner, pki::format_rfc3339(k.until)});
  for (const auto& p : report->renewals)
    result.renewals.push_back(
        {p.id, p.name, p.successor, pki::format_rfc3339(p.due), p.reason, p.window, p.error});
  result.taken_over = report->taken_over;
  result.not_read = report->not_read;
  // The store after the run, a page at a time: drift stays a condition until it is put right
  // (whether or not this run checked again).
  std::optional<Error> unread;
  engine::RecordSource after = [&store, &unread](const auto& visit) -> void {
    if (auto done = state::for_each_record(store, visit); !done && !unread) unread = done.error();
  };
  if (!dry)
    if (auto seen =
            state::for_each_record(store,
                                   [&](const state::Record& r) {
                                     if (r.state == state::RecordState::active && !r.drift.empty())
                                       result.drifted.push_back(m.summary(r));
                                   });
        !seen)
      return seen.error();
  result.drift = !result.drifted.empty() || report->drifted > 0;
  result.exit_code = engine::run_exit_code(*report, !result.drifted.empty());

  if (!options.metrics_file.empty() && !dry) {
    engine::RunFigures f;
    f.graph_requests = session.request_counts();
    f.finished = std::chrono::system_clock::now();
    f.duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    f.exit_code = result.exit_code;
    if (result.exit_code == 0)
      f.last_success = f.finished;
    else if (auto previous =
                 pki::read_file_bytes(options.metrics_file, std::uintmax_t{16} * 1024 * 1024);
             previous)
      f.last_success = engine::last_success_in(std::string(previous->begin(), previous->end()));
    const std::string text = engine::prometheus_text(after, config, *report, f);
    if (unread)
      result.metrics_error = *unread;
    else if (auto w = pki::write_file_atomic(options.metrics_file, text, 0644); !w)
      result.metrics_error = w.error();
  }
  return result;
}

}  // namespace pkiflow

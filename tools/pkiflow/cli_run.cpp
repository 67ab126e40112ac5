// pkiflow run | plan | cancel | enable (on the embedding API's Engine), import | cba | graph
// login-test: the verbs that talk to Graph (each with --dry-run), and the offline-signing path
// back into the lifecycle.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <fstream>
#include <iostream>
#include <thread>

#include "engine/api/setup.hpp"
#include "engine/graph_session.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "engine/record_id.hpp"
#include "providers/entra_cba/cba_provider.hpp"
#include "providers/graph/encoding.hpp"
#include "tools/pkiflow/cli_graph.hpp"
#include "tools/pkiflow/cli_log.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

namespace net = boost::asio;

// A record's outcome as `run --json` shows it (one element of "records").
nlohmann::ordered_json run_outcome_json(const Transition& t) {
  return {{"id", t.record_id},
          {"name", t.name},
          {"kind", t.kind},
          {"from", t.from},
          {"to", t.to},
          {"result", t.result},
          {"verified", t.verified},
          {"drift",
           t.drift.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(t.drift)},
          {"note", t.message}};
}

// The run's outcomes as they settle, one JSON line each in an unlinked temporary file (0600),
// read back for the report: the run's memory stays flat however many records it works. Kept
// in memory instead when no temporary file can be written.
class OutcomeSpool {
 public:
  OutcomeSpool() : file_(std::tmpfile()) {}
  ~OutcomeSpool() {
    if (file_) std::fclose(file_);
  }
  OutcomeSpool(const OutcomeSpool&) = delete;
  OutcomeSpool& operator=(const OutcomeSpool&) = delete;

  void add(const Transition& t) {
    auto j = run_outcome_json(t);
    if (file_) {
      const std::string line = json_text(j, -1) + "\n";
      if (std::fwrite(line.data(), 1, line.size(), file_) == line.size()) return;
      std::fclose(file_);  // what it holds is lost with it: keep from here on in memory
      file_ = nullptr;
      lost_ = true;
    }
    kept_.push_back(std::move(j));
  }

  // Each outcome in the order they settled.
  void each(const std::function<void(const nlohmann::ordered_json&)>& f) {
    if (file_ && std::fflush(file_) == 0 && std::fseek(file_, 0, SEEK_SET) == 0) {
      std::string line;
      int c;
      while ((c = std::fgetc(file_)) != EOF) {
        if (c != '\n') {
          line += static_cast<char>(c);
          continue;
        }
        f(nlohmann::ordered_json::parse(line));
        line.clear();
      }
    }
    for (const auto& j : kept_)
      f(j);
  }
  bool lost() const { return lost_; }

 private:
  std::FILE* file_;
  std::vector<nlohmann::ordered_json> kept_;
  bool lost_ = false;
};

// pkiflow run | plan, on the embedding API's Engine::run (pkiflow/engine.hpp): the command line
// only sets the options, logs the events and prints the result.
struct Run {
  StoreOptions store;
  // plan: a dry run that reads the tenant (token, GETs) so it shows the writes a run would
  // send now, the drift found, and the renewals and retirements due.
  bool plan = false;
  bool dry_run = false, json = false, verbose = false;
  std::string dry_run_out, metrics_file;
  std::string log_format = "text";
  int concurrency = 0, poll_ms = 0, wait_s = -1;

  void run() {
    auto engine = store.engine();
    if (plan) dry_run = true;
    auto rng = pki::Rng::system();
    RunOptions o;
    o.dry_run = dry_run;
    o.plan = plan;
    o.run_id = engine::new_record_id(rng);
    if (concurrency > 0) o.concurrency = static_cast<std::size_t>(concurrency);
    if (poll_ms > 0) o.poll_interval = std::chrono::milliseconds(poll_ms);
    if (wait_s >= 0) o.confirm_wait = std::chrono::seconds(wait_s);
    RunLogger log(parse_log_format(log_format), o.run_id, verbose);
    o.on_event = [&log](const RunEvent& e) { log.event(e); };
    if (verbose) o.on_request = [&log](const std::string& line) { log.graph(line); };
    DryRunOutput dry(dry_run_out);
    if (dry_run) dry.open();
    o.on_dry_run_request = dry.sink();
    OutcomeSpool outcomes;
    o.keep_records = false;
    o.on_transition = [&outcomes](const Transition& t) { outcomes.add(t); };
    o.handle_signals = true;
    o.metrics_file = metrics_file;  // the Engine writes none in a dry run
    auto result = engine.run(o);
    log.finish();
    if (!result) fail(result.error());
    static_assert(kInterrupted == 7 && kRecordsFailed == 5 && kDrift == 9 &&
                  kHeldByAnotherRun == 8 && kOk == 0);  // as RunResult::exit_code says them
    const int code = result->exit_code;
    print(*result, outcomes, dry);
    if (result->metrics_error) fail(*result->metrics_error, kCannotWrite);
    if (code == kInterrupted && result->deadline_passed)
      throw Exit(kInterrupted,
                 "stopped at the run's deadline (run.deadline_seconds = " +
                     std::to_string(result->deadline.count()) +
                     "): requests in flight were cut, records stay as they were and leases were "
                     "released; the next run carries on");
    if (code == kInterrupted)
      throw Exit(kInterrupted,
                 "stopped by a signal: the steps in flight finished, leases were released; run "
                 "again to carry on");
    if (code == kHeldByAnotherRun)
      throw Exit(kHeldByAnotherRun,
                 std::to_string(result->held.size()) +
                     " due record(s) left alone: a live run holds them (see above)");
    if (code == kDrift) {
      std::string which;
      for (const auto& r : result->drifted)
        which += (which.empty() ? "" : ", ") + r.id + " (" + r.name + ": " + r.drift + ")";
      throw Exit(kDrift, "drift: live objects no longer match their records: " + which +
                             "; `pkiflow verify` says what the service holds, `pkiflow repair ID` "
                             "puts one right");
    }
    if (code != kOk) throw Exit(code, "");
  }

  void print(const RunResult& result, OutcomeSpool& outcomes, const DryRunOutput& dry) const {
    if (outcomes.lost())
      std::cerr << "pkiflow: warning: the temporary file of this run's outcomes could not be "
                   "written; the report lists only those after the failure (the counts are "
                   "whole)\n";
    auto or_null = [](const std::string& s) {
      return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
    };
    if (json) {
      nlohmann::ordered_json head, j;
      if (plan) head["plan"] = true;
      head["dry_run"] = dry_run;
      auto renewals = nlohmann::ordered_json::array();
      for (const auto& p : result.renewals)
        renewals.push_back({{"id", p.id},
                            {"name", p.name},
                            {"successor", or_null(p.successor)},
                            {"due", p.due},
                            {"reason", p.reason},
                            {"window", or_null(p.window)},
                            {"error", p.error}});
      j["renewals"] = renewals;
      auto skipped = nlohmann::ordered_json::array();
      for (const auto& k : result.held)
        skipped.push_back({{"id", k.id}, {"owner", k.owner}, {"until", k.until}});
      j["skipped_leased"] = skipped;
      j["leases_taken_over"] = result.taken_over;
      j["interrupted"] = result.interrupted;
      j["deadline_passed"] = result.deadline_passed;
      if (dry_run && dry_run_out.empty()) j["requests"] = dry.collected;
      j["exit"] = result.exit_code;
      // As print_json would print {head..., "records": [...], j...}, with the records streamed
      // from the spool rather than held as one document.
      const std::string a = json_text(head, 2), b = json_text(j, 2);
      std::cout << a.substr(0, a.size() - 2) << ",\n  \"records\": [";
      bool first = true;
      outcomes.each([&first](const nlohmann::ordered_json& o) {
        std::string text = json_text(o, 2);
        std::string indented;
        for (char c : text) {
          indented += c;
          if (c == '\n') indented += "    ";
        }
        std::cout << (first ? "\n    " : ",\n    ") << indented;
        first = false;
      });
      std::cout << (first ? "]," : "\n  ],") << b.substr(1) << "\n";
      document_written();
      return;
    }
    for (const auto& p : result.renewals) {
      std::cout << p.id << "  " << p.name << "  renewal due since " << p.due << " (" << p.reason
                << "): ";
      if (!p.error.empty())
        std::cout << "not planned: " << p.error << "\n";
      else if (!p.window.empty())
        std::cout << "waits for its renewal window (" << p.window << ")\n";
      else if (p.successor.empty())
        std::cout << "a run would plan its successor (dry run)\n";
      else
        std::cout << "planned " << p.successor << "\n";
    }
    outcomes.each([](const nlohmann::ordered_json& o) {
      const auto from = o["from"].get<std::string>(), to = o["to"].get<std::string>();
      std::cout << o["id"].get<std::string>() << "  " << o["name"].get<std::string>() << "  "
                << from;
      if (to != from) std::cout << " -> " << to;
      std::cout << "  (" << o["result"].get<std::string>() << ")";
      if (const auto note = o["note"].get<std::string>(); !note.empty()) std::cout << "  " << note;
      std::cout << "\n";
    });
    for (const auto& k : result.held)
      std::cout << k.id << "  skipped: a live run holds it (" << k.owner << ", lease until "
                << k.until << ")\n";
    if (result.taken_over > 0)
      std::cout << "took over " << result.taken_over
                << " record(s) from a run of this host that is no longer running\n";
    if (result.not_read > 0)
      std::cout << result.not_read
                << " more due record(s) not started: the run stopped before it read them\n";
    std::cout << result.settled << " record(s): " << result.progressed << " progressed, "
              << result.waiting << " waiting, " << result.failed << " failed";
    if (dry_run)
      std::cout << ", " << result.stopped_at_request << " stopped at a request (dry run)";
    std::cout << "\n";
  }
};

// An offline-signed certificate back into the lifecycle: csrGenerated -> signed after the same
// validation a signer's output gets.
struct CertificateImport {
  StoreOptions store;
  std::string id, certificate, chain;
  bool json = false;

  void run() const {
    auto config = store.load();
    auto st = store.open(config);
    auto rec = take(st->get(id));
    if (!rec) fail(Error(ErrorKind::invalid_input, "record " + id, "no such record"));
    // csrGenerated: the answer to the record's CSR. planned (CBA, Intune): an existing
    // certificate whose key pkiflow never held, for admins who only want the upload part.
    const bool existing =
        rec->state == state::RecordState::planned && rec->kind != state::RecordKind::gsa_tls_ca;
    if (rec->state != state::RecordState::csrGenerated && !existing)
      fail(kBadInput, "record " + id + " is " + state::to_string(rec->state) +
                          "; a certificate can be imported in csrGenerated (or, except for a "
                          "TLS-inspection CA, in planned)");
    auto cert = take(pki::Certificate::load(certificate));
    std::vector<pki::Certificate> bundle;
    if (!chain.empty()) bundle = take(pki::Certificate::load_all(chain));
    std::optional<pki::Csr> csr;
    if (!existing)
      csr = take(pki::Csr::decode(pki::Bytes(rec->csr_pem.begin(), rec->csr_pem.end())));
    engine::SystemClock clock;
    const auto& profile = engine::profile_for(rec->kind);
    if (auto ok = engine::validate_for_upload(cert, bundle, csr, profile, trust_of(config),
                                              clock.now(), certificate);
        !ok)
      fail(ok.error(), kInvalid);
    std::string chain_pem;
    for (const auto& c : bundle)
      chain_pem += c.pem();
    const auto f = cert.facts();
    // One remote object belongs to at most one live record: a certificate already managed by
    // another record is refused (retiring one would delete what the other calls its own).
    for (const auto& other : take(st->list({}))) {
      if (other.id == rec->id || other.state == state::RecordState::retired) continue;
      if (pki::same_hex(other.thumbprint_sha1, f.sha1_thumbprint))
        fail(kBadInput, certificate + ": certificate " + f.sha1_thumbprint +
                            " is already managed by record " + other.id + " (" + other.name + ", " +
                            state::to_string(other.state) + "); nothing was imported");
    }
    engine::Lifecycle life(*st, clock, actor());
    auto r = take(life.signed_(id, {cert.pem(), chain_pem, f.not_before, f.not_after,
                                    f.sha1_thumbprint, f.sha256_thumbprint}));
    if (json)
      print_json(
          {{"id", r.id}, {"state", state::to_string(r.state)}, {"thumbprint", f.sha1_thumbprint}});
    else
      std::cout << "signed   " << r.id << "  " << r.name << "  (" << f.subject << ", valid until "
                << pki::format_rfc3339(f.not_after) << ")\n";
  }
};

// Cancels a record: its remote object is deleted first (unless --keep-remote), then it is
// retired, so nothing half-done stays in the tenant.
struct Cancel {
  StoreOptions store;
  std::string id;
  bool dry_run = false, keep_remote = false, json = false;

  void run() const {
    auto engine = store.engine();
    DryRunOutput dry;
    auto r = engine.cancel(id, keep_remote, action_options(dry_run, dry));
    if (!r) {
      if (r.error().kind() == ErrorKind::not_sent)  // dry run: the DELETE was shown
        return dry.done({{"id", id}});
      fail(r.error());
    }
    if (dry_run) return dry.done({{"id", id}});  // nothing remote to delete: it would be retired
    const std::string kept = keep_remote ? r->remote_id : "";
    if (json) {
      print_json({{"id", r->id}, {"state", r->state}, {"remote_kept", kept}});
      return;
    }
    std::cout << r->id << ": " << r->state;
    if (!kept.empty()) std::cout << " (its remote object " << kept << " was left in the tenant)";
    std::cout << "\n";
  }
};

// Switches on a staged TLS-inspection CA (the tenant's gsa_activation "manual", or a cutover by
// hand) and waits for it to be in force.
struct Enable {
  StoreOptions store;
  std::string id;
  bool dry_run = false, json = false;
  int wait_s = -1;

  void run() const {
    auto engine = store.engine();
    DryRunOutput dry;
    auto o = action_options(dry_run, dry);
    o.wait = std::chrono::seconds(wait_s);
    auto out = engine.enable(id, o);
    if (!out) {
      if (out.error().kind() == ErrorKind::not_sent)  // dry run: the request was shown
        return dry.done({{"id", id}});
      fail(out.error());
    }
    if (json) {
      print_json(
          {{"id", out->record_id}, {"from", out->from}, {"to", out->to}, {"note", out->message}});
      return;
    }
    std::cout << out->record_id << "  " << out->name << "  " << out->from;
    if (out->to != out->from) std::cout << " -> " << out->to;
    if (!out->message.empty()) std::cout << "  " << out->message;
    std::cout << "\n";
  }
};

// Obtains a token and says for whom, never printing it.
struct LoginTest {
  StoreOptions store;
  std::string tenant;
  bool dry_run = false, json = false;

  void run() const {
    auto config = store.load();
    if (tenant.empty()) {
      if (config.tenants.size() != 1)
        fail(kBadInput, "--tenant: give one of the configured tenants (" +
                            std::to_string(config.tenants.size()) + " configured)");
    }
    const std::string name = tenant.empty() ? config.tenants.front().name : tenant;
    engine::SystemClock clock;
    GraphContext g(config, clock, dry_run);
    auto& ioc = g.ioc;
    auto& session = *g.session;
    auto client = take(session.client(name));
    std::optional<Result<graph::AccessToken>> got;
    net::co_spawn(
        ioc, [&]() -> net::awaitable<void> { got = co_await client->token(); },
        [](const std::exception_ptr& e) {
          if (e) std::rethrow_exception(e);
        });
    ioc.run();
    const auto& cc = client->config();
    if (!got || !*got) {
      const Error e = got ? got->error() : Error(ErrorKind::unavailable, name, "no answer");
      if (e.kind() == ErrorKind::not_sent)  // the dry-run line says it all
        return g.dry_run_done({{"tenant", name}});
      fail(e, kCannotRun);
    }
    const auto minutes =
        std::chrono::duration_cast<std::chrono::minutes>((*got)->expires_at - clock.now()).count();
    if (json) {
      print_json({{"tenant", name},
                  {"tenant_id", cc.tenant},
                  {"client_id", cc.client_id},
                  {"token_url", cc.token_url},
                  {"graph_url", cc.graph_base},
                  {"expires_at", pki::format_rfc3339((*got)->expires_at)}});
      return;
    }
    std::cout << "token obtained for tenant " << cc.tenant << " (\"" << name << "\"), app "
              << cc.client_id << ", from " << cc.token_url << "; it expires in " << minutes
              << " minutes. Graph: " << cc.graph_base << "\n";
  }
};

// Runs one coroutine to completion on `ioc`.
template <class T>
T run_sync(net::io_context& ioc, net::awaitable<T> work) {
  std::optional<T> out;
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { out.emplace(co_await std::move(work)); },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.restart();
  ioc.run();
  return std::move(*out);
}

// pkiflow cba bundle | upload | status | rename: the PKI container as a whole (migrations).
struct CbaCommand {
  enum class Verb { bundle, upload, status, rename } verb = Verb::bundle;
  StoreOptions store;
  std::string tenant, url, sha256, out, to;
  std::vector<std::string> certs;
  int wait_s = 1800, poll_ms = 5000;
  bool dry_run = false, json = false, force = false;

  void run() {
    if (verb == Verb::bundle) return bundle();
    auto config = store.load();
    const std::string name =
        tenant.empty() && config.tenants.size() == 1 ? config.tenants.front().name : tenant;
    const engine::TenantConfig* t = config.tenant(name);
    if (!t) fail(kBadInput, "--tenant: give one of the configured tenants");
    engine::SystemClock clock;
    GraphContext g(config, clock, dry_run);
    auto& ioc = g.ioc;
    auto& session = *g.session;
    auto* client = take(session.client(name));
    providers::NullJournal journal;
    auto settle = [&](const Error& e) {
      if (e.kind() == ErrorKind::not_sent) {  // the dry-run line says it
        g.dry_run_done({{"tenant", name}, {"pki_name", t->extras->cba_pki_name}});
        throw Exit(kOk, "");
      }
      fail(e, e.kind() == ErrorKind::invalid_input ? kBadInput : kCannotRun);
    };
    if (verb == Verb::rename) {
      auto st = run_sync(ioc, cba::rename_pki(*client, engine::cba_settings(*t), to, journal));
      if (!st) settle(st.error());
      if (json)
        return print_json({{"tenant", name}, {"from", t->extras->cba_pki_name}, {"to", to}});
      std::cout << "PKI container \"" << t->extras->cba_pki_name << "\" renamed to \"" << to
                << "\"; set \"cba_pki_name\": \"" << to << "\" for tenant " << name << "\n";
      return;
    }
    Result<cba::PkiState> state =
        verb == Verb::upload
            ? run_sync(ioc, cba::start_bulk_upload(*client, engine::cba_settings(*t), url, sha256,
                                                   journal))
            : run_sync(ioc, cba::pki_state(*client, engine::cba_settings(*t)));
    if (!state) settle(state.error());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    while (verb == Verb::upload && state->status == "running" &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
      state = run_sync(ioc, cba::pki_state(*client, engine::cba_settings(*t)));
      if (!state) settle(state.error());
    }
    if (json)
      print_json({{"id", state->id},
                  {"display_name", state->display_name},
                  {"status", state->status},
                  {"status_details", state->status_details}});
    else if (state->id.empty())
      std::cout << "no PKI container named \"" << t->extras->cba_pki_name << "\"\n";
    else
      std::cout << "PKI container \"" << state->display_name << "\" (" << state->id << "): status "
                << (state->status.empty() ? "-" : state->status)
                << (state->status_details.empty() ? "" : " (" + state->status_details + ")")
                << "\n";
    if (state->status.find("ail") != std::string::npos)
      throw Exit(kRecordsFailed, "the PKI container's job failed: " + state->status_details);
  }

  void bundle() const {
    std::vector<pki::Certificate> cas;
    for (const auto& f : certs)
      for (auto& c : take(pki::Certificate::load_all(f)))
        cas.push_back(std::move(c));
    auto b = take(cba::make_p7b(cas));
    check_new_file(out, force);
    write_output(out, std::string(b.der.begin(), b.der.end()), 0644);
    if (json)
      print_json({{"file", out}, {"certificates", cas.size()}, {"sha256", b.sha256_hex}});
    else
      std::cout << "wrote " << cas.size() << " CA certificate(s) to " << out
                << " (PKCS#7, DER); sha256 " << b.sha256_hex
                << "\nhost it over https, then: pkiflow cba upload --url https://… --sha256 "
                << b.sha256_hex << "\n";
  }
};

}  // namespace

void add_run_commands(CLI::App& app) {
  auto r = std::make_shared<Run>();
  auto* run = app.add_subcommand(
      "run", "move every record with due work as far as it can go (create, sign, upload, confirm)");
  r->store.add_to(*run);
  run->add_flag("--dry-run", r->dry_run,
                "sign and validate, print the Graph requests, send and store nothing");
  run->add_option("--dry-run-out", r->dry_run_out, "write the dry-run requests (JSON lines) here");
  run->add_option("--concurrency", r->concurrency,
                  "records worked at once (default: the config's run.concurrency, else 4)")
      ->check(CLI::Range(engine::kConcurrencyBounds.min, engine::kConcurrencyBounds.max));
  run->add_option("--poll-interval-ms", r->poll_ms,
                  "milliseconds between GETs while waiting for active (default: "
                  "run.poll_interval_ms, else 5000)")
      ->check(CLI::Range(engine::kPollIntervalMsBounds.min, engine::kPollIntervalMsBounds.max));
  run->add_option("--confirm-wait-seconds", r->wait_s,
                  "seconds this run waits for a record to become active (default: "
                  "run.confirm_wait_seconds, else 600)")
      ->check(
          CLI::Range(engine::kConfirmWaitSecondsBounds.min, engine::kConfirmWaitSecondsBounds.max));
  run->add_flag("--json", r->json, "machine-readable output");
  run->add_flag("-v,--verbose", r->verbose, "log every Graph request (redacted) to stderr");
  run->add_option("--metrics-file", r->metrics_file,
                  "write a Prometheus textfile here after the run (node_exporter's textfile "
                  "collector), atomically, 0644");
  run->add_option("--log-format", r->log_format,
                  "text (default: requests under -v, a progress line on a terminal) or json "
                  "(one JSON object per line on stderr: time, level, run, record, event, "
                  "from/to, message, request_id)")
      ->check(CLI::IsMember({"text", "json"}));
  run->callback([r] { r->run(); });
  example(run, "pkiflow run --config /etc/pkiflow/pkiflow.json --json   (from a timer)");

  auto pl = std::make_shared<Run>();
  pl->plan = true;
  auto* plan = app.add_subcommand(
      "plan",
      "what a run would do now, reading the tenant but never writing: each record's next writes, "
      "transitions, due renewals and retirements, drift");
  pl->store.add_to(*plan);
  plan->add_option("--dry-run-out", pl->dry_run_out, "write the planned writes (JSON lines) here");
  plan->add_flag("--json", pl->json, "machine-readable output (the writes in `requests`)");
  plan->add_flag("-v,--verbose", pl->verbose, "log every Graph request (redacted) to stderr");
  plan->add_option("--log-format", pl->log_format, "text (default) or json, as for run")
      ->check(CLI::IsMember({"text", "json"}));
  plan->callback([pl] { pl->run(); });
  example(plan, "pkiflow plan --json   (then `pkiflow run` sends what it lists)");

  auto i = std::make_shared<CertificateImport>();
  auto* imp = app.add_subcommand(
      "import", "give a record in csrGenerated its offline-signed certificate (validated first)");
  i->store.add_to(*imp);
  imp->add_option("id", i->id, "record id")->required();
  imp->add_option("--certificate", i->certificate, "the signed certificate (PEM or DER)")
      ->required();
  imp->add_option("--chain", i->chain, "its chain: every intermediate up to the root (PEM)");
  imp->add_flag("--json", i->json, "machine-readable output");
  imp->callback([i] { i->run(); });
  example(imp, "pkiflow import 01J0Z8K4M2N6P8R0 --certificate signed.pem --chain chain.pem");

  auto c = std::make_shared<Cancel>();
  auto* cancel = app.add_subcommand(
      "cancel", "retire a record that never became active, deleting its remote object first");
  c->store.add_to(*cancel);
  cancel->add_option("id", c->id, "record id")->required();
  cancel->add_flag("--dry-run", c->dry_run, "show the DELETE, send and store nothing");
  cancel->add_flag("--keep-remote", c->keep_remote,
                   "retire the record without deleting its remote object");
  cancel->add_flag("--json", c->json, "machine-readable output");
  cancel->callback([c] { c->run(); });
  example(cancel, "pkiflow cancel 01J0Z8K4M2N6P8R0 --dry-run");

  auto e = std::make_shared<Enable>();
  auto* en = app.add_subcommand(
      "enable", "switch on a staged TLS-inspection CA (gsa_activation manual) and confirm it");
  e->store.add_to(*en);
  en->add_option("id", e->id, "record id")->required();
  en->add_flag("--dry-run", e->dry_run, "show the requests, send and store nothing");
  en->add_option(
        "--wait-seconds", e->wait_s,
        "seconds to wait for it to be in force (default: run.confirm_wait_seconds, else 600)")
      ->check(
          CLI::Range(engine::kConfirmWaitSecondsBounds.min, engine::kConfirmWaitSecondsBounds.max));
  en->add_flag("--json", e->json, "machine-readable output");
  en->callback([e] { e->run(); });
  example(en, "pkiflow enable 01J0Z8K4M2N6P8R0 --wait-seconds 600");

  auto* cbag = app.add_subcommand("cba", "the Entra CBA PKI container as a whole (migrations)");
  cbag->require_subcommand(1);
  using V = CbaCommand::Verb;
  for (V v : {V::bundle, V::upload, V::status, V::rename}) {
    auto cc = std::make_shared<CbaCommand>();
    cc->verb = v;
    auto* cmd = cbag->add_subcommand(
        v == V::bundle   ? "bundle"
        : v == V::upload ? "upload"
        : v == V::status ? "status"
                         : "rename",
        v == V::bundle   ? "write a PKCS#7 bundle of CA certificates and print its SHA-256"
        : v == V::upload ? "start the container's bulk upload from a hosted bundle, wait for it"
        : v == V::status ? "the container's last job: status and details"
                         : "rename the container (PATCH displayName)");
    if (v == V::bundle) {
      cmd->add_option("certs", cc->certs, "CA certificate files (PEM or DER)")->required();
      cmd->add_option("--out", cc->out, "the .p7b to write")->required();
      cmd->add_flag("--force", cc->force, "overwrite an existing file");
      example(cmd, "pkiflow cba bundle root.pem issuing.pem --out contoso.p7b");
    } else {
      cc->store.add_to(*cmd);
      cmd->add_option("--tenant", cc->tenant, "a tenant name from the configuration");
      cmd->add_flag("--dry-run", cc->dry_run, "print the requests, send nothing");
    }
    if (v == V::upload) {
      cmd->add_option("--url", cc->url, "https URL where the bundle is hosted")->required();
      cmd->add_option("--sha256", cc->sha256, "its SHA-256 (as `cba bundle` printed)")->required();
      cmd->add_option("--wait-seconds", cc->wait_s, "how long to follow the job, in seconds")
          ->capture_default_str()
          ->check(CLI::Range(engine::kConfirmWaitSecondsBounds.min,
                             engine::kConfirmWaitSecondsBounds.max));
      cmd->add_option("--poll-ms", cc->poll_ms, "status poll interval, in milliseconds")
          ->capture_default_str()
          ->check(CLI::Range(engine::kPollIntervalMsBounds.min, engine::kPollIntervalMsBounds.max));
      example(cmd,
              "pkiflow cba upload --tenant contoso --url https://pki.contoso.com/contoso.p7b "
              "--sha256 <as cba bundle printed>");
    }
    if (v == V::status) example(cmd, "pkiflow cba status --tenant contoso --json");
    if (v == V::rename) {
      cmd->add_option("--to", cc->to, "the new display name (at most 256 characters)")
          ->required()
          ->check([](const std::string& name) {
            const auto why = pki::printable_text_problem(name, 256);
            return why.empty() ? std::string() : "the display name " + why;
          });
      example(cmd, "pkiflow cba rename --tenant contoso --to contoso-2027 --dry-run");
    }
    cmd->add_flag("--json", cc->json, "machine-readable output");
    cmd->callback([cc] { cc->run(); });
  }

  auto* graph = app.add_subcommand("graph", "Microsoft Graph connection checks");
  graph->require_subcommand(1);
  auto l = std::make_shared<LoginTest>();
  auto* login = graph->add_subcommand(
      "login-test",
      "obtain a token for a configured tenant and say for which app (never prints it)");
  l->store.add_to(*login);
  login->add_option("--tenant", l->tenant, "a tenant name from the configuration");
  login->add_flag("--dry-run", l->dry_run, "print the token request (redacted), send nothing");
  login->add_flag("--json", l->json, "machine-readable output");
  login->callback([l] { l->run(); });
  example(login, "pkiflow graph login-test --tenant contoso");
}

}  // namespace pkiflow::cli

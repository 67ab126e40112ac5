// pkiflow verify | repair: drift on demand (issue 12, part 3). `verify` reads live objects back
// and records what it finds, as each run does once per verify_interval; `repair` acts on it.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <iostream>

#include "engine/run/renewals.hpp"
#include "engine/workflow.hpp"
#include "tools/pkiflow/cli_graph.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

nlohmann::ordered_json outcome_json(const engine::RecordOutcome& o) {
  return {{"id", o.id},
          {"name", o.name},
          {"kind", state::to_string(o.kind)},
          {"from", state::to_string(o.from)},
          {"to", state::to_string(o.to)},
          {"drift",
           o.drift.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.drift)},
          {"result", engine::to_string(o.result)},
          {"note", o.note}};
}

void print_outcome(const engine::RecordOutcome& o) {
  std::cout << o.id << "  " << o.name << "  " << (o.drift.empty() ? "ok" : o.drift) << "  "
            << o.note << "\n";
}

// The workflow a drift verb uses: providers from the configuration, renewal for repair.
struct DriftVerb {
  StoreOptions store;
  std::string id;
  bool dry_run = false, json = false;

  template <class F>
  void with_flow(const char* verb, F body) const {
    auto config = store.load();
    auto st = store.open(config);
    engine::SystemClock clock;
    GraphContext g(config, clock, dry_run);
    auto& session = *g.session;
    engine::RunWiring wiring;
    wiring.provider = [&](const state::Record& r) { return session.provider(r); };
    wiring.renewal = engine::renewal_source(config);
    engine::RunOptions ro;
    ro.actor = std::string("pkiflow ") + verb + " (" + actor() + ")";
    ro.dry_run = dry_run;
    engine::Workflow flow(*st, clock, std::move(wiring), ro);
    body(flow, g, *st);
  }
};

struct Verify : DriftVerb {
  void run() const {
    with_flow("verify", [&](engine::Workflow& flow, GraphContext& g, state::StateStore& st) {
      std::vector<std::string> ids;
      if (!id.empty()) {
        ids.push_back(id);
      } else {
        state::RecordFilter f;
        f.state = state::RecordState::active;
        for (const auto& r : take(st.list(f)))
          ids.push_back(r.id);
      }
      std::vector<engine::RecordOutcome> outs;
      std::vector<Error> errors;
      for (const auto& rid : ids) {
        auto o = flow.verify(g.ioc, rid);
        if (o) {
          outs.push_back(*o);
        } else if (o.error().kind() == ErrorKind::not_sent) {
          continue;  // dry run: the GET was shown
        } else if (!id.empty()) {
          fail(o.error());
        } else {
          errors.push_back(o.error());
        }
      }
      if (dry_run) return g.dry_run_done({{"ids", ids}});
      const bool drift =
          std::any_of(outs.begin(), outs.end(), [](const auto& o) { return !o.drift.empty(); });
      const int code = !errors.empty() ? exit_code_of(errors.front()) : drift ? kDrift : kOk;
      if (json) {
        auto arr = nlohmann::ordered_json::array();
        for (const auto& o : outs)
          arr.push_back(outcome_json(o));
        auto errs = nlohmann::ordered_json::array();
        for (const auto& e : errors)
          errs.push_back({{"subject", e.subject()}, {"message", e.message()}});
        print_json({{"records", arr}, {"errors", errs}, {"exit", code}});
      } else {
        for (const auto& o : outs)
          print_outcome(o);
        for (const auto& e : errors)
          std::cerr << "pkiflow: " << e.what() << "\n";
        if (ids.empty()) std::cout << "no active records\n";
      }
      if (code != kOk) throw Exit(code, "");
    });
  }
};

struct Repair : DriftVerb {
  void run() const {
    with_flow("repair", [&](engine::Workflow& flow, GraphContext& g, state::StateStore&) {
      auto o = flow.repair(g.ioc, id);
      if (!o) {
        if (o.error().kind() == ErrorKind::not_sent) return g.dry_run_done({{"id", id}});
        fail(o.error());
      }
      if (json)
        print_json(outcome_json(*o));
      else
        print_outcome(*o);
    });
  }
};

}  // namespace

void add_drift_commands(CLI::App& app) {
  auto v = std::make_shared<Verify>();
  auto* ver = app.add_subcommand(
      "verify", "read live objects back now and record drift (gone, switched off, replaced, …)");
  v->store.add_to(*ver);
  ver->add_option("id", v->id, "record id (default: every active record)");
  ver->add_flag("--dry-run", v->dry_run, "show the GETs, send and store nothing");
  ver->add_flag("--json", v->json, "machine-readable output");
  ver->callback([v] { v->run(); });
  example(ver, "pkiflow verify --json   (exit 9 when a live object drifted)");

  auto r = std::make_shared<Repair>();
  auto* rep = app.add_subcommand(
      "repair", "put a drifted record right: upload again, switch on again, or renew");
  r->store.add_to(*rep);
  rep->add_option("id", r->id, "record id")->required();
  rep->add_flag("--dry-run", r->dry_run, "show the first request, send and store nothing");
  rep->add_flag("--json", r->json, "machine-readable output");
  rep->callback([r] { r->run(); });
  example(rep, "pkiflow repair 01J0Z8K4M2N6P8R0");
}

}  // namespace pkiflow::cli

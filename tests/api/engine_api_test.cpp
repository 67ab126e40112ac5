// The embedding API (issue 17): a program drives the whole lifecycle of each endpoint family
// through pkiflow/engine.hpp alone, against the emulator. The lab (a root CA, a secret, a
// configuration) is set up as for the end-to-end tests; everything after that is the API.
#include "pkiflow/engine.hpp"

#include <atomic>
#include <thread>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace engine_api_test {

using namespace pkiflow::test::e2e;
using pkiflow::CancelToken;
using pkiflow::Engine;
using pkiflow::EngineOptions;
using pkiflow::RunOptions;
using pkiflow::Transition;
using pkiflow::test::TempDir;

namespace {

// One certificate of each family in the lab's tenant, signed by its root.
void configure_three(const Lab& lab) {
  lab.configure([](json& c) {
    c["certificates"] = json::array({{{"kind", "gsa-tls-ca"},
                                      {"name", "inspection"},
                                      {"tenant", "lab"},
                                      {"subject", "CN=API Inspection,O=Lab"},
                                      {"signer", "lab-root"}},
                                     {{"kind", "cba-ca"},
                                      {"name", "users"},
                                      {"tenant", "lab"},
                                      {"subject", "CN=API Users,O=Lab"},
                                      {"key_algorithm", "p256"},
                                      {"signer", "lab-root"}},
                                     {{"kind", "intune-codesigning"},
                                      {"name", "apps"},
                                      {"tenant", "lab"},
                                      {"subject", "CN=API Apps,O=Lab"},
                                      {"key_algorithm", "p256"},
                                      {"signer", "lab-root"}}});
  });
}

Engine open_lab(const Lab& lab) {
  EngineOptions o;
  o.config_file = (lab.dir() / "pkiflow.json").string();
  auto e = Engine::open(o);
  if (!e) BOOST_FAIL(e.error().what());
  return std::move(*e);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_api)

BOOST_AUTO_TEST_CASE(a_program_drives_each_family_to_active_through_the_api) {
  LiveEmulator live(emulator_options(), 171);
  Lab lab({live.base(), "", "secret", kSecret});
  configure_three(lab);
  auto engine = open_lab(lab);

  auto planned = engine.request_configured();
  BOOST_TEST_REQUIRE(planned.ok(), pkiflow::test::why(planned));
  BOOST_TEST_REQUIRE(planned->size() == 3u);
  for (const auto& p : *planned) {
    BOOST_TEST(p.created);
    BOOST_TEST(p.state == "planned");
  }
  // Idempotent, as `pkiflow request --from-config`: the same records, none made.
  auto again = engine.request_configured();
  BOOST_TEST_REQUIRE(again.ok());
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(!(*again)[i].created);
    BOOST_TEST((*again)[i].id == (*planned)[i].id);
  }

  std::vector<Transition> heard;
  RunOptions ro;
  ro.on_transition = [&heard](const Transition& t) { heard.push_back(t); };
  auto run = engine.run(ro);
  BOOST_TEST_REQUIRE(run.ok(), pkiflow::test::why(run));
  BOOST_TEST(run->exit_code == 0);
  BOOST_TEST(run->progressed == 3u);
  BOOST_TEST(run->failed == 0u);
  BOOST_TEST(!run->interrupted);
  BOOST_TEST_REQUIRE(heard.size() == 3u);
  for (const auto& t : heard) {
    BOOST_TEST(t.from == "planned");
    BOOST_TEST(t.to == "active", t.record_id << ": " << t.message);
    BOOST_TEST(t.result == "progressed");
  }
  BOOST_TEST(run->records.size() == 3u);

  auto status = engine.status();
  BOOST_TEST_REQUIRE(status.ok(), pkiflow::test::why(status));
  BOOST_TEST_REQUIRE(status->size() == 3u);
  for (const auto& r : *status) {
    BOOST_TEST(r.state == "active", r.id);
    BOOST_TEST(!r.remote_id.empty());
    BOOST_TEST(!r.not_after.empty());
    // The same object `pkiflow status --json` prints for it.
    const auto j = json::parse(r.json);
    BOOST_TEST(j["id"] == r.id);
    BOOST_TEST(j["state"] == "active");
    BOOST_TEST(j.contains("renew_at"));
  }
  const auto cli = json::parse(lab.cli("status", "--json").out);
  BOOST_TEST_REQUIRE(cli.size() == 3u);
  for (const auto& row : cli) {
    auto shown = engine.show(row["id"].get<std::string>());
    BOOST_TEST_REQUIRE(shown.ok());
    BOOST_TEST(json::parse(shown->json) == row);
  }
  // The emulator holds each object once: one GSA CA, one CBA CA, one code-signing certificate.
  BOOST_TEST(live.emu().cba_thumbprints().size() == 1u);

  auto history = engine.history((*planned)[0].id);
  BOOST_TEST_REQUIRE(history.ok());
  BOOST_TEST(history->front().from.empty());
  BOOST_TEST(history->front().to == "planned");
  BOOST_TEST(history->back().to == "active");

  // A second run finds nothing to move; verifying active records is not a change.
  auto second = engine.run();
  BOOST_TEST_REQUIRE(second.ok());
  BOOST_TEST(second->exit_code == 0);
  BOOST_TEST(second->progressed == 0u);
  BOOST_TEST(second->failed == 0u);
}

BOOST_AUTO_TEST_CASE(errors_are_values_that_name_what_is_wrong) {
  TempDir dir;
  EngineOptions bad;
  bad.config_json = R"({"tenants": {"a": {"tenant_id": "x"}}})";
  bad.config_name = (dir / "inline.json").string();
  bad.state_url = "sqlite://" + (dir / "s.db").string();
  auto e = Engine::open(bad);
  BOOST_TEST_REQUIRE(!e.ok());
  BOOST_TEST(e.error().what().find("tenants.a: \"client_id\" is required") != std::string::npos,
             e.error().what());
  BOOST_TEST(e.error().kind() == pkiflow::ErrorKind::invalid_input);

  EngineOptions empty;
  empty.config_json = "{}";
  empty.state_url = "sqlite://" + (dir / "s.db").string();
  auto engine = Engine::open(empty);
  BOOST_TEST_REQUIRE(engine.ok(), pkiflow::test::why(engine));
  // Nothing requested yet: reading does not create a store.
  auto st = engine->status();
  BOOST_TEST(!st.ok());
  BOOST_TEST(!std::filesystem::exists(dir / "s.db"));
  // An entry naming a tenant the configuration does not have.
  auto r = engine->request(R"({"kind": "cba-ca", "name": "x", "tenant": "nowhere"})");
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(
      r.error().what().find("\"nowhere\" is not defined under \"tenants\"") != std::string::npos,
      r.error().what());
  auto shown = engine->show("NO-SUCH-RECORD");
  BOOST_TEST(!shown.ok());
}

BOOST_AUTO_TEST_CASE(a_dry_run_shows_requests_and_a_cancelled_run_stops_between_records) {
  LiveEmulator live(emulator_options(), 172);
  Lab lab({live.base(), "", "secret", kSecret});
  configure_three(lab);
  auto engine = open_lab(lab);
  BOOST_TEST_REQUIRE(engine.request_configured().ok());

  RunOptions dry;
  dry.dry_run = true;
  auto d = engine.run(dry);
  BOOST_TEST_REQUIRE(d.ok(), pkiflow::test::why(d));
  BOOST_TEST(!d->requests.empty());
  BOOST_TEST(json::parse(d->requests.front()).contains("method"));
  auto after_dry = engine.status();
  BOOST_TEST_REQUIRE(after_dry.ok());
  for (const auto& r : *after_dry)
    BOOST_TEST(r.state == "planned", r.id << " moved in a dry run");

  // Cancelled from another thread once the first record settled: no record starts after that,
  // the run says it was interrupted (exit 7), and the next run finishes the rest.
  CancelToken token;
  RunOptions one;
  one.concurrency = 1;
  one.cancel = token;
  std::atomic<int> settled{0};
  one.on_transition = [&settled, token](const Transition&) {
    if (++settled == 1) std::thread([token] { token.cancel(); }).join();
  };
  auto cut = engine.run(one);
  BOOST_TEST_REQUIRE(cut.ok(), pkiflow::test::why(cut));
  BOOST_TEST(cut->interrupted);
  BOOST_TEST(cut->exit_code == 7);
  BOOST_TEST(cut->progressed == 1u);
  BOOST_TEST(token.cancelled());
  auto rest = engine.run();
  BOOST_TEST_REQUIRE(rest.ok());
  BOOST_TEST(rest->progressed == 2u);
  auto all = engine.status();
  BOOST_TEST_REQUIRE(all.ok());
  for (const auto& r : *all)
    BOOST_TEST(r.state == "active", r.id);
}

BOOST_AUTO_TEST_CASE(record_verbs_enable_verify_retry_renew_and_cancel) {
  auto opt = emulator_options();
  opt.staged_flow = true;  // uploads stay staged ("disabled") until enabled
  LiveEmulator live(opt, 173);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& c) {
    c["tenants"]["lab"]["gsa_activation"] = "manual";
    c["certificates"] = json::array({{{"kind", "gsa-tls-ca"},
                                      {"name", "inspection"},
                                      {"tenant", "lab"},
                                      {"subject", "CN=API Inspection,O=Lab"},
                                      {"signer", "lab-root"}}});
  });
  auto engine = open_lab(lab);
  auto planned = engine.request_configured();
  BOOST_TEST_REQUIRE(planned.ok(), pkiflow::test::why(planned));
  const std::string id = planned->front().id;
  auto run = engine.run();
  BOOST_TEST_REQUIRE(run.ok(), pkiflow::test::why(run));
  BOOST_TEST(engine.show(id)->state == "uploaded");  // staged, for the operator to switch on

  auto enabled = engine.enable(id);
  BOOST_TEST_REQUIRE(enabled.ok(), pkiflow::test::why(enabled));
  BOOST_TEST(enabled->from == "uploaded");
  BOOST_TEST(enabled->to == "active", enabled->message);
  auto verified = engine.verify(id);
  BOOST_TEST_REQUIRE(verified.ok(), pkiflow::test::why(verified));
  BOOST_TEST(verified->drift.empty(), verified->drift);
  auto retried = engine.retry(id);  // only a failed record is retried
  BOOST_TEST(!retried.ok());

  auto successor = engine.renew(id);
  BOOST_TEST_REQUIRE(successor.ok(), pkiflow::test::why(successor));
  BOOST_TEST(successor->state == "planned");
  BOOST_TEST(json::parse(successor->json)["renews"] == id);
  auto dropped = engine.cancel(successor->id);  // never uploaded: retired, nothing to delete
  BOOST_TEST_REQUIRE(dropped.ok(), pkiflow::test::why(dropped));
  BOOST_TEST(dropped->state == "retired");
  BOOST_TEST(engine.show(id)->state == "active");
  auto active = engine.cancel(id);  // an active record is renewed, not cancelled
  BOOST_TEST_REQUIRE(!active.ok());
  BOOST_TEST(active.error().what().find("is active") != std::string::npos, active.error().what());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_api_test

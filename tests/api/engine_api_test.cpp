// The embedding API (issue 17): a program drives the whole lifecycle of each endpoint family
// through pkiflow/engine.hpp alone, against the emulator. The lab (a root CA, a secret, a
// configuration) is set up as for the end-to-end tests; everything after that is the API.
#include "pkiflow/engine.hpp"

#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "engine/pki/time_format.hpp"

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
  for (std::size_t i = 0; i < cli.size(); ++i) {
    BOOST_TEST(json::parse((*status)[i].json) == cli[i]);
    // show: the record whole, as `pkiflow show --json` prints it, and its PEMs as fields.
    const std::string id = cli[i]["id"];
    auto shown = engine.show(id);
    BOOST_TEST_REQUIRE(shown.ok());
    const auto whole = json::parse(shown->json);
    BOOST_TEST(whole == json::parse(lab.cli("show", id + " --json").out));
    BOOST_TEST(shown->certificate_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0u);
    BOOST_TEST(whole["certificate_pem"] == shown->certificate_pem);
    BOOST_TEST(whole["chain_pem"] == shown->chain_pem);
    BOOST_TEST((*status)[i].certificate_pem.empty());  // status lists, show gives the PEMs
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

BOOST_AUTO_TEST_CASE(a_run_reports_events_renewals_and_metrics_and_keeps_no_records_if_told) {
  LiveEmulator live(emulator_options(), 174);
  Lab lab({live.base(), "", "secret", kSecret});
  configure_three(lab);
  EngineOptions o;
  o.config_file = (lab.dir() / "pkiflow.json").string();
  o.actor = "provisioning-portal: alice";
  auto engine = Engine::open(o);
  BOOST_TEST_REQUIRE(engine.ok(), pkiflow::test::why(engine));
  BOOST_TEST_REQUIRE(engine->request_configured().ok());

  std::vector<pkiflow::RunEvent> events;
  std::size_t heard = 0;
  RunOptions ro;
  ro.run_id = "RUN-API-174";
  ro.keep_records = false;
  ro.on_transition = [&heard](const Transition&) { ++heard; };
  ro.on_event = [&events](const pkiflow::RunEvent& e) { events.push_back(e); };
  ro.metrics_file = (lab.dir() / "pkiflow.prom").string();
  auto run = engine->run(ro);
  BOOST_TEST_REQUIRE(run.ok(), pkiflow::test::why(run));
  BOOST_TEST(run->exit_code == 0);
  BOOST_TEST(run->run_id == "RUN-API-174");
  BOOST_TEST(run->records.empty());  // they went to on_transition only
  BOOST_TEST(heard == 3u);
  BOOST_TEST(run->settled == 3u);
  BOOST_TEST(run->progressed == 3u);
  BOOST_TEST(!run->metrics_error.has_value());
  BOOST_TEST(run->renewals.empty());
  BOOST_TEST(run->held.empty());

  // The events, in order: what was claimed (with the configuration's concurrency), each
  // record's transitions, each settlement.
  BOOST_TEST_REQUIRE(!events.empty());
  BOOST_TEST((events.front().type == pkiflow::RunEvent::Type::claimed));
  BOOST_TEST(events.front().total == 3u);
  BOOST_TEST(events.front().concurrency == 4u);
  std::size_t settled = 0, moves = 0;
  for (const auto& e : events) {
    if (e.type == pkiflow::RunEvent::Type::settled) {
      ++settled;
      BOOST_TEST(e.to == "active", e.record_id << ": " << e.message);
    }
    if (e.type == pkiflow::RunEvent::Type::transition) {
      ++moves;
      BOOST_TEST(!e.record_id.empty());
      BOOST_TEST(!e.kind.empty());
      BOOST_TEST(e.from != e.to);
    }
  }
  BOOST_TEST(settled == 3u);
  BOOST_TEST(moves >= 12u);  // planned -> csrGenerated -> signed -> uploaded -> active, each

  // The metrics file: the Prometheus textfile `pkiflow run --metrics-file` writes, 0644.
  const auto prom = pkiflow::test::read_file(lab.dir() / "pkiflow.prom");
  BOOST_TEST(prom.find("pkiflow_run_exit_code 0") != std::string::npos, prom);
  struct stat sb {};
  BOOST_TEST_REQUIRE(::stat((lab.dir() / "pkiflow.prom").c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0644u);

  // History names the host program as it asked to be named.
  auto listed = engine->status();
  BOOST_TEST_REQUIRE(listed.ok());
  auto history = engine->history(listed->front().id);
  BOOST_TEST_REQUIRE(history.ok());
  BOOST_TEST(history->front().actor == "provisioning-portal: alice");
  BOOST_TEST(history->back().actor.find("provisioning-portal: alice") != std::string::npos,
             history->back().actor);
}

BOOST_AUTO_TEST_CASE(status_filters_verify_all_validate_and_a_dry_cancel) {
  LiveEmulator live(emulator_options(), 175);
  Lab lab({live.base(), "", "secret", kSecret});
  configure_three(lab);
  auto engine = open_lab(lab);
  BOOST_TEST_REQUIRE(engine.request_configured().ok());
  BOOST_TEST_REQUIRE(engine.run().ok());

  pkiflow::StatusFilter active;
  active.state = "active";
  BOOST_TEST(engine.status(active)->size() == 3u);
  pkiflow::StatusFilter cba;
  cba.kind = "cba-ca";
  auto only = engine.status(cba);
  BOOST_TEST_REQUIRE(only.ok());
  BOOST_TEST_REQUIRE(only->size() == 1u);
  BOOST_TEST(only->front().name == "users");
  pkiflow::StatusFilter soon;
  soon.expiring_before = std::chrono::system_clock::now() + std::chrono::hours(1);
  BOOST_TEST(engine.status(soon)->empty());
  pkiflow::StatusFilter bogus;
  bogus.state = "activ";
  auto refused = engine.status(bogus);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().subject() == "state");
  BOOST_TEST(refused.error().message().find("(did you mean \"active\"?)") != std::string::npos,
             refused.error().message());

  // Every active record read back with one session: no drift.
  auto verified = engine.verify_all();
  BOOST_TEST_REQUIRE(verified.ok(), pkiflow::test::why(verified));
  BOOST_TEST(verified->ids.size() == 3u);
  BOOST_TEST(verified->errors.empty());
  BOOST_TEST_REQUIRE(verified->records.size() == 3u);
  for (const auto& t : verified->records) {
    BOOST_TEST(t.drift.empty(), t.record_id << ": " << t.drift);
    BOOST_TEST(t.verified);
  }

  // validate: the TLS-inspection CA the run uploaded passes its profile against the
  // configuration's anchors; the same certificate a day after it expires does not.
  pkiflow::StatusFilter gsa;
  gsa.kind = "gsa-tls-ca";
  const auto inspection = engine.show(engine.status(gsa)->front().id);
  BOOST_TEST_REQUIRE(inspection.ok());
  pkiflow::ValidateRequest v;
  v.certificate_pem = inspection->certificate_pem;
  v.chain_pem = inspection->chain_pem;
  v.profile = "tls-inspection-ca";
  auto valid = engine.validate(v);
  BOOST_TEST_REQUIRE(valid.ok(), pkiflow::test::why(valid));
  BOOST_TEST(valid->valid, valid->text);
  BOOST_TEST(json::parse(valid->json)["verdict"] == "valid");
  v.at = *pkiflow::pki::parse_rfc3339(inspection->not_after) + std::chrono::hours(24);
  auto expired = engine.validate(v);
  BOOST_TEST_REQUIRE(expired.ok(), pkiflow::test::why(expired));
  BOOST_TEST(!expired->valid);
  BOOST_TEST(expired->text.find("FAIL") != std::string::npos, expired->text);
  v.profile = "tls-inspection";
  auto unknown = engine.validate(v);
  BOOST_TEST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.error().subject() == "profile");
  v.profile.clear();
  v.certificate_pem = "not a certificate";
  BOOST_TEST(!engine.validate(v).ok());

  // A dry cancel with keep_remote retires nothing; the real one does, and leaves the object.
  auto renewed = engine.renew(only->front().id);
  BOOST_TEST_REQUIRE(renewed.ok(), pkiflow::test::why(renewed));
  const std::string successor = renewed->successor.id;
  pkiflow::ActionOptions dry;
  dry.dry_run = true;
  auto shown = engine.cancel(successor, true, dry);
  BOOST_TEST_REQUIRE(shown.ok(), pkiflow::test::why(shown));
  BOOST_TEST(engine.show(successor)->state == "planned");
  auto dropped = engine.cancel(successor, true);
  BOOST_TEST_REQUIRE(dropped.ok(), pkiflow::test::why(dropped));
  BOOST_TEST(dropped->state == "retired");
  // An active record is not cancelled, dry or not, kept remote or not.
  BOOST_TEST(!engine.cancel(only->front().id, true, dry).ok());
  BOOST_TEST(engine.show(only->front().id)->state == "active");
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
  // Run options outside the bounds the configuration and the command line hold them to.
  RunOptions wide;
  wide.concurrency = 1000;
  auto refused = engine->run(wide);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().subject() == "run options.concurrency");
  BOOST_TEST(refused.error().message() == "must be from 1 to 256");
  RunOptions quick;
  quick.poll_interval = std::chrono::milliseconds(1);
  BOOST_TEST(!engine->run(quick).ok());
  pkiflow::ActionOptions patient;
  patient.wait = std::chrono::hours(48);
  auto enabled = engine->enable("X", patient);
  BOOST_TEST_REQUIRE(!enabled.ok());
  BOOST_TEST(enabled.error().subject() == "action options.wait");
  BOOST_TEST(!std::filesystem::exists(dir / "s.db"));  // refused before the store was made
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

  auto renewed = engine.renew(id);
  BOOST_TEST_REQUIRE(renewed.ok(), pkiflow::test::why(renewed));
  const auto& successor = renewed->successor;
  BOOST_TEST(successor.state == "planned");
  BOOST_TEST(json::parse(successor.json)["renews"] == id);
  BOOST_TEST(renewed->profile_changes.empty());  // the configuration is as it was
  auto dropped = engine.cancel(successor.id);    // never uploaded: retired, nothing to delete
  BOOST_TEST_REQUIRE(dropped.ok(), pkiflow::test::why(dropped));
  BOOST_TEST(dropped->state == "retired");
  BOOST_TEST(engine.show(id)->state == "active");
  auto active = engine.cancel(id);  // an active record is renewed, not cancelled
  BOOST_TEST_REQUIRE(!active.ok());
  BOOST_TEST(active.error().what().find("is active") != std::string::npos, active.error().what());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_api_test

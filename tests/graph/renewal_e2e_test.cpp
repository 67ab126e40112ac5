// Renewal on schedule through the CLI against the emulator (issue 12, part 1): an imported CA
// certificate that expires in 10 days is renewed by one plain `pkiflow run` under a
// "renew_before": "30d" policy; needs-renewal answers with step's exit codes; a dry run says
// what it would plan and plans nothing.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "engine/graph_session.hpp"
#include "engine/pki/certificate.hpp"
#include "engine/workflow.hpp"
#include "tests/graph/e2e_support.hpp"
#include "tests/support/prometheus_text.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace renewal_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run_cli;
using pkiflow::test::write_file;

using pkiflow::test::parse_prometheus;
using pkiflow::test::value_of;

BOOST_AUTO_TEST_SUITE(graph_renewal)

BOOST_AUTO_TEST_CASE(an_imported_ca_expiring_in_ten_days_is_renewed_by_one_plain_run) {
  LiveEmulator emu(emulator_options(), 17);
  Lab lab({emu.base(), "", "secret", kSecret});
  const auto& d = lab.dir();
  lab.configure([](json& cfg) {
    cfg["renewal"] = {{"renew_before", "30d"}};
    cfg["certificates"] = {user_ca_entry("CN=User CA,O=Lab")};
  });

  // A CA someone issued by hand that expires in ten days, taken over by pkiflow.
  for (const std::string& step :
       {"key new --alg p256 --no-encrypt --out " + quote(d / "old.key"),
        "csr new --key " + quote(d / "old.key") +
            " --subject 'CN=User CA,O=Lab' --ca --path-len 0 --out " + quote(d / "old.csr"),
        "ca sign --csr " + quote(d / "old.csr") + " --ca-cert " + quote(d / "root.pem") +
            " --ca-key " + quote(d / "root.key") + " --profile cba-ca --days 10 --out " +
            quote(d / "old.pem")}) {
    auto r = run_cli(step);
    BOOST_TEST_REQUIRE(r.exit_code == 0, step << ": " << r.err);
  }
  auto planned = lab.cli("request", "--from-config --json");
  BOOST_TEST_REQUIRE(planned.exit_code == 0, planned.err);
  const std::string old_id = json::parse(planned.out)[0]["id"];
  auto imported = lab.cli("import", old_id + " --certificate " + quote(d / "old.pem"));
  BOOST_TEST_REQUIRE(imported.exit_code == 0, imported.err);
  auto uploaded = lab.cli("run");
  BOOST_TEST_REQUIRE(uploaded.exit_code == 0, uploaded.out + uploaded.err);
  BOOST_TEST_REQUIRE(lab.record(old_id)["state"] == "active");

  // Due: 30 days before notAfter is already past.
  auto needs = lab.cli("needs-renewal", old_id);
  BOOST_TEST(needs.exit_code == 0, needs.out + needs.err);
  BOOST_TEST(needs.out.find("(30d before it expires)") != std::string::npos, needs.out);
  auto any = json::parse(lab.cli("needs-renewal", "--all --json").out);
  BOOST_TEST(any["due"] == 1);
  BOOST_TEST(lab.cli("needs-renewal", "NOSUCHRECORD").exit_code == 2);
  auto shown = json::parse(lab.cli("status", "--json").out);
  BOOST_TEST(shown[0]["renew_reason"] == "30d before it expires");

  // A dry run says what it would plan, and plans nothing.
  auto dry = lab.cli("run", "--dry-run");
  BOOST_TEST(dry.exit_code == 0, dry.err);
  BOOST_TEST(dry.out.find(old_id + "  user-ca  renewal due since ") != std::string::npos, dry.out);
  BOOST_TEST(dry.out.find("a run would plan its successor (dry run)") != std::string::npos,
             dry.out);
  BOOST_TEST(lab.records().size() == 1u);

  // One plain run: the successor is planned, made, signed, uploaded and active.
  auto renewed = lab.cli("run", "--json --metrics-file " + quote(d / "pkiflow.prom"));
  BOOST_TEST_REQUIRE(renewed.exit_code == 0, renewed.out + renewed.err);
  const auto report = json::parse(renewed.out);
  BOOST_TEST_REQUIRE(report["renewals"].size() == 1u);
  const std::string new_id = report["renewals"][0]["successor"];
  BOOST_TEST(report["renewals"][0]["id"] == old_id);
  const auto successor = lab.record(new_id);
  BOOST_TEST(successor["state"] == "active");
  BOOST_TEST(successor["renews"] == old_id);
  auto history = json::parse(lab.cli("history", new_id + " --json").out);
  const std::string why = history[0]["reason"];
  BOOST_TEST(why.find("renewal of " + old_id + "; due since ") == 0u, why);
  BOOST_TEST(why.find("(30d before it expires)") != std::string::npos, why);
  bool in_tenant = false;  // the successor's CA is in the tenant's trust store
  for (const auto& t : emu.emu().cba_thumbprints())
    in_tenant = in_tenant || pki::same_hex(t, successor["thumbprint_sha1"].get<std::string>());
  BOOST_TEST(in_tenant);
  // The run left a Prometheus textfile for monitoring: parsed strictly, and by promtool where
  // it is installed.
  const auto metrics = parse_prometheus(read_file(d / "pkiflow.prom"));
  BOOST_TEST(value_of(metrics, "pkiflow_records",
                      {{"state", "active"}, {"kind", "cba-ca"}, {"tenant", "lab"}}) == 1);
  BOOST_TEST(value_of(metrics, "pkiflow_records", {{"state", "superseded"}}) == 1);
  const double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double old_expiry =
      value_of(metrics, "pkiflow_certificate_expiration_timestamp_seconds", {{"record", old_id}});
  BOOST_TEST((old_expiry > now_s + 9 * 86'400 && old_expiry < now_s + 11 * 86'400));
  BOOST_TEST(value_of(metrics, "pkiflow_certificate_renewal_timestamp_seconds",
                      {{"record", new_id}, {"name", "user-ca"}}) > now_s + 300 * 86'400);
  BOOST_TEST(value_of(metrics, "pkiflow_run_renewals_planned") == 1);
  BOOST_TEST(value_of(metrics, "pkiflow_run_exit_code") == 0);
  BOOST_TEST(std::abs(value_of(metrics, "pkiflow_run_last_success_timestamp_seconds") - now_s) <
             120);
  BOOST_TEST(value_of(metrics, "pkiflow_run_records", {{"result", "progressed"}}) >= 1);
  if (std::system("command -v promtool > /dev/null 2>&1") == 0) {
    auto lint = pkiflow::test::run("promtool check metrics < " + quote(d / "pkiflow.prom"));
    BOOST_TEST(lint.exit_code == 0, lint.out + lint.err);
  }

  // Renewing a CBA CA is not replacing it: the old one stays in the trust store until it
  // expires (users' certificates it issued keep authenticating), and history says so.
  BOOST_TEST(lab.record(old_id)["state"] == "superseded");
  bool old_in_tenant = false;
  for (const auto& t : emu.emu().cba_thumbprints())
    old_in_tenant = old_in_tenant || pki::same_hex(t, lab.column(old_id, "thumbprint_sha1"));
  BOOST_TEST(old_in_tenant);
  auto old_history = json::parse(lab.cli("history", old_id + " --json").out);
  BOOST_TEST(old_history.back()["reason"].get<std::string>().find(
                 "kept in the trust store until it expires at ") != std::string::npos,
             old_history.back().dump());
  // The successor is far from due; nothing more to renew.
  BOOST_TEST(lab.cli("needs-renewal", new_id).exit_code == 1);
  BOOST_TEST(lab.cli("needs-renewal", "--all").exit_code == 1);
  auto again = json::parse(lab.cli("run", "--json").out);
  BOOST_TEST(again["renewals"].empty());
  BOOST_TEST(lab.record(old_id)["state"] == "superseded");  // a run before notAfter keeps it

  // Eleven days on (the run's clock moved past the old CA's notAfter), a run removes it.
  auto cfg = engine::load_config(d / "pkiflow.json");
  BOOST_TEST_REQUIRE(cfg.ok(), pkiflow::test::why(cfg));
  engine::FakeClock later(std::chrono::system_clock::now() + std::chrono::days(11));
  boost::asio::io_context ioc{1};
  engine::GraphSession session(ioc.get_executor(), *cfg, later, {});
  auto store = state::open_store("sqlite://" + (d / "state.db").string());
  BOOST_TEST_REQUIRE(store.ok(), pkiflow::test::why(store));
  engine::RunWiring wiring;
  wiring.provider = [&](const state::Record& r) { return session.provider(r); };
  wiring.renewal = engine::renewal_source(*cfg);
  engine::RunOptions options;
  options.actor = "test run, eleven days on";
  engine::Workflow flow(**store, later, std::move(wiring), options);
  auto pass = flow.run(ioc);
  BOOST_TEST_REQUIRE(pass.ok(), pkiflow::test::why(pass));
  BOOST_TEST(lab.record(old_id)["state"] == "retired");
  BOOST_TEST(lab.record(new_id)["state"] == "active");
  for (const auto& t : emu.emu().cba_thumbprints())
    BOOST_TEST(!pki::same_hex(t, lab.column(old_id, "thumbprint_sha1")), "the old CA is gone");
  auto retired = json::parse(lab.cli("history", old_id + " --json").out);
  BOOST_TEST(
      retired.back()["reason"].get<std::string>().find(" and expired at ") != std::string::npos,
      retired.back().dump());
}

BOOST_AUTO_TEST_CASE(a_run_logs_json_lines_without_secrets_and_counts_its_graph_requests) {
  LiveEmulator live(emulator_options(), 23);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string gsa = lab.request("tls");
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  const auto prom = lab.dir() / "pkiflow.prom";
  auto ran = lab.cli("run", "--log-format json -v --metrics-file " + quote(prom));
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.out << ran.err);
  // stderr: JSON lines only, each with the fields an operator's log pipeline keys on.
  std::istringstream lines(ran.err);
  std::string line;
  std::set<std::string> events;
  std::set<std::pair<std::string, std::string>> moves;
  std::string run_id;
  int n = 0;
  while (std::getline(lines, line)) {
    BOOST_TEST_CONTEXT(line) {
      auto j = json::parse(line);  // throws (fails the test) on anything else
      ++n;
      for (const char* k : {"time", "level", "run", "event"})
        BOOST_TEST(j.contains(k));
      if (run_id.empty()) run_id = j["run"];
      BOOST_TEST(j["run"] == run_id);  // one run id throughout
      events.insert(j["event"].get<std::string>());
      if (j["event"] == "transition") {
        BOOST_TEST(j.contains("record"));
        moves.insert({j["record"].get<std::string>(), j["to"].get<std::string>()});
      }
    }
  }
  BOOST_TEST(n > 5);
  for (const char* e : {"claimed", "transition", "settled", "graph"})
    BOOST_TEST(events.count(e) == 1u, "no " << e << " event");
  BOOST_TEST(moves.count({gsa, "active"}) == 1u);
  BOOST_TEST(moves.count({cba, "active"}) == 1u);
  // Never a secret, a token or a private key, though every request was logged (-v).
  BOOST_TEST(ran.err.find(kSecret) == std::string::npos);
  BOOST_TEST(ran.err.find("eyJ") == std::string::npos);  // a JWT (token or client assertion)
  BOOST_TEST(ran.err.find("PRIVATE KEY") == std::string::npos);
  BOOST_TEST(ran.out.find(kSecret) == std::string::npos);
  // Every Graph answer counted by status.
  const auto metrics = parse_prometheus(read_file(prom));
  BOOST_TEST(value_of(metrics, "pkiflow_graph_requests_total", {{"code", "200"}}) > 0);
  BOOST_TEST(value_of(metrics, "pkiflow_graph_requests_total", {{"code", "201"}}) >= 1);
}

BOOST_AUTO_TEST_CASE(a_record_whose_signer_keeps_its_key_offline_waits_in_csr_generated) {
  LiveEmulator live(emulator_options(), 24);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& c) { c["signers"]["lab-root"]["offline_key"] = true; });
  const auto key = lab.dir() / "root.key";
  const auto away = lab.dir() / "root.key.away";
  std::filesystem::rename(key, away);  // the USB stick is in the safe
  auto checked = lab.cli("config check");
  BOOST_TEST(checked.exit_code == 0, checked.out << checked.err);
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  auto ran = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.out << ran.err);
  const auto rec = json::parse(ran.out)["records"][0];
  BOOST_TEST(rec["to"] == "csrGenerated");
  BOOST_TEST(rec["result"] == "progressed");  // planned -> csrGenerated, then it waits
  BOOST_TEST(rec["note"].get<std::string>().find("keeps its key offline") != std::string::npos,
             rec.dump());
  BOOST_TEST(lab.record(cba)["attempts"] == 0);  // waiting is not failing
  // Without offline_key the same missing file is a configuration error, as before.
  lab.configure([](json& c) { c["signers"]["lab-root"].erase("offline_key"); });
  BOOST_TEST(lab.cli("config check").exit_code == 2);
  lab.configure([](json& c) { c["signers"]["lab-root"]["offline_key"] = true; });
  std::filesystem::rename(away, key);  // back online
  auto again = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(again.exit_code == 0, again.out << again.err);
  BOOST_TEST(lab.record(cba)["state"] == "active");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renewal_e2e_test

// `pkiflow plan` against the emulator (issue 12, part 5): it reads the tenant and never writes
// to it or to the store, and the writes it lists are exactly the writes the following run sends
// (a staged TLS-inspection CA switched on, an offline-signed code-signing certificate uploaded,
// a CBA CA's changed delta-CRL URL).
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>
#include <set>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace plan_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::write_file;

namespace {

// The writes (method and path) the emulator received from position `from` of its log on.
std::multiset<std::string> writes_since(emulator::GraphEmulator& emu, std::size_t from) {
  std::multiset<std::string> out;
  const auto log = emu.log();
  for (std::size_t i = from; i < log.size(); ++i)
    if (log[i].method != "GET" && log[i].target.rfind("/beta/", 0) == 0)
      out.insert(log[i].method + " " + log[i].target);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_plan)

BOOST_AUTO_TEST_CASE(plan_reads_writes_nothing_and_lists_what_the_next_run_sends) {
  auto opt = emulator_options();
  opt.staged_flow = true;
  LiveEmulator live(opt, 41);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& c) { c["tenants"]["lab"]["gsa_activation"] = "manual"; });
  const std::string gsa = lab.request("tls");
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  const std::string apps =
      lab.request_kind("intune-codesigning", "apps", "CN=Apps,O=Lab", /*with_signer=*/false);
  auto first = lab.cli("run");
  BOOST_TEST_REQUIRE(first.exit_code == 0, first.out << first.err);
  BOOST_TEST_REQUIRE(lab.record(gsa)["state"] == "uploaded");  // staged, manual activation
  BOOST_TEST_REQUIRE(lab.record(cba)["state"] == "active");
  // The code-signing CSR signed offline and imported.
  const auto d = lab.dir();
  auto csr = lab.cli("show", apps + " --csr");
  BOOST_TEST_REQUIRE(csr.exit_code == 0, csr.err);
  write_file(d / "apps.csr", csr.out);
  auto signed_ =
      pkiflow::test::run_cli("ca sign --csr " + quote(d / "apps.csr") + " --ca-cert " +
                             quote(d / "root.pem") + " --ca-key " + quote(d / "root.key") +
                             " --profile code-signing --out " + quote(d / "apps.pem"));
  BOOST_TEST_REQUIRE(signed_.exit_code == 0, signed_.err);
  auto imported = lab.cli("import", apps + " --certificate " + quote(d / "apps.pem"));
  BOOST_TEST_REQUIRE(imported.exit_code == 0, imported.err);
  // The operator switches activation to automatic and adds a delta CRL for the CBA CAs.
  lab.configure([](json& c) {
    c["tenants"]["lab"]["gsa_activation"] = "auto";
    c["tenants"]["lab"]["cba_delta_crl_url"] = "http://crl.lab.test/delta.crl";
  });

  const auto store_before = lab.records();
  const auto log_before = live.emu().log().size();
  auto planned = lab.cli("plan", "--json");
  BOOST_TEST_REQUIRE(planned.exit_code == 0, planned.out << planned.err);
  const auto plan = json::parse(planned.out);
  BOOST_TEST(plan["plan"] == true);
  BOOST_TEST(writes_since(live.emu(), log_before).empty(), "the plan wrote to the tenant");
  BOOST_TEST(live.emu().log().size() > log_before, "the plan read the tenant");
  BOOST_TEST((lab.records() == store_before), "the plan changed the store");
  std::multiset<std::string> listed;
  for (const auto& r : plan["requests"]) {
    BOOST_TEST(r["headers"].dump().find("Bearer ***") != std::string::npos);  // no token
    const std::string url = r["url"];
    listed.insert(r["method"].get<std::string>() + " " + url.substr(url.find("/beta/")));
  }
  BOOST_TEST(listed.size() == 3u, plan.dump(1));

  const auto log_mark = live.emu().log().size();
  auto ran = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.out << ran.err);
  const auto sent = writes_since(live.emu(), log_mark);
  BOOST_TEST((sent == listed), "the run sent other writes than the plan listed");
  for (const auto& id : {gsa, cba, apps})
    BOOST_TEST(lab.record(id)["state"] == "active");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace plan_e2e_test

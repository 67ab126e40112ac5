// Issue 11, finding 5: the smaller things a user trips on, one check each, through the CLI as a
// user types it (the emulator stands in for the tenant where a record has to move).
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace cli_findings_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run;
using pkiflow::test::run_cli;
using pkiflow::test::write_file;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_findings)

BOOST_AUTO_TEST_CASE(show_status_history_and_request_say_what_is_true) {
  LiveEmulator emu(emulator_options(), 11);
  Lab lab({emu.base(), "", "secret", kSecret});
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  const std::string gsa = lab.request("inspection");
  BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);

  // show --csr --certificate prints both, in that order (it printed only the CSR).
  auto both = lab.cli("show", cba + " --csr --certificate");
  BOOST_TEST(both.exit_code == 0, both.err);
  BOOST_TEST(count_of(both.out, "-----BEGIN CERTIFICATE REQUEST-----") == 1u);
  BOOST_TEST(count_of(both.out, "-----BEGIN CERTIFICATE-----") == 1u);
  BOOST_TEST(both.out.find("REQUEST") < both.out.find("-----BEGIN CERTIFICATE-----"));

  // A TLS-inspection CA's key is the service's: the record names no algorithm pkiflow did not
  // choose, and show reads the key from the CSR (it said rsa3072).
  auto shown = json::parse(lab.cli("show", gsa + " --json").out);
  BOOST_TEST(!shown["profile"].contains("key_algorithm"));
  BOOST_TEST(shown["profile"]["key"] == "made by the service");
  BOOST_TEST(shown["csr_key"]["algorithm"].get<std::string>() != "");
  auto alg = lab.cli("request",
                     "--kind gsa-tls-ca --name other --tenant lab --subject "
                     "'CN=T,O=Lab' --key-alg p256");
  BOOST_TEST(alg.exit_code == 2);
  BOOST_TEST(alg.err.find("the service makes a TLS-inspection CA's key pair") != std::string::npos,
             alg.err);

  // History tells who and which process: user@host and pid (it said cli:unknown under cron).
  auto history = json::parse(lab.cli("history", cba + " --json").out);
  const std::string who = history[0]["actor"];
  BOOST_TEST(who.find("cli:") == 0u, who);
  BOOST_TEST(who.find('@') != std::string::npos, who);
  BOOST_TEST(who.find(" pid ") != std::string::npos, who);
  BOOST_TEST(who.find("unknown") == std::string::npos, who);

  // status leaves retired records out unless asked (they are history).
  BOOST_TEST_REQUIRE(lab.cli("renew", gsa).exit_code == 0);
  BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);
  auto live = json::parse(lab.cli("status", "--json").out);
  for (const auto& r : live)
    BOOST_TEST(r["state"] != "retired");
  BOOST_TEST(live.size() == 2u);
  BOOST_TEST(json::parse(lab.cli("status", "--all --json").out).size() == 3u);
  auto retired = json::parse(lab.cli("status", "--state retired --json").out);
  BOOST_TEST_REQUIRE(retired.size() == 1u);
  BOOST_TEST(retired[0]["id"] == gsa);

  // --state names the valid states and the closest.
  auto bogus = lab.cli("status", "--state activ");
  BOOST_TEST(bogus.exit_code == 2);
  BOOST_TEST(bogus.err.find("(did you mean \"active\"?); the states are planned, csrGenerated") !=
                 std::string::npos,
             bogus.err);
}

BOOST_AUTO_TEST_CASE(reading_verbs_create_nothing_and_read_a_read_only_store) {
  test::TempDir dir;
  const auto db = dir / "nothing-here" / "state.db";
  std::filesystem::create_directories(db.parent_path());
  // status without a store says so, names it, and creates nothing (it made an empty database).
  auto none = run_cli("status --state-url " + quote("sqlite://" + db.string()));
  BOOST_TEST(none.exit_code == 2);
  BOOST_TEST(none.err.find(db.string() + ": no state store here") != std::string::npos, none.err);
  BOOST_TEST(!std::filesystem::exists(db));
  BOOST_TEST(run_cli("show X --json --state-url " + quote("sqlite://" + db.string())).exit_code ==
             2);
  BOOST_TEST(!std::filesystem::exists(db));

  // A store in a directory this user cannot write is still read (status failed there). Root
  // writes anywhere, so under root the reader runs as nobody.
  const auto ro = dir / "ro";
  std::filesystem::create_directories(ro);
  const std::string url = "sqlite://" + (ro / "state.db").string();
  write_file(dir / "pkiflow.json", R"({"tenants": {"t": {"tenant_id": "t.example",
      "client_id": "app", "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}}})");
  ::chmod((dir / "pkiflow.json").c_str(), 0644);
  auto planned = run_cli("request --kind cba-ca --name ro --tenant t --config " +
                         quote(dir / "pkiflow.json") + " --state-url " + quote(url));
  BOOST_TEST_REQUIRE(planned.exit_code == 0, planned.err);
  std::string as_reader;
  if (::geteuid() == 0) {
    BOOST_TEST_REQUIRE(::chown(dir.path().c_str(), 65534, 65534) == 0);
    BOOST_TEST_REQUIRE(::chown(ro.c_str(), 65534, 65534) == 0);
    BOOST_TEST_REQUIRE(::chown((ro / "state.db").c_str(), 65534, 65534) == 0);
    as_reader = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  ::chmod((ro / "state.db").c_str(), 0400);
  ::chmod(ro.c_str(), 0500);
  auto status = run(as_reader + PKIFLOW_CLI_PATH + std::string(" status --json --config ") +
                    quote(dir / "pkiflow.json") + " --state-url " + quote(url));
  ::chmod(ro.c_str(), 0700);
  BOOST_TEST(status.exit_code == 0, status.err);
  BOOST_TEST(json::parse(status.out).size() == 1u, status.out);
}

BOOST_AUTO_TEST_CASE(a_locked_store_names_who_holds_it_and_how_long_pkiflow_waited) {
  test::TempDir dir;
  const auto db = dir / "state.db";
  write_file(dir / "pkiflow.json", R"({"tenants": {"t": {"tenant_id": "t.example",
      "client_id": "app", "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}}})");
  const std::string args = " --config " + quote(dir / "pkiflow.json") + " --state-url " +
                           quote("sqlite://" + db.string());
  BOOST_TEST_REQUIRE(run_cli("request --kind cba-ca --name a --tenant t" + args).exit_code == 0);
  // Another process holds the write lock for longer than pkiflow waits.
  const std::string holder = "(echo 'BEGIN EXCLUSIVE;'; sleep 14; echo 'COMMIT;') | sqlite3 " +
                             quote(db) + " > /dev/null 2>&1 &";
  BOOST_TEST_REQUIRE(run(holder).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto locked = run_cli("request --kind cba-ca --name b --tenant t" + args);
  BOOST_TEST(locked.exit_code == 6, locked.err);
  BOOST_TEST(
      locked.err.find("the state store is locked by another process (pid ") != std::string::npos,
      locked.err);
  BOOST_TEST(locked.err.find("(sqlite3)") != std::string::npos, locked.err);
  BOOST_TEST(locked.err.find("waited 10 s") != std::string::npos, locked.err);
  run("pkill -f 'sleep 14' || true");
}

BOOST_AUTO_TEST_CASE(config_check_names_a_missing_tls_ca_file) {
  test::TempDir dir;
  write_file(dir / "pkiflow.json", R"({"tenants": {"t": {"tenant_id": "t.example",
      "client_id": "app", "tls_ca_file": "missing-ca.pem",
      "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}}})");
  for (const char* verb : {"config check", "graph login-test", "run"}) {
    const bool store = std::string(verb) != "config check";
    auto r = run_cli(std::string(verb) + " --config " + quote(dir / "pkiflow.json") +
                     (store ? " --state-url " + quote("sqlite://" + (dir / "s.db").string()) : ""));
    BOOST_TEST(r.exit_code == 2, verb);
    const std::string said = r.out + r.err;  // config check reports on stdout
    BOOST_TEST(said.find("tenants.t.tls_ca_file: " + (dir / "missing-ca.pem").string() +
                         " does not exist") != std::string::npos,
               verb << ": " << said);
    BOOST_TEST(said.find("asio") == std::string::npos, said);
  }
}

// Finding 3: a configuration edited for a record that exists is reported by config check and
// request --from-config, and the next renewal takes it (history says so); it was ignored and
// renew reused the old profile.
BOOST_AUTO_TEST_CASE(an_edited_configuration_goes_to_the_next_renewal_and_is_reported_until_then) {
  LiveEmulator emu(emulator_options(), 13);
  Lab lab({emu.base(), "", "secret", kSecret});
  lab.configure([](json& cfg) { cfg["certificates"] = {user_ca_entry("CN=User CA,O=Lab")}; });
  auto planned = lab.cli("request", "--from-config --json");
  BOOST_TEST_REQUIRE(planned.exit_code == 0, planned.err);
  const std::string id = json::parse(planned.out)[0]["id"];
  BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);
  auto clean = json::parse(lab.cli("config check", "--json").out);
  BOOST_TEST(clean["warnings"].empty(), clean.dump());

  lab.configure([](json& cfg) {
    cfg["certificates"][0]["subject"] = "CN=User CA 2027,O=Lab";
    cfg["certificates"][0]["key_algorithm"] = "p384";
  });
  auto check = json::parse(lab.cli("config check", "--json").out);
  BOOST_TEST(check["ok"] == true);  // a difference is not an error
  BOOST_TEST_REQUIRE(check["certificates"][0].contains("profile_changes"), check.dump());
  BOOST_TEST(check["certificates"][0]["record"] == id);
  const std::string said = check["warnings"].dump();
  BOOST_TEST(said.find("subject \\\"CN=User CA,O=Lab\\\" -> \\\"CN=User CA 2027,O=Lab\\\"") !=
                 std::string::npos,
             said);
  BOOST_TEST(said.find("key_algorithm \\\"p256\\\" -> \\\"p384\\\"") != std::string::npos, said);
  auto again = lab.cli("request", "--from-config");
  BOOST_TEST(again.exit_code == 0);
  BOOST_TEST(again.out.find("the configuration differs: subject") != std::string::npos, again.out);
  BOOST_TEST(again.out.find("pkiflow renew " + id) != std::string::npos, again.out);

  auto renewed = lab.cli("renew", id + " --json");
  BOOST_TEST_REQUIRE(renewed.exit_code == 0, renewed.err);
  const auto successor = json::parse(renewed.out);
  BOOST_TEST(successor["profile"]["subject"] == "CN=User CA 2027,O=Lab");
  BOOST_TEST(successor["profile"]["key_algorithm"] == "p384");
  BOOST_TEST(successor["profile_changes"].size() == 2u);
  auto history =
      json::parse(lab.cli("history", successor["id"].get<std::string>() + " --json").out);
  BOOST_TEST(history[0]["reason"].get<std::string>().find("renewal of " + id + "; from ") == 0u,
             history[0].dump());
  BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);
  const auto cert = lab.cli("show", successor["id"].get<std::string>() + " --json");
  const auto shown = json::parse(cert.out);
  BOOST_TEST(shown["state"] == "active");
  BOOST_TEST(shown["csr_key"]["curve"] == "secp384r1", shown["csr_key"].dump());
  // The successor agrees with the configuration: nothing left to report.
  BOOST_TEST(json::parse(lab.cli("config check", "--json").out)["warnings"].empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cli_findings_test

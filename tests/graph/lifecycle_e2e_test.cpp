// The TLS-inspection CA lifecycle from the CLI against the emulator on loopback (in this
// process, on a free port, HTTP or HTTPS): sign-in with a secret or a certificate, the whole
// lifecycle and a renewal, dry run, TLS trust, Retry-After, and every injected fault ending with
// exactly one remote object per record (checked in the emulator's own state).
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/pki/encoded_file.hpp"
#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace lifecycle_e2e_test {

using namespace pkiflow;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run_cli;
using pkiflow::test::TempDir;
using pkiflow::test::write_file;
using json = nlohmann::json;

using namespace pkiflow::test::e2e;

BOOST_AUTO_TEST_SUITE(graph_lifecycle)

BOOST_AUTO_TEST_CASE(tls_inspection_ca_runs_end_to_end_over_https_and_renews) {
  auto identity = emulator::make_tls_identity();
  BOOST_TEST_REQUIRE(identity.ok(), test::why(identity));
  LiveEmulator live(emulator_options(), 1, &*identity);
  TempDir trust;
  write_file(trust / "emulator-ca.pem", identity->ca_pem);
  Lab lab({live.base(), (trust / "emulator-ca.pem").string(), "secret", kSecret});
  BOOST_TEST(live.base().rfind("https://127.0.0.1:", 0) == 0);

  auto login = lab.cli("graph login-test");
  BOOST_TEST(login.exit_code == 0, login.err);
  BOOST_TEST(login.out.find("token obtained for tenant contoso") != std::string::npos);
  BOOST_TEST(login.out.find(kSecret) == std::string::npos);

  const std::string first = lab.request("inspection");
  auto run = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  auto report = json::parse(run.out);
  BOOST_TEST(report["records"][0]["from"] == "planned");
  BOOST_TEST(report["records"][0]["to"] == "active");
  BOOST_TEST(lab.record(first)["state"] == "active");
  BOOST_TEST(live.emu().tls_object_count() == 1u);
  BOOST_TEST(live.emu().tls_object_names()[0].rfind(prefix_of(first), 0) == 0);

  // Every transition is in the history, in order.
  auto hist = lab.cli("history", first + " --json");
  BOOST_TEST_REQUIRE(hist.exit_code == 0, hist.err);
  std::vector<std::string> states;
  for (const auto& h : json::parse(hist.out))
    states.push_back(h["to"]);
  BOOST_TEST((states ==
              std::vector<std::string>{"planned", "csrGenerated", "signed", "uploaded", "active"}));
  // The CSR came from the service (its key stays there): the record keeps no key file.
  BOOST_TEST(lab.column(first, "key_path") == "");
  auto shown = lab.cli("show", first + " --json");
  BOOST_TEST_REQUIRE(shown.exit_code == 0, shown.err);
  const auto whole = json::parse(shown.out);
  BOOST_TEST(whole["key_path"] == "");
  BOOST_TEST(whole["certificate_pem"].get<std::string>() ==
             lab.column(first, "certificate") + "\n");
  auto csr = lab.cli("show", first + " --csr");
  BOOST_TEST(csr.exit_code == 0, csr.err);
  BOOST_TEST(csr.out.rfind("-----BEGIN CERTIFICATE REQUEST-----", 0) == 0, csr.out);

  // Renewal: the successor is staged and activated, then the predecessor is deleted.
  auto renew = lab.cli("renew", first);
  BOOST_TEST_REQUIRE(renew.exit_code == 0, renew.err);
  const std::string second = renew.out.substr(renew.out.find("planned  ") + 9, 16);
  run = lab.cli("run");
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(lab.record(second)["state"] == "active");
  BOOST_TEST(lab.record(first)["state"] == "retired");
  auto names = live.emu().tls_object_names();
  BOOST_TEST_REQUIRE(names.size() == 1u);
  BOOST_TEST(names[0].rfind(prefix_of(second), 0) == 0);

  // A second, independent TLS-inspection CA for the tenant is refused with the reason.
  auto again =
      lab.cli("request", "--kind gsa-tls-ca --name other --tenant lab --subject 'CN=X,O=Y'");
  BOOST_TEST(again.exit_code == 2);
  BOOST_TEST(again.err.find("one active certificate at a time") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(certificate_credentials_sign_in_with_ps256_and_rs256) {
  for (const char* alg : {"certificate", "certificate-rs256"}) {
    BOOST_TEST_CONTEXT(alg) {
      // The lab makes the app's certificate; the emulator registers it, then the configuration
      // is pointed at the emulator.
      Lab lab({"http://127.0.0.1:1", "", alg, kSecret});
      auto opt = emulator_options();
      opt.client_certificate_pem = read_file(lab.dir() / "app.pem");
      LiveEmulator live(opt, 3);
      auto cfg = json::parse(read_file(lab.dir() / "pkiflow.json"));
      cfg["tenants"]["lab"]["graph_url"] = live.base() + "/beta";
      cfg["tenants"]["lab"]["token_url"] = live.base() + "/contoso/oauth2/v2.0/token";
      write_file(lab.dir() / "pkiflow.json", cfg.dump(2));
      auto login = lab.cli("graph login-test");
      BOOST_TEST(login.exit_code == 0, login.out + login.err);
      BOOST_TEST(login.out.find("token obtained") != std::string::npos);

      // Another certificate (not registered) is refused with the service's reason.
      Lab stranger({live.base(), "", alg, kSecret});
      login = stranger.cli("graph login-test");
      BOOST_TEST(login.exit_code == 6);
      BOOST_TEST(login.err.find("AADSTS700027") != std::string::npos, login.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_secret_is_a_clear_error_and_touches_no_record) {
  LiveEmulator live(emulator_options(), 4);
  Lab lab({live.base(), "", "secret", "not-the-secret"});
  auto login = lab.cli("graph login-test");
  BOOST_TEST(login.exit_code == 6);
  BOOST_TEST(login.err.find("invalid_client") != std::string::npos, login.err);
  BOOST_TEST(login.err.find("AADSTS7000215") != std::string::npos);
  BOOST_TEST(login.err.find("trace_id") != std::string::npos);
  BOOST_TEST(login.err.find("not-the-secret") == std::string::npos);

  const std::string id = lab.request("inspection");
  auto run = lab.cli("run");
  BOOST_TEST(run.exit_code == 5, run.out + run.err);
  BOOST_TEST(run.out.find("invalid_client") != std::string::npos, run.out);
  auto rec = lab.record(id);
  BOOST_TEST(rec["state"] == "planned");  // not failed: fixing the secret is enough
  BOOST_TEST(rec["attempts"] == 0);
  BOOST_TEST(live.emu().tls_object_count() == 0u);
}

// A missing application permission is the tenant's problem, not the record's: 403 is reported
// with the permission to grant, and the record is left as it was.
BOOST_AUTO_TEST_CASE(a_missing_permission_is_named_and_touches_no_record) {
  auto opt = emulator_options();
  opt.denied = {"gsa"};
  LiveEmulator live(opt, 8);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  auto run = lab.cli("run");
  BOOST_TEST(run.exit_code == 5, run.out + run.err);
  BOOST_TEST(run.out.find("Authorization_RequestDenied") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("NetworkAccess.ReadWrite.All") != std::string::npos, run.out);
  auto rec = lab.record(id);
  BOOST_TEST(rec["state"] == "planned");
  BOOST_TEST(rec["attempts"] == 0);
}

BOOST_AUTO_TEST_CASE(a_dry_run_sends_nothing_and_stores_nothing) {
  LiveEmulator live(emulator_options(), 5);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  auto run = lab.cli("run", "--dry-run --dry-run-out " + quote(lab.dir() / "requests.jsonl"));
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(live.emu().log().empty());  // not even a token request
  auto line = json::parse(read_file(lab.dir() / "requests.jsonl"));
  BOOST_TEST(line["method"] == "POST");
  BOOST_TEST(line["headers"]["Authorization"] == "Bearer ***");
  BOOST_TEST(line["body"]["name"].get<std::string>().rfind(prefix_of(id), 0) == 0);
  BOOST_TEST(line["body"]["commonName"] == "E2E Inspection");
  auto rec = lab.record(id);
  BOOST_TEST(rec["state"] == "planned");
  BOOST_TEST(rec["attempts"] == 0);
  auto hist = lab.cli("history", id + " --json");
  BOOST_TEST(json::parse(hist.out).size() == 1u);
  auto login = lab.cli("graph login-test", "--dry-run");
  BOOST_TEST(login.exit_code == 0, login.err);
  BOOST_TEST(login.out.find("client_secret") != std::string::npos);  // the field, redacted
  BOOST_TEST(login.out.find(kSecret) == std::string::npos);
  BOOST_TEST(live.emu().log().empty());
}

BOOST_AUTO_TEST_CASE(an_untrusted_tls_certificate_is_refused) {
  auto identity = emulator::make_tls_identity();
  BOOST_TEST_REQUIRE(identity.ok());
  LiveEmulator live(emulator_options(), 6, &*identity);
  // No tls_ca_file: the system store does not know the emulator's CA.
  Lab lab({live.base(), "", "secret", kSecret});
  auto login = lab.cli("graph login-test");
  BOOST_TEST(login.exit_code == 6);
  BOOST_TEST(login.err.find("TLS certificate not trusted") != std::string::npos, login.err);
  BOOST_TEST(live.emu().log().empty());  // no request got through
  // A CA that is not the emulator's is no better.
  TempDir other;
  auto root = run_cli("ca new-root --subject 'CN=Other' --alg p256 --no-encrypt --key-out " +
                      quote(other / "k.pem") + " --cert-out " + quote(other / "c.pem"));
  BOOST_TEST_REQUIRE(root.exit_code == 0);
  Lab wrong({live.base(), (other / "c.pem").string(), "secret", kSecret});
  login = wrong.cli("graph login-test");
  BOOST_TEST(login.exit_code == 6);
  BOOST_TEST(login.err.find("TLS certificate not trusted") != std::string::npos, login.err);
}

// The service today stages an upload ("disabled") until it is switched on (graph-api.md 0).
// gsa_activation "manual": the record waits in uploaded and says how to switch it on; `pkiflow
// enable` does, and the record goes active. A dry-run cancel shows the read-back and the DELETE.
BOOST_AUTO_TEST_CASE(a_staged_upload_waits_for_the_operator_when_activation_is_manual) {
  auto opt = emulator_options();
  opt.staged_flow = true;
  LiveEmulator live(opt, 7);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& cfg) {
    cfg["tenants"]["lab"]["gsa_activation"] = "manual";
    cfg["run"]["confirm_wait_seconds"] = 1;
  });
  const std::string id = lab.request("inspection");
  auto run = lab.cli("run");
  BOOST_TEST(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(lab.record(id)["state"] == "uploaded");
  BOOST_TEST(run.out.find("staged (\"disabled\"): enable it in the admin center or with "
                          "`pkiflow enable " +
                          id + "`") != std::string::npos,
             run.out);
  // A second run leaves it staged too: the operator decides when the cutover happens.
  auto again = lab.cli("run");
  BOOST_TEST(again.exit_code == 0, again.out + again.err);
  BOOST_TEST(live.emu().tls_objects().at(0).status == "disabled");

  auto shown = lab.cli("cancel", id + " --dry-run");
  BOOST_TEST(shown.exit_code == 0, shown.err);
  BOOST_TEST(shown.out.find("\"method\":\"GET\"") != std::string::npos, shown.out);
  BOOST_TEST(shown.out.find("\"method\":\"DELETE\"") != std::string::npos, shown.out);
  BOOST_TEST(live.emu().tls_object_count() == 1u);

  auto enable = lab.cli("enable", id + " --json");
  BOOST_TEST(enable.exit_code == 0, enable.out + enable.err);
  BOOST_TEST(json::parse(enable.out)["to"] == "active", enable.out);
  BOOST_TEST(lab.record(id)["state"] == "active");
  BOOST_TEST(live.emu().tls_objects().at(0).status == "active");
  // Enabling again is refused before anything is sent.
  auto twice = lab.cli("enable", id);
  BOOST_TEST(twice.exit_code == 2, twice.err);
  BOOST_TEST(
      twice.err.find("only an uploaded (staged) certificate can be enabled") != std::string::npos,
      twice.err);
}

// With automatic activation the object is read once between its upload and its enable: the
// upload's read-back ("disabled", staged) is the run's first confirmation.
BOOST_AUTO_TEST_CASE(a_staged_upload_is_read_back_once_then_enabled) {
  auto opt = emulator_options();
  opt.staged_flow = true;
  opt.activation_delay = std::chrono::milliseconds(0);  // active as soon as it is enabled
  LiveEmulator live(opt, 8);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  auto run = lab.cli("run");
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(lab.record(id)["state"] == "active");
  BOOST_TEST(live.emu().tls_objects().at(0).status == "active");
  std::vector<std::string> calls;
  std::string shown;
  for (const auto& e : live.emu().log()) {
    if (e.target.rfind("/beta/", 0) != 0) continue;
    calls.push_back(e.method + " " + std::to_string(e.status));
    shown += calls.back() + " " + e.target + "\n";
  }
  BOOST_TEST((calls ==
              std::vector<std::string>{"POST 201", "PATCH 204", "GET 200", "PATCH 204", "GET 200"}),
             shown);
}

// The deprecated gsa_enable_after_upload still works (mapped, with a notice) for tenants that
// keep an upload enrolling until the enable PATCH arrives.
BOOST_AUTO_TEST_CASE(the_deprecated_enable_after_upload_is_mapped_with_a_notice) {
  auto opt = emulator_options();
  opt.require_enable = true;
  LiveEmulator live(opt, 7);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& cfg) { cfg["tenants"]["lab"]["gsa_enable_after_upload"] = true; });
  const std::string id = lab.request("inspection");
  auto run = lab.cli("run");
  BOOST_TEST(run.exit_code == 0, run.out + run.err);
  BOOST_TEST(lab.record(id)["state"] == "active");
  BOOST_TEST(lab.record(id)["remote_status"] == "enabled");
  BOOST_TEST(run.err.find("gsa_enable_after_upload is deprecated") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_CASE(plain_http_is_refused_for_a_remote_host) {
  Lab lab({"http://graph.example.com", "", "secret", kSecret});
  auto login = lab.cli("graph login-test");
  BOOST_TEST(login.exit_code == 2, login.err);
  BOOST_TEST(login.err.find("graph_url") != std::string::npos, login.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(graph_faults)

// Retry-After: the request after a 429 or 503 comes no sooner than the emulator asked.
BOOST_AUTO_TEST_CASE(retry_after_is_honoured) {
  auto opt = emulator_options();
  opt.faults.throttle = 0.3;
  opt.faults.unavailable = 0.2;
  opt.faults.retry_after = "0.4";
  opt.faults.first_kind = "429";  // at least one, whatever the timing
  opt.faults.first_count = 1;
  LiveEmulator live(opt, 21);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.request("inspection");
  run_until_settled(lab, 5);
  const auto log = live.emu().log();
  int gaps = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].fault != "429" && log[i].fault != "503") continue;
    for (std::size_t k = i + 1; k < log.size(); ++k)
      if (log[k].client_request_id == log[i].client_request_id) {
        const auto gap =
            std::chrono::duration_cast<std::chrono::milliseconds>(log[k].at - log[i].at);
        BOOST_TEST(gap.count() >= 390,
                   "retried " << gap.count() << " ms after a Retry-After of 0.4 s");
        ++gaps;
        break;
      }
  }
  BOOST_TEST(gaps > 0, "the seed produced no retried 429/503");
}

// Each fault, alone and then all together: the record ends active, and the tenant holds exactly
// one object for it (and none for the records it replaced).
BOOST_AUTO_TEST_CASE(every_fault_ends_with_one_remote_object_per_record) {
  struct Case {
    const char* name;
    emulator::Faults faults;
  };
  std::vector<Case> cases;
  // Each fault at a rate, and also on the first change (POST, PATCH or DELETE) of the tenant,
  // so every case meets its fault on a change however the timing shifts the draws.
  auto add = [&](const char* name, double emulator::Faults::*field, double rate) {
    emulator::Faults f;
    f.*field = rate;
    f.retry_after = "0.05";
    f.first_kind = name;
    f.first_count = 1;
    cases.push_back({name, f});
  };
  add("429", &emulator::Faults::throttle, 0.3);
  add("500", &emulator::Faults::server_error, 0.3);
  add("503", &emulator::Faults::unavailable, 0.3);
  add("drop", &emulator::Faults::drop, 0.3);
  add("lost", &emulator::Faults::lost, 0.35);
  emulator::Faults all;
  all.throttle = 0.1;
  all.server_error = 0.1;
  all.unavailable = 0.05;
  all.drop = 0.1;
  all.lost = 0.15;
  all.latency = std::chrono::milliseconds(5);
  all.retry_after = "0.05";
  all.first_kind = "lost";
  all.first_count = 2;
  cases.push_back({"all", all});

  std::uint64_t seed = 100;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("fault " << c.name) {
      auto opt = emulator_options();
      opt.faults = c.faults;
      LiveEmulator live(opt, ++seed);
      Lab lab({live.base(), "", "secret", kSecret});
      std::string current = lab.request("inspection");
      run_until_settled(lab, 6);
      BOOST_TEST_REQUIRE(lab.record(current)["state"] == "active");
      std::vector<std::string> retired;
      for (int round = 0; round < 2; ++round) {  // two renewals under the same faults
        auto renew = lab.cli("renew", current);
        BOOST_TEST_REQUIRE(renew.exit_code == 0, renew.err);
        retired.push_back(current);
        current = renew.out.substr(renew.out.find("planned  ") + 9, 16);
        run_until_settled(lab, 6);
        // A predecessor left superseded by a fault is retired by a later run.
        for (int i = 0; i < 4 && lab.record(retired.back())["state"] != "retired"; ++i)
          lab.cli("run");
        BOOST_TEST_REQUIRE(lab.record(current)["state"] == "active");
        BOOST_TEST(lab.record(retired.back())["state"] == "retired");
      }
      auto names = live.emu().tls_object_names();
      BOOST_TEST(names.size() == 1u);
      for (const auto& n : names)
        BOOST_TEST(n.rfind(prefix_of(current), 0) == 0, n << " is not the active record's");
      int injected = 0, on_changes = 0;
      for (const auto& e : live.emu().log()) {
        injected += !e.fault.empty();
        on_changes += !e.fault.empty() && e.method != "GET" && e.target.rfind("/beta/", 0) == 0;
      }
      BOOST_TEST(injected > 0, "the seed injected no fault");
      // The faults hit creates, uploads or deletes too, not only reads: exactly-once is tested.
      BOOST_TEST(on_changes > 0, "no fault hit a POST, PATCH or DELETE");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace lifecycle_e2e_test

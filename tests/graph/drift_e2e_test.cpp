// Drift against the emulator (issue 12, part 3): objects deleted, switched off and replaced
// behind pkiflow's back are found by the next run (exit 9, a history row, DRIFT in status, the
// pkiflow_drift metric) and stay reported until `pkiflow repair` puts each right the way its
// service allows; a CRL URL and an issuer hint changed in the configuration reach the tenant
// with a PATCH of those fields (and what the service requires beside them) only.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>
#include <thread>

#include "engine/pki/certificate.hpp"
#include "engine/pki/time_format.hpp"
#include "tests/graph/e2e_support.hpp"
#include "tests/support/prometheus_text.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace drift_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::parse_prometheus;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run_cli;
using pkiflow::test::value_of;

namespace {

constexpr const char* kGsa = "/networkAccess/tls/externalCertificateAuthorityCertificates/";
constexpr const char* kCodeSigning = "/deviceAppManagement/enterpriseCodeSigningCertificates/";
constexpr const char* kPkis =
    "/directory/publicKeyInfrastructure/certificateBasedAuthConfigurations/";

std::string ca_path(const std::string& remote_id) {
  const auto slash = remote_id.find('/');
  return kPkis + remote_id.substr(0, slash) + "/certificateAuthorities/" +
         remote_id.substr(slash + 1);
}

// The records of a run's JSON report by id.
std::map<std::string, json> by_id(const json& report) {
  std::map<std::string, json> out;
  for (const auto& r : report["records"])
    out[r["id"]] = r;
  return out;
}

bool history_says(const Lab& lab, const std::string& id, const std::string& text) {
  auto h = lab.cli("history", id + " --json");
  BOOST_TEST_REQUIRE(h.exit_code == 0, h.err);
  return h.out.find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_drift)

BOOST_AUTO_TEST_CASE(objects_changed_behind_pkiflows_back_are_found_reported_and_repaired) {
  LiveEmulator live(emulator_options(), 31);
  Lab lab({live.base(), "", "secret", kSecret});
  // No checks while the records are provisioned: the first run that checks comes after the
  // tampering below (a record never checked is due at once).
  lab.configure([](json& c) { c["run"]["verify_interval"] = "off"; });
  const std::string gsa = lab.request("tls");
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  const std::string apps = lab.request_kind("intune-codesigning", "apps", "CN=Apps,O=Lab");
  run_until_settled(lab, 3);
  for (const auto& id : {gsa, cba, apps})
    BOOST_TEST_REQUIRE(lab.record(id)["state"] == "active");
  const std::string cba_remote = lab.record(cba)["remote_id"];
  const std::string apps_remote = lab.record(apps)["remote_id"];
  const std::string cba_thumb = lab.record(cba)["thumbprint_sha1"];

  // Behind pkiflow's back: the CBA CA deleted, the TLS-inspection CA switched off, and the
  // code-signing object given another certificate.
  Admin admin(live.emu());
  admin.call("DELETE", ca_path(cba_remote), nullptr, 204);
  admin.call("PATCH", kGsa + lab.record(gsa)["remote_id"].get<std::string>(),
             {{"status", "disabled"}}, 204);
  auto other = run_cli(
      "ca new-root --subject 'CN=Someone Else,O=Elsewhere' --alg p256 "
      "--no-encrypt --key-out " +
      quote(lab.dir() / "other.key") + " --cert-out " + quote(lab.dir() / "other.pem"));
  BOOST_TEST_REQUIRE(other.exit_code == 0, other.err);
  auto other_cert = pki::Certificate::load((lab.dir() / "other.pem").string()).value();
  const auto of = other_cert.facts();
  admin.call("PATCH", kCodeSigning + apps_remote,
             {{"content", other_cert.base64_der()},
              {"subject", of.subject},
              {"issuer", of.issuer},
              {"expirationDateTime", pki::format_rfc3339(of.not_after)}},
             200);

  // The next run reads every live object back and finds all three.
  lab.configure([](json& c) { c["run"]["verify_interval"] = "24h"; });
  const auto prom = lab.dir() / "pkiflow.prom";
  auto ran = lab.cli("run", "--json --metrics-file " + quote(prom));
  BOOST_TEST(ran.exit_code == 9, ran.out << ran.err);
  auto report = by_id(json::parse(ran.out));
  BOOST_TEST(report[cba]["drift"] == "gone");
  BOOST_TEST(report[gsa]["drift"] == "switched-off");
  BOOST_TEST(report[apps]["drift"] == "replaced");
  BOOST_TEST(report[cba]["verified"] == true);
  BOOST_TEST(ran.err.find(cba) != std::string::npos, "stderr names the drifted records");
  BOOST_TEST(lab.record(cba)["drift"] == "gone");
  BOOST_TEST(lab.record(gsa)["drift_note"].get<std::string>().find("switched off") !=
             std::string::npos);
  BOOST_TEST(history_says(lab, cba, "drift (gone)"));
  BOOST_TEST(history_says(lab, apps, "drift (replaced)"));
  const auto metrics = parse_prometheus(read_file(prom));
  BOOST_TEST(value_of(metrics, "pkiflow_drift", {{"record", cba}, {"condition", "gone"}}) == 1);
  BOOST_TEST(value_of(metrics, "pkiflow_drift", {{"record", gsa}, {"condition", "switched-off"}}) ==
             1);
  BOOST_TEST(value_of(metrics, "pkiflow_run_exit_code") == 9);

  // Drift is a condition: a run that does not check again (not due) still reports it.
  auto again = lab.cli("run", "--json");
  BOOST_TEST(again.exit_code == 9, again.out << again.err);
  BOOST_TEST(json::parse(again.out)["records"].empty());  // nothing due, nothing read back

  // repair: the same CBA CA uploaded again as a new object.
  auto fixed_cba = lab.cli("repair", cba + " --json");
  BOOST_TEST_REQUIRE(fixed_cba.exit_code == 0, fixed_cba.out << fixed_cba.err);
  BOOST_TEST(json::parse(fixed_cba.out)["drift"].is_null());
  BOOST_TEST(lab.record(cba)["remote_id"] != cba_remote);
  BOOST_TEST(lab.record(cba)["drift"].is_null());
  auto thumbs = live.emu().cba_thumbprints();
  BOOST_TEST(std::count(thumbs.begin(), thumbs.end(), cba_thumb) == 1);
  BOOST_TEST(history_says(lab, cba, "uploaded again as"));

  // repair: the TLS-inspection CA switched on again.
  auto fixed_gsa = lab.cli("repair", gsa + " --json");
  BOOST_TEST_REQUIRE(fixed_gsa.exit_code == 0, fixed_gsa.out << fixed_gsa.err);
  BOOST_TEST(json::parse(fixed_gsa.out)["drift"].is_null(), fixed_gsa.out);
  BOOST_TEST(lab.record(gsa)["drift"].is_null());

  // repair: the code-signing certificate uploaded again; the object that now holds someone
  // else's certificate is not pkiflow's to delete, and stays.
  auto fixed_apps = lab.cli("repair", apps + " --json");
  BOOST_TEST_REQUIRE(fixed_apps.exit_code == 0, fixed_apps.out << fixed_apps.err);
  BOOST_TEST(live.emu().code_signing_count() == 2u);
  BOOST_TEST(lab.record(apps)["remote_id"] != apps_remote);
  admin.call("GET", kCodeSigning + apps_remote, nullptr, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // the service parses it

  auto verified = lab.cli("verify", "--json");
  BOOST_TEST(verified.exit_code == 0, verified.out << verified.err);
  const auto checked = json::parse(verified.out);
  for (const auto& r : checked["records"])
    BOOST_TEST(r["drift"].is_null(), r.dump());
  auto clean = lab.cli("run", "--json");
  BOOST_TEST(clean.exit_code == 0, clean.out << clean.err);
}

BOOST_AUTO_TEST_CASE(
    a_changed_crl_url_and_issuer_hint_reach_the_tenant_with_a_patch_of_those_fields) {
  LiveEmulator live(emulator_options(), 32);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string cba = lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
  run_until_settled(lab, 3);
  BOOST_TEST_REQUIRE(lab.record(cba)["state"] == "active");
  const std::string remote = lab.record(cba)["remote_id"];
  Admin admin(live.emu());
  const json before = admin.call("GET", ca_path(remote), nullptr, 200);
  BOOST_TEST(before["isIssuerHintEnabled"] == false);

  // verify reports the difference and changes nothing; the next run brings the CA to it.
  lab.configure([](json& c) {
    c["tenants"]["lab"]["cba_delta_crl_url"] = "http://crl.lab.test/delta.crl";
    c["tenants"]["lab"]["cba_issuer_hint"] = true;
  });
  auto seen = lab.cli("verify", cba + " --json");
  BOOST_TEST(seen.exit_code == 0, seen.out << seen.err);
  BOOST_TEST(seen.out.find("deltaCertificateRevocationListUrl") != std::string::npos, seen.out);
  BOOST_TEST(admin.call("GET", ca_path(remote), nullptr, 200)["isIssuerHintEnabled"] == false);

  const auto patches_before = live.emu().log().size();
  auto ran = lab.cli("run", "--json");
  BOOST_TEST(ran.exit_code == 0, ran.out << ran.err);
  const json after = admin.call("GET", ca_path(remote), nullptr, 200);
  BOOST_TEST(after["isIssuerHintEnabled"] == true);
  BOOST_TEST(after["deltaCertificateRevocationListUrl"] == "http://crl.lab.test/delta.crl");
  BOOST_TEST(after["thumbprint"] == before["thumbprint"]);
  BOOST_TEST(after["certificate"] == before["certificate"]);
  int patches = 0;
  const auto log = live.emu().log();
  for (std::size_t i = patches_before; i < log.size(); ++i)
    patches += log[i].method == "PATCH";
  BOOST_TEST(patches == 1);
  BOOST_TEST(history_says(lab, cba, "updated on the service to match the configuration"));

  // Nothing differs now: a run after another configuration change sends no PATCH.
  lab.configure([](json& c) { c["run"]["concurrency"] = 2; });
  const auto n = live.emu().log().size();
  auto quiet = lab.cli("run", "--json");
  BOOST_TEST(quiet.exit_code == 0, quiet.out << quiet.err);
  const auto log2 = live.emu().log();
  for (std::size_t i = n; i < log2.size(); ++i)
    if (log2[i].target.rfind("/beta/", 0) == 0)  // Graph calls; the token endpoint aside
      BOOST_TEST(log2[i].method == "GET", log2[i].method << " " << log2[i].target);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace drift_e2e_test

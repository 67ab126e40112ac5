// Discovery and adoption against the emulator (issue 12, part 4): objects an admin uploaded by
// hand are listed by `pkiflow discover`, made live records by `pkiflow adopt` (refused twice,
// and for a code-signing object whose content the service dropped unless its .cer is given),
// and an adopted CBA CA that expires soon is renewed by one plain run with a new key.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>
#include <thread>

#include "engine/pki/certificate.hpp"
#include "providers/entra_cba/cba_provider.hpp"
#include "providers/intune_codesigning/intune_provider.hpp"
#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace adopt_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::run_cli;

namespace {

pki::Certificate self_signed(const Lab& lab, const std::string& file, const std::string& subject,
                             int days) {
  auto made =
      run_cli("ca new-root --subject '" + subject + "' --alg p256 --days " + std::to_string(days) +
              " --no-encrypt --key-out " + quote(lab.dir() / (file + ".key")) + " --cert-out " +
              quote(lab.dir() / (file + ".pem")));
  BOOST_TEST_REQUIRE(made.exit_code == 0, made.err);
  return pki::Certificate::load((lab.dir() / (file + ".pem")).string()).value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_adopt)

BOOST_AUTO_TEST_CASE(hand_uploaded_objects_are_discovered_adopted_and_renewed) {
  LiveEmulator live(emulator_options(), 51);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& c) { c["renewal"] = {{"renew_before", "30d"}}; });
  auto& emu = live.emu();
  Admin admin(emu);
  // By hand: a PKI container with a CA that expires in 20 days, and a code-signing certificate.
  const auto hand_ca = self_signed(lab, "hand-ca", "CN=Hand CA,O=Lab", 20);
  const std::string pki_id =
      admin.call("POST", cba::kPkiCollection, {{"displayName", "pkiflow"}}, 201)["id"];
  const std::string ca_id = admin.call(
      "POST", std::string(cba::kPkiCollection) + "/" + pki_id + "/certificateAuthorities",
      json::parse(cba::ca_body(cba::derive_ca_fields(hand_ca, cba::CbaSettings{}), true)),
      201)["id"];
  const auto hand_apps = self_signed(lab, "hand-apps", "CN=Hand Apps,O=Lab", 365);
  const std::string apps_id = admin.call("POST", intune::kCollection,
                                         json::parse(intune::upload_body(intune::derive_fields(
                                             hand_apps, std::chrono::system_clock::now()))),
                                         201)["id"];
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // Intune parses, drops content

  auto found = lab.cli("discover", "--json");
  BOOST_TEST_REQUIRE(found.exit_code == 0, found.out << found.err);
  auto objects = json::parse(found.out)["objects"];
  BOOST_TEST_REQUIRE(objects.size() == 2u, objects.dump(1));
  for (const auto& o : objects) {
    BOOST_TEST(o["managed_by"].is_null());
    if (o["kind"] == "cba-ca") {
      BOOST_TEST(o["remote_id"] == pki_id + "/" + ca_id);
      BOOST_TEST(o["thumbprint_sha1"] == hand_ca.facts().sha1_thumbprint);
      BOOST_TEST(o["subject"] == hand_ca.facts().subject);
    } else {
      BOOST_TEST(o["kind"] == "intune-codesigning");
      BOOST_TEST(o["subject"] == hand_apps.facts().subject);
      BOOST_TEST(!o["not_after"].is_null());
    }
  }

  auto adopted = lab.cli(
      "adopt", "--tenant lab --remote-id " + ca_id + " --name hand-ca --signer lab-root --json");
  BOOST_TEST_REQUIRE(adopted.exit_code == 0, adopted.out << adopted.err);
  const std::string ca_rec = json::parse(adopted.out)["id"];
  BOOST_TEST(lab.record(ca_rec)["state"] == "active");
  BOOST_TEST(lab.record(ca_rec)["remote_id"] == pki_id + "/" + ca_id);
  auto twice = lab.cli("adopt", "--tenant lab --remote-id " + ca_id + " --json");
  BOOST_TEST(twice.exit_code == 2);
  BOOST_TEST(twice.out.find("already managed by record " + ca_rec) != std::string::npos, twice.out);

  // Intune dropped the content: pkiflow asks for the certificate rather than guess.
  auto blind = lab.cli("adopt", "--tenant lab --remote-id " + apps_id + " --json");
  BOOST_TEST(blind.exit_code == 2);
  BOOST_TEST(blind.out.find("--certificate") != std::string::npos, blind.out);
  auto wrong = lab.cli("adopt", "--tenant lab --remote-id " + apps_id + " --certificate " +
                                    quote(lab.dir() / "hand-ca.pem") + " --json");
  BOOST_TEST(wrong.exit_code == 2);
  auto apps = lab.cli("adopt", "--tenant lab --remote-id " + apps_id + " --certificate " +
                                   quote(lab.dir() / "hand-apps.pem") + " --json");
  BOOST_TEST_REQUIRE(apps.exit_code == 0, apps.out << apps.err);

  auto none = lab.cli("discover", "--json");
  BOOST_TEST(json::parse(none.out)["objects"].empty());
  auto all = lab.cli("discover", "--all --json");
  BOOST_TEST(json::parse(all.out)["objects"].size() == 2u);

  // The adopted CA expires in 20 days under "renew_before": "30d": one plain run renews it
  // with a key made here, and keeps the old CA in the trust store until it expires.
  auto ran = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.out << ran.err);
  auto report = json::parse(ran.out);
  BOOST_TEST_REQUIRE(report["renewals"].size() == 1u, ran.out);
  const std::string successor = report["renewals"][0]["successor"];
  BOOST_TEST(lab.record(successor)["state"] == "active");
  BOOST_TEST(lab.record(ca_rec)["state"] == "superseded");
  BOOST_TEST(lab.record(successor)["profile"].count("adopted") == 0u);
  auto thumbs = emu.cba_thumbprints();
  BOOST_TEST(std::count(thumbs.begin(), thumbs.end(), hand_ca.facts().sha1_thumbprint) == 1);
  BOOST_TEST(thumbs.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_hand_made_tls_inspection_ca_is_adopted_and_replaced_at_renewal) {
  auto opt = emulator_options();
  opt.gsa_managed_ca = true;
  opt.foreign = 4;  // someone else's objects, half named like pkiflow's: they must survive
  LiveEmulator live(opt, 52);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& c) { c["renewal"] = {{"renew_before", "365d"}}; });
  auto& emu = live.emu();
  Admin admin(emu);
  const std::string gsa_path = "/networkAccess/tls/externalCertificateAuthorityCertificates";
  // By hand, as the portal does it: create, sign the service's CSR with the lab's root, upload.
  const auto created = admin.call(
      "POST", gsa_path,
      json{
          {"@odata.type", "#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate"},
          {"name", "HandTls"},
          {"commonName", "Hand TLS Inspection"},
          {"organizationName", "Lab"}},
      201);
  const std::string id = created["id"];
  pkiflow::test::write_file(lab.dir() / "hand.csr",
                            created["certificateSigningRequest"].get<std::string>());
  auto signed_ =
      run_cli("ca sign --csr " + quote(lab.dir() / "hand.csr") + " --ca-cert " +
              quote(lab.dir() / "root.pem") + " --ca-key " + quote(lab.dir() / "root.key") +
              " --profile tls-inspection-ca --days 200 --out " + quote(lab.dir() / "hand.pem"));
  BOOST_TEST_REQUIRE(signed_.exit_code == 0, signed_.err);
  admin.call("PATCH", gsa_path + "/" + id,
             {{"certificate", pkiflow::test::read_file(lab.dir() / "hand.pem")},
              {"chain", pkiflow::test::read_file(lab.dir() / "root.pem")}},
             204);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // enrolling -> active

  auto found = lab.cli("discover", "--json");
  BOOST_TEST_REQUIRE(found.exit_code == 0, found.out << found.err);
  std::string managed_id;
  const auto listed = json::parse(found.out);
  for (const auto& o : listed["objects"])
    if (o["note"].get<std::string>().find("Microsoft-managed") != std::string::npos)
      managed_id = o["remote_id"];
  BOOST_TEST_REQUIRE(!managed_id.empty(), found.out);
  auto refused = lab.cli("adopt", "--tenant lab --remote-id " + managed_id + " --json");
  BOOST_TEST(refused.exit_code == 2);
  BOOST_TEST(refused.out.find("Microsoft-managed") != std::string::npos, refused.out);

  auto adopted =
      lab.cli("adopt", "--tenant lab --remote-id " + id + " --name tls --signer lab-root --json");
  BOOST_TEST_REQUIRE(adopted.exit_code == 0, adopted.out << adopted.err);
  const std::string rec = json::parse(adopted.out)["id"];
  auto verified = lab.cli("verify", rec + " --json");
  BOOST_TEST(verified.exit_code == 0, verified.out << verified.err);

  // 200 days left under "renew_before": "365d": one plain run makes a successor (the service's
  // new key), switches it on, and deletes the adopted object: the tenant enables one at a time.
  auto ran = lab.cli("run", "--json");
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.out << ran.err);
  const std::string successor = json::parse(ran.out)["renewals"][0]["successor"];
  BOOST_TEST(lab.record(successor)["state"] == "active");
  BOOST_TEST(lab.record(rec)["state"] == "retired");
  std::size_t ours = 0, foreign = 0;
  for (const auto& o : emu.tls_objects()) {
    BOOST_TEST(o.name != "HandTls", "the adopted object is still in the tenant");
    (o.foreign ? foreign : ours) += 1;
  }
  BOOST_TEST(ours == 1u);     // the successor's
  BOOST_TEST(foreign == 4u);  // every foreign object untouched
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace adopt_e2e_test

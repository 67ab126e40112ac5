// Air-gap bundles end to end against the emulator: records of all three families wait for an
// offline CA, go out in a bundle, are signed by `pkiflow sign --bundle` (no configuration, no
// store), come back in with `pkiflow bundle import` and go live; and every way a bundle can come
// back wrong is refused with its reason and changes nothing; the offline CA's key may be in an
// HSM (PKCS#11).
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>

#include "tests/graph/e2e_support.hpp"
#include "tests/support/softhsm.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace bundle_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run;
using pkiflow::test::run_cli;
using pkiflow::test::write_file;
namespace fs = std::filesystem;

namespace {

// A lab whose records are signed by an offline CA: the lab's root, kept off the online host.
struct OfflineLab {
  LiveEmulator live{emulator_options(), 71};
  Lab lab{{live.base(), "", "secret", kSecret}};
  std::vector<std::string> ids;

  OfflineLab() {
    lab.configure([](json& c) {
      c["signers"]["vault"] = {{"type", "offline"}, {"certificate", "root.pem"}};
    });
    for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
             {"gsa-tls-ca", "inspect"}, {"cba-ca", "users"}, {"intune-codesigning", "apps"}}) {
      auto r = lab.cli("request", "--kind " + kind + " --name " + name +
                                      " --tenant lab --subject 'CN=Offline " + name +
                                      ",O=Lab' --signer vault --json" +
                                      (kind == "gsa-tls-ca" ? "" : " --key-alg p256"));
      BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
      ids.push_back(json::parse(r.out)[0]["id"]);
    }
    auto r = lab.cli("run");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
    for (const auto& id : ids)
      BOOST_TEST_REQUIRE(lab.record(id)["state"] == "csrGenerated");
  }
  fs::path dir(const std::string& name) const { return lab.dir() / name; }
  test::CommandResult export_to(const std::string& name, const std::string& more = "") const {
    return lab.cli("bundle export", quote(dir(name)) + " " + more);
  }
  // `pkiflow sign --bundle` as on the offline host: only the bundle and the CA's files.
  test::CommandResult sign(const std::string& name, const std::string& ca = "root") const {
    return run_cli("sign --bundle " + quote(dir(name)) + " --ca-cert " +
                   quote(lab.dir() / (ca + ".pem")) + " --ca-key " +
                   quote(lab.dir() / (ca + ".key")) + " --yes");
  }
  test::CommandResult import(const std::string& name) const {
    return lab.cli("bundle import", quote(dir(name)));
  }
  void expect_all_waiting() const {
    for (const auto& id : ids)
      BOOST_TEST(lab.record(id)["state"] == "csrGenerated", id);
  }
};

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive);
}

// Replaces `what` by `with` in a file, once.
void edit(const fs::path& file, const std::string& what, const std::string& with) {
  std::string text = read_file(file);
  const auto at = text.find(what);
  BOOST_TEST_REQUIRE(at != std::string::npos, what << " not in " << file);
  text.replace(at, what.size(), with);
  write_file(file, text);
}

// Signs signed.json again with the root's key, as a faulty offline tool holding the key might.
void resign(const fs::path& bundle, const fs::path& key) {
  auto r = run("openssl dgst -sha256 -sign " + quote(key) + " " + quote(bundle / "signed.json") +
               " | od -An -v -tx1 | tr -d ' \\n' > " + quote(bundle / "signed.json.sig"));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_bundles)

BOOST_AUTO_TEST_CASE(a_record_of_each_family_goes_out_comes_back_signed_and_goes_live) {
  OfflineLab o;
  auto status = o.lab.cli("status");
  BOOST_TEST(status.out.find("waiting for an offline signature") != std::string::npos, status.out);

  auto ex = o.export_to("out", "--json");
  BOOST_TEST_REQUIRE(ex.exit_code == 0, ex.out + ex.err);
  const auto exported = json::parse(ex.out);
  const std::string bundle_id = exported["bundle_id"];
  BOOST_TEST(exported["records"].size() == 3u);
  // The files are private; the store says where each record went.
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(o.dir("out").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
  status = o.lab.cli("status");
  BOOST_TEST(status.out.find("waiting for offline signature, bundle " + bundle_id +
                             " exported at") != std::string::npos,
             status.out);
  // Nothing more to export; a run leaves the records waiting.
  auto again = o.export_to("out2");
  BOOST_TEST(again.exit_code == 0);
  BOOST_TEST(again.out.find("no record is waiting") != std::string::npos, again.out);
  auto r = o.lab.cli("run");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  o.expect_all_waiting();

  // Without --yes and without a terminal, nothing is signed.
  auto unconfirmed = run_cli("sign --bundle " + quote(o.dir("out")) + " --ca-cert " +
                             quote(o.lab.dir() / "root.pem") + " --ca-key " +
                             quote(o.lab.dir() / "root.key") + " < /dev/null");
  BOOST_TEST(unconfirmed.exit_code == 2);
  BOOST_TEST(!fs::exists(o.dir("out") / "signed.json"));

  auto s = o.sign("out");
  BOOST_TEST_REQUIRE(s.exit_code == 0, s.out + s.err);
  BOOST_TEST(s.out.find("CN=Offline users,O=Lab") != std::string::npos, s.out);  // shown first
  auto im = o.import("out");
  BOOST_TEST_REQUIRE(im.exit_code == 0, im.out + im.err);
  for (const auto& id : o.ids)
    BOOST_TEST(o.lab.record(id)["state"] == "signed");

  r = o.lab.cli("run");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  for (const auto& id : o.ids)
    BOOST_TEST(o.lab.record(id)["state"] == "active", id);
  BOOST_TEST(o.live.emu().code_signing_count() == 1u);

  // The same bundle again: refused as imported.
  auto twice = o.import("out");
  BOOST_TEST(twice.exit_code == 2);
  BOOST_TEST(twice.err.find("bundle " + bundle_id + " was imported already") != std::string::npos,
             twice.err);
}

BOOST_AUTO_TEST_CASE(the_offline_host_signs_the_bundle_with_the_ca_key_in_an_hsm) {
  OfflineLab o;
  // The offline CA's key moved into a token (SoftHSM2 here) with OpenSC's tool, as an admin
  // moves an existing CA key into an HSM; `sign --bundle` reaches it only by its URI.
  test::SoftHsm hsm(o.lab.dir() / "hsm", "offline-ca");
  hsm.import_key(o.lab.dir() / "root.key", "root");
  auto ex = o.export_to("out");
  BOOST_TEST_REQUIRE(ex.exit_code == 0, ex.out + ex.err);
  auto s = run_cli("sign --bundle " + quote(o.dir("out")) + " --ca-cert " +
                   quote(o.lab.dir() / "root.pem") + " --ca-key " + quote(hsm.uri("root")) +
                   " --yes --json");
  BOOST_TEST_REQUIRE(s.exit_code == 0, s.out + s.err);
  auto im = o.import("out");  // the manifest's signature, made in the token, checks out
  BOOST_TEST_REQUIRE(im.exit_code == 0, im.out + im.err);
  auto r = o.lab.cli("run");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  for (const auto& id : o.ids)
    BOOST_TEST(o.lab.record(id)["state"] == "active", id);
}

BOOST_AUTO_TEST_CASE(every_bundle_that_comes_back_wrong_is_refused_and_changes_nothing) {
  OfflineLab o;
  BOOST_TEST_REQUIRE(o.export_to("out").exit_code == 0);
  const std::string first = o.ids[0], second = o.ids[1];
  // Signed by another CA: a CA the offline signer does not name, outside the trust anchors.
  auto other =
      run_cli("ca new-root --subject 'CN=Other Root' --alg p256 --no-encrypt --key-out " +
              quote(o.lab.dir() / "other.key") + " --cert-out " + quote(o.lab.dir() / "other.pem"));
  BOOST_TEST_REQUIRE(other.exit_code == 0, other.err);
  copy_dir(o.dir("out"), o.dir("foreign"));
  BOOST_TEST_REQUIRE(o.sign("foreign", "other").exit_code == 0);
  auto s = o.sign("out");
  BOOST_TEST_REQUIRE(s.exit_code == 0, s.out + s.err);

  struct Case {
    std::string name;
    std::function<void(const fs::path&)> damage;
    std::string says;
  };
  const std::vector<Case> cases{
      {"tampered certificate", [&](const fs::path& d) { edit(d / (first + ".pem"), "MII", "MIJ"); },
       first + ".pem: does not match its SHA-256"},
      {"tampered manifest",
       [&](const fs::path& d) {
         edit(d / "manifest.json", "\"validity_days\"", "\"validity_days\" ");
       },
       "is not the manifest that was signed"},
      {"tampered signed manifest",
       [&](const fs::path& d) {
         edit(d / "signed.json", "\"subject\": \"CN=E2E Root,O=Lab\"",
              "\"subject\": \"CN=E2E Root,O=Lab.\"");
       },
       "does not verify with the key of CN=E2E Root,O=Lab"},
      {"missing chain", [&](const fs::path& d) { fs::remove(d / (second + ".chain.pem")); },
       second + ".chain.pem: is missing"},
      {"missing signature", [&](const fs::path& d) { fs::remove(d / "signed.json.sig"); },
       "signed.json.sig: is missing"},
      {"extra file", [&](const fs::path& d) { write_file(d / "notes.txt", "hello"); },
       "notes.txt: is not part of the bundle"},
      {"records reordered",
       [&](const fs::path& d) {
         auto j = json::parse(read_file(d / "signed.json"));
         std::swap(j["certificates"][0], j["certificates"][1]);
         write_file(d / "signed.json", j.dump(2) + "\n");
         resign(d, o.lab.dir() / "root.key");
       },
       "lists record " + second + " where the manifest has " + first},
      {"certificates swapped",
       [&](const fs::path& d) {
         // Swapped files with their hashes fixed and signed.json signed again: each certificate
         // now answers the other record's CSR.
         const std::string a = read_file(d / (first + ".pem")),
                           b = read_file(d / (second + ".pem"));
         write_file(d / (first + ".pem"), b);
         write_file(d / (second + ".pem"), a);
         auto j = json::parse(read_file(d / "signed.json"));
         std::swap(j["certificates"][0]["certificate_sha256"],
                   j["certificates"][1]["certificate_sha256"]);
         write_file(d / "signed.json", j.dump(2) + "\n");
         resign(d, o.lab.dir() / "root.key");
       },
       "nothing from bundle"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      copy_dir(o.dir("out"), o.dir(c.name));
      c.damage(o.dir(c.name));
      auto im = o.import(c.name);
      BOOST_TEST(im.exit_code == 2);
      BOOST_TEST(im.err.find(c.says) != std::string::npos, im.err);
      o.expect_all_waiting();
    }
  }
  // Another CA's signature: the signer names its CA, and the chain reaches no trust anchor.
  auto foreign = o.import("foreign");
  BOOST_TEST(foreign.exit_code == 2);
  BOOST_TEST(foreign.err.find("was signed by CN=Other Root, not by signer vault's CA") !=
                 std::string::npos,
             foreign.err);
  o.expect_all_waiting();

  // A record that moved on (cancelled) takes nothing from the bundle, and nothing is imported.
  copy_dir(o.dir("out"), o.dir("later"));
  auto cancel = o.lab.cli("cancel", o.ids[2] + " --keep-remote");
  BOOST_TEST_REQUIRE(cancel.exit_code == 0, cancel.out + cancel.err);
  auto moved = o.import("out");
  BOOST_TEST(moved.exit_code == 2);
  BOOST_TEST(moved.err.find("is retired now: it moved on since bundle") != std::string::npos,
             moved.err);
  BOOST_TEST(o.lab.record(first)["state"] == "csrGenerated");

  // Sent out again in a new bundle: the old one is refused and names the new one.
  auto ex2 = o.export_to("out-again", "--again --json");
  BOOST_TEST_REQUIRE(ex2.exit_code == 0, ex2.out + ex2.err);
  const std::string newer = json::parse(ex2.out)["bundle_id"];
  auto old = o.import("later");
  BOOST_TEST(old.exit_code == 2);
  BOOST_TEST(old.err.find("was sent out again in bundle " + newer) != std::string::npos, old.err);
  BOOST_TEST(o.lab.record(first)["state"] == "csrGenerated");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace bundle_e2e_test

// Signers other than the local CA key file, through a whole lifecycle against the emulator:
// a record of each family signed by `openssl ca` through the command signer (the recipe in
// samples/signers/), a dry run that never runs the command, a command that answers "pending"
// keeping its record waiting without a failure, and a record of each family signed by a CA
// whose key was made in a PKCS#11 token (SoftHSM2), with a wrong PIN tried once per run.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>

#include "engine/pki/certificate.hpp"
#include "tests/graph/e2e_support.hpp"
#include "tests/support/softhsm.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace signers_e2e_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run;

namespace {

// An `openssl ca` directory around the lab's own root (its key and certificate), as
// samples/signers/README.md sets one up, and a command signer "corp" that signs with it.
void add_openssl_signer(const Lab& lab) {
  test::make_openssl_ca_dir(lab.dir() / "ca", lab.dir() / "root.pem", lab.dir() / "root.key");
  lab.configure([&](json& c) {
    c["signers"]["corp"] = {
        {"type", "command"},
        {"command",
         {std::string(PKIFLOW_SOURCE_DIR) + "/samples/signers/openssl-ca.sh",
          (lab.dir() / "ca").string(), "{csr}", "{cert}", "{chain}", "{profile}", "{days}"}},
        {"timeout_seconds", 60}};
  });
}

std::string request(const Lab& lab, const std::string& kind, const std::string& name,
                    const std::string& signer) {
  auto r =
      lab.cli("request", "--kind " + kind + " --name " + name + " --tenant lab --subject 'CN=Lab " +
                             name + ",O=Lab' --signer " + signer +
                             (kind == "gsa-tls-ca" ? "" : " --key-alg p256") + " --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  return json::parse(r.out)[0]["id"];
}

const std::vector<std::pair<std::string, std::string>> kFamilies{
    {"gsa-tls-ca", "inspect"}, {"cba-ca", "users"}, {"intune-codesigning", "apps"}};

// A record of each family (kFamilies' order) signed by `signer`.
std::vector<std::string> request_each_family(const Lab& lab, const std::string& signer) {
  std::vector<std::string> ids;
  for (const auto& [kind, name] : kFamilies)
    ids.push_back(request(lab, kind, name, signer));
  return ids;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// How many certificates `openssl ca` has issued from the lab's CA directory.
std::size_t issued_by_openssl(const Lab& lab) {
  const std::string index = read_file(lab.dir() / "ca" / "index.txt");
  return static_cast<std::size_t>(std::count(index.begin(), index.end(), '\n'));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_signers)

BOOST_AUTO_TEST_CASE(a_record_of_each_family_is_signed_by_openssl_ca_through_the_command_signer) {
  LiveEmulator live(emulator_options(), 91);
  Lab lab({live.base(), "", "secret", kSecret});
  add_openssl_signer(lab);
  auto check = lab.cli("config check");
  BOOST_TEST_REQUIRE(check.exit_code == 0, check.out + check.err);
  const auto ids = request_each_family(lab, "corp");

  // A dry run shows the signer would be asked, and runs nothing.
  auto dry = lab.cli("run", "--dry-run");
  BOOST_TEST_REQUIRE(dry.exit_code == 0, dry.out + dry.err);
  BOOST_TEST(issued_by_openssl(lab) == 0u);

  auto r = lab.cli("run");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(issued_by_openssl(lab) == 3u);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    BOOST_TEST_CONTEXT(kFamilies[i].first) {
      auto rec = lab.record(ids[i]);
      BOOST_TEST(rec["state"] == "active", rec.dump());
      const std::string pem = lab.column(ids[i], "certificate");
      auto all = pki::Certificate::decode_all(pki::Bytes(pem.begin(), pem.end()));
      BOOST_TEST_REQUIRE((all.ok() && !all->empty()), test::why(all));
      const auto* cert = &all->front();
      BOOST_TEST(cert->facts().issuer == "CN=E2E Root,O=Lab");
      // The serial openssl gave it is in its database: this CA signed it, not the lab's key.
      BOOST_TEST(read_file(lab.dir() / "ca" / "index.txt").find(cert->facts().serial_hex) !=
                     std::string::npos,
                 cert->facts().serial_hex);
    }
  }
  BOOST_TEST(live.emu().code_signing_count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_pending_answer_keeps_the_record_waiting_and_a_later_run_finishes_it) {
  LiveEmulator live(emulator_options(), 92);
  Lab lab({live.base(), "", "secret", kSecret});
  add_openssl_signer(lab);
  // A CA that holds each request for a manager's approval: pending (exit 75) until approved.
  test::write_file(lab.dir() / "approve.sh",
                   "#!/bin/sh\n"
                   "[ -f \"$APPROVALS/$1\" ] || { echo \"request for record $1 is waiting for "
                   "approval\" >&2; exit 75; }\n"
                   "shift; exec \"$@\"\n");
  ::chmod((lab.dir() / "approve.sh").c_str(), 0755);
  lab.configure([&](json& c) {
    auto cmd = c["signers"]["corp"]["command"];
    json wrapped = {(lab.dir() / "approve.sh").string(), "{record}"};
    for (const auto& a : cmd)
      wrapped.push_back(a);
    c["signers"]["corp"]["command"] = wrapped;
    c["signers"]["corp"]["environment"] = {{"APPROVALS", (lab.dir() / "approved").string()}};
  });
  test::fs::create_directories(lab.dir() / "approved");
  const std::string id = request(lab, "cba-ca", "users", "corp");

  auto first = lab.cli("run");
  BOOST_TEST_INFO(first.out + first.err);
  BOOST_TEST(first.exit_code == 0);  // waiting is no failure: tried again on the next run
  BOOST_TEST(first.out.find("1 waiting, 0 failed") != std::string::npos);
  auto rec = lab.record(id);
  BOOST_TEST(rec["state"] == "csrGenerated");
  BOOST_TEST(rec.dump().find("pending") != std::string::npos, rec.dump());
  BOOST_TEST(rec.dump().find("waiting for approval") != std::string::npos, rec.dump());
  BOOST_TEST(issued_by_openssl(lab) == 0u);

  test::write_file(lab.dir() / "approved" / id, "");
  auto second = lab.cli("run");
  BOOST_TEST_REQUIRE(second.exit_code == 0, second.out + second.err);
  BOOST_TEST(lab.record(id)["state"] == "active");
  BOOST_TEST(issued_by_openssl(lab) == 1u);
}

BOOST_AUTO_TEST_CASE(a_record_of_each_family_is_signed_by_a_ca_key_held_in_a_pkcs11_token) {
  LiveEmulator live(emulator_options(), 93);
  Lab lab({live.base(), "", "secret", kSecret});
  test::SoftHsm hsm(lab.dir() / "hsm", "lab-hsm");
  // OpenSC's pkcs11-spy between pkiflow and the token logs every call: the PIN tries counted by
  // a tool pkiflow did not write.
  const std::string spy = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so";
  ::setenv("PKCS11SPY", test::SoftHsm::kModule, 1);
  ::setenv("PKCS11SPY_OUTPUT", (lab.dir() / "spy.log").c_str(), 1);
  // The spy keeps 16 bytes it never frees: the sanitizer build's leak check is told it is not
  // pkiflow's (the processes started from here only; this one's checker has read its options).
  test::write_file(lab.dir() / "lsan.supp", "leak:pkcs11-spy.so\n");
  ::setenv("LSAN_OPTIONS", ("suppressions=" + (lab.dir() / "lsan.supp").string()).c_str(), 1);
  const std::string uri = hsm.uri("root", spy);

  // The root's key is made in the token; nothing but the certificate is written.
  auto root = test::run_cli("ca new-root --subject 'CN=HSM Root,O=Lab' --alg p384 --cert-out " +
                            quote(lab.dir() / "hsm-root.pem") + " --key " + quote(uri) + " --json");
  BOOST_TEST_REQUIRE(root.exit_code == 0, root.out + root.err);
  auto made = json::parse(root.out);
  BOOST_TEST(made["key_uri"] == uri);
  BOOST_TEST(made["key_generated"] == true);
  BOOST_TEST(hsm.tool("--list-objects --type privkey").out.find("never extractable") !=
             std::string::npos);
  test::write_file(lab.dir() / "anchors.pem",
                   read_file(lab.dir() / "root.pem") + read_file(lab.dir() / "hsm-root.pem"));
  lab.configure([&](json& c) {
    c["signers"]["hsm"] = {{"certificate", "hsm-root.pem"}, {"key", uri}};
    c["trust_anchors"] = "anchors.pem";
  });
  auto check = lab.cli("config check");
  BOOST_TEST_REQUIRE(check.exit_code == 0, check.out + check.err);

  const auto ids = request_each_family(lab, "hsm");
  // A dry run opens the key (its one test signature) but signs no certificate in the token.
  test::write_file(lab.dir() / "spy.log", "");
  auto dry = lab.cli("run", "--dry-run");
  BOOST_TEST_REQUIRE(dry.exit_code == 0, dry.out + dry.err);
  BOOST_TEST(dry.out.find("would be asked to sign") != std::string::npos, dry.out);
  const std::string dry_log = read_file(lab.dir() / "spy.log");
  BOOST_TEST(occurrences(dry_log, "C_Sign\n") == 1u, dry_log);
  auto r = lab.cli("run");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    BOOST_TEST_CONTEXT(kFamilies[i].first) {
      BOOST_TEST(lab.record(ids[i])["state"] == "active");
      const std::string pem = lab.column(ids[i], "certificate");
      test::write_file(lab.dir() / "issued.pem", pem);
      auto all = pki::Certificate::decode_all(pki::Bytes(pem.begin(), pem.end()));
      BOOST_TEST_REQUIRE((all.ok() && !all->empty()), test::why(all));
      BOOST_TEST(all->front().facts().issuer == "CN=HSM Root,O=Lab");
      BOOST_TEST(all->front().facts().signature_algorithm == "ECDSA/SHA-384");
      auto v = run("openssl verify -CAfile " + quote(lab.dir() / "hsm-root.pem") + " " +
                   quote(lab.dir() / "issued.pem"));
      BOOST_TEST(v.exit_code == 0, v.out + v.err);
    }
  }
  const std::string log = read_file(lab.dir() / "spy.log");
  BOOST_TEST(log.find("C_Sign") != std::string::npos);  // signed in the token, through the spy

  // A wrong PIN: the run says so for each record and fails; the records are left as they are
  // (the key, not the record, is at fault), and the token sees one try per run, not one per
  // record (a token that locks after a few would lock in one night).
  test::write_file(hsm.pin_file(), "000000\n");
  ::chmod(hsm.pin_file().c_str(), 0600);
  const std::string a = request(lab, "cba-ca", "second", "hsm");
  const std::string b = request(lab, "cba-ca", "third", "hsm");
  test::write_file(lab.dir() / "spy.log", "");
  auto wrong = lab.cli("run");
  BOOST_TEST_INFO(wrong.out + wrong.err);
  BOOST_TEST(wrong.exit_code != 0);
  BOOST_TEST(wrong.out.find("is wrong") != std::string::npos);
  BOOST_TEST((wrong.out + wrong.err).find("000000") == std::string::npos);
  for (const auto& id : {a, b}) {
    auto rec = lab.record(id);
    BOOST_TEST(rec["state"] == "csrGenerated", rec.dump());
    BOOST_TEST(rec["attempts"] == 0, rec.dump());
  }
  const std::string tries = read_file(lab.dir() / "spy.log");
  BOOST_TEST(occurrences(tries, "C_Login") == 1u, tries);
  // The right PIN again: the next run finishes both.
  test::write_file(hsm.pin_file(), std::string(test::SoftHsm::kPin) + "\n");
  ::chmod(hsm.pin_file().c_str(), 0600);
  auto fixed = lab.cli("run");
  BOOST_TEST_REQUIRE(fixed.exit_code == 0, fixed.out + fixed.err);
  BOOST_TEST(lab.record(a)["state"] == "active");
  BOOST_TEST(lab.record(b)["state"] == "active");
  ::unsetenv("PKCS11SPY");
  ::unsetenv("PKCS11SPY_OUTPUT");
  ::unsetenv("LSAN_OPTIONS");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace signers_e2e_test

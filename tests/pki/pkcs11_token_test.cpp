// CA keys in a PKCS#11 token (issue 13, part 3), against a real SoftHSM2 token in the test's
// temporary directory: keys made in the token are sensitive and never extractable (as OpenSC's
// pkcs11-tool sees them), a root and the certificates it signs verify with openssl, keys made by
// another tool are used as they are, and every refusal (wrong PIN, open PIN file, missing token
// or key, a label in use, a module others can write) says what is wrong.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "engine/pki/local_ca.hpp"
#include "tests/support/softhsm.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace pkcs11_token_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::SoftHsm;
using pkiflow::test::TempDir;
using pkiflow::test::write_file;

namespace {

Pkcs11Uri uri_of(const std::string& text) {
  auto u = parse_pkcs11_uri(text);
  BOOST_TEST_REQUIRE(u.ok(), test::why(u));
  return *u;
}

Certificate root_for(const PrivateKey& key, Rng& rng) {
  auto root =
      LocalCa::self_signed("CN=HSM Root,O=Lab", key, *find_profile("root-ca"),
                           {std::chrono::system_clock::now(), std::chrono::days(3650), {}}, rng);
  BOOST_TEST_REQUIRE(root.ok(), test::why(root));
  return *root;
}

Csr request(const std::string& subject, Rng& rng) {
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  CsrSpec spec;
  spec.subject = subject;
  return *Csr::build(spec, key, rng);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pkcs11_token)

BOOST_AUTO_TEST_CASE(keys_made_in_the_token_sign_a_root_and_certificates_openssl_verifies) {
  TempDir dir;
  SoftHsm hsm(dir.path());
  auto rng = Rng::system();
  const std::vector<std::pair<KeyAlgorithm, std::string>> algs{
      {KeyAlgorithm::p256, "ECDSA/SHA-256"},
      {KeyAlgorithm::p384, "ECDSA/SHA-384"},
      {KeyAlgorithm::rsa2048, "RSA/PKCS1v15(SHA-256)"}};
  for (const auto& [alg, sig] : algs) {
    const std::string label = std::string("root-") + to_string(alg);
    BOOST_TEST_CONTEXT(label) {
      auto key = PrivateKey::generate_in_token(uri_of(hsm.uri(label)), alg);
      BOOST_TEST_REQUIRE(key.ok(), test::why(key));
      BOOST_TEST(key->token_uri() == hsm.uri(label));
      // The token's own view, through a tool pkiflow did not write.
      auto objects = hsm.tool("--list-objects --type privkey --label " + label);
      BOOST_TEST_REQUIRE(objects.exit_code == 0, objects.err);
      BOOST_TEST(contains(objects.out, "never extractable"), objects.out);
      BOOST_TEST(contains(objects.out, "sensitive"), objects.out);

      const auto root = root_for(*key, rng);
      BOOST_TEST(root.facts().signature_algorithm == sig);
      BOOST_TEST(root.facts().key.spki_der == key->public_key().spki_der);
      auto ca = LocalCa::create(root, *key);
      BOOST_TEST_REQUIRE(ca.ok(), test::why(ca));
      auto issued =
          ca->sign(request("CN=Issuing " + label + ",O=Lab", rng), *find_profile("cba-ca"),
                   {std::chrono::system_clock::now(), std::chrono::days(365), {}}, rng);
      BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
      write_file(dir / "root.pem", root.pem());
      write_file(dir / "issued.pem", issued->pem());
      auto v = run("openssl verify -CAfile " + quote(dir / "root.pem") + " " +
                   quote(dir / "issued.pem"));
      BOOST_TEST(v.exit_code == 0, v.out + v.err);

      // Opened again by its URI (a new session, a new login): the same key.
      auto again = PrivateKey::open(hsm.uri(label), nullptr);
      BOOST_TEST_REQUIRE(again.ok(), test::why(again));
      BOOST_TEST(again->public_key().spki_der == key->public_key().spki_der);
      // It never leaves the token: no PEM, no file.
      BOOST_TEST(!key->save(dir / "copy.key", nullptr, rng).ok());
      BOOST_TEST(!test::fs::exists(dir / "copy.key"));
      BOOST_CHECK_THROW(key->to_pem(nullptr, rng), std::logic_error);
    }
  }
}

BOOST_AUTO_TEST_CASE(keys_another_tool_made_are_used_and_a_mismatched_pair_is_refused) {
  TempDir dir;
  SoftHsm hsm(dir.path());
  auto rng = Rng::system();
  for (const char* spec :
       {"rsa:3072 --label ext-rsa --id 01", "EC:secp384r1 --label ext-ec --id 02"}) {
    auto made = hsm.tool(std::string("--keypairgen --key-type ") + spec);
    BOOST_TEST_REQUIRE(made.exit_code == 0, made.err);
  }
  for (const char* label : {"ext-rsa", "ext-ec"}) {
    BOOST_TEST_CONTEXT(label) {
      auto key = PrivateKey::open_token(uri_of(hsm.uri(label)));
      BOOST_TEST_REQUIRE(key.ok(), test::why(key));
      write_file(dir / "root.pem", root_for(*key, rng).pem());
      auto v =
          run("openssl verify -CAfile " + quote(dir / "root.pem") + " " + quote(dir / "root.pem"));
      BOOST_TEST(v.exit_code == 0, v.out + v.err);
    }
  }
  BOOST_TEST(PrivateKey::open_token(uri_of(hsm.uri("ext-rsa"))).value().public_key().bits == 3072u);
  // The public key object beside ext-ec (CKA_ID 02) replaced by another P-384 key's: the test
  // signature pkiflow makes on opening catches it.
  auto other =
      run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 | openssl pkey "
          "-pubout -outform DER -out " +
          quote(dir / "other.der"));
  BOOST_TEST_REQUIRE(other.exit_code == 0, other.err);
  BOOST_TEST_REQUIRE(hsm.tool("--delete-object --type pubkey --id 02").exit_code == 0);
  BOOST_TEST_REQUIRE(hsm.tool("--write-object " + quote(dir / "other.der") +
                              " --type pubkey --id 02 --label ext-ec")
                         .exit_code == 0);
  auto mismatched = PrivateKey::open_token(uri_of(hsm.uri("ext-ec")));
  BOOST_TEST_REQUIRE(!mismatched.ok());
  BOOST_TEST(contains(mismatched.error().what(), "do not belong together"),
             mismatched.error().what());
}

BOOST_AUTO_TEST_CASE(a_wrong_pin_is_refused_once_and_the_token_stays_usable) {
  TempDir dir;
  SoftHsm hsm(dir.path());
  BOOST_TEST_REQUIRE(
      PrivateKey::generate_in_token(uri_of(hsm.uri("root")), KeyAlgorithm::p256).ok());
  write_file(dir / "wrong-pin", "111111\n");
  ::chmod((dir / "wrong-pin").c_str(), 0600);
  auto uri = uri_of(hsm.uri("root"));
  uri.pin_file = (dir / "wrong-pin").string();
  for (int i = 0; i < 3; ++i) {
    auto r = PrivateKey::open_token(uri);
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(r.error().kind() == ErrorKind::passphrase);
    BOOST_TEST(contains(r.error().what(), "is wrong"), r.error().what());
    BOOST_TEST(contains(r.error().what(), (dir / "wrong-pin").string()));
    BOOST_TEST(!contains(r.error().what(), "111111"));  // the PIN itself is never in a message
  }
  // Not locked: the right PIN still opens the key, and the token says nothing is locked.
  BOOST_TEST(PrivateKey::open_token(uri_of(hsm.uri("root"))).ok());
  auto slots = run(std::string("pkcs11-tool --module ") + SoftHsm::kModule + " --list-token-slots");
  BOOST_TEST(!contains(slots.out, "locked"), slots.out);
  // From an environment variable, as pin-source=env:NAME says.
  uri.pin_file.clear();
  uri.pin_env = "PKIFLOW_TEST_TOKEN_PIN";
  ::setenv("PKIFLOW_TEST_TOKEN_PIN", SoftHsm::kPin, 1);
  BOOST_TEST(PrivateKey::open_token(uri).ok());
  ::unsetenv("PKIFLOW_TEST_TOKEN_PIN");
  auto unset = PrivateKey::open_token(uri);
  BOOST_TEST_REQUIRE(!unset.ok());
  BOOST_TEST(contains(unset.error().what(), "PKIFLOW_TEST_TOKEN_PIN"), unset.error().what());
  BOOST_TEST(contains(unset.error().what(), "not set"));
}

BOOST_AUTO_TEST_CASE(each_refusal_names_what_is_wrong) {
  TempDir dir;
  SoftHsm hsm(dir.path(), "lab-token");
  BOOST_TEST_REQUIRE(
      PrivateKey::generate_in_token(uri_of(hsm.uri("root")), KeyAlgorithm::p256).ok());
  auto refused = [](const std::string& uri_text, ErrorKind kind, const std::string& says) {
    BOOST_TEST_CONTEXT(says) {
      auto r = PrivateKey::open(uri_text, nullptr);
      BOOST_TEST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().kind() == kind);
      BOOST_TEST(contains(r.error().what(), says), r.error().what());
    }
  };
  // A token that is not there (unplugged): come back later, and what is present is listed.
  std::string other = hsm.uri("root");
  other.replace(other.find("lab-token"), 9, "other-token");
  refused(other, ErrorKind::unavailable, "present: 'lab-token'");
  // A key that is not in it: the labels that are.
  refused(hsm.uri("nokey"), ErrorKind::invalid_input, "holds 'root'");
  // A PIN file others can read.
  ::chmod(hsm.pin_file().c_str(), 0644);
  refused(hsm.uri("root"), ErrorKind::invalid_input, "chmod 600");
  ::chmod(hsm.pin_file().c_str(), 0600);
  // No PIN source at all.
  std::string no_pin = hsm.uri("root");
  no_pin.resize(no_pin.find("&pin-source"));
  refused(no_pin, ErrorKind::passphrase, "pin-source=file:");
  // The module: missing, writable by others, not a module.
  refused(hsm.uri("root", (dir / "missing.so").string()), ErrorKind::io, "module not found");
  test::fs::copy_file(SoftHsm::kModule, dir / "open.so");
  ::chmod((dir / "open.so").c_str(), 0666);
  refused(hsm.uri("root", (dir / "open.so").string()), ErrorKind::invalid_input,
          "writable by group or others");
  write_file(dir / "text.so", "not a library\n");
  refused(hsm.uri("root", (dir / "text.so").string()), ErrorKind::io,
          "cannot load the PKCS#11 module");
  // A library that is no PKCS#11 module (zlib).
  test::fs::copy_file("/usr/lib/x86_64-linux-gnu/libz.so.1", dir / "zlib.so");
  refused(hsm.uri("root", (dir / "zlib.so").string()), ErrorKind::invalid_input,
          "is not a PKCS#11 module (no C_GetFunctionList)");
  // A URI that puts the PIN in plain sight never reaches the token.
  refused(hsm.uri("root") + "&pin-value=246810", ErrorKind::invalid_input, "pin-value");
  // A label in use is never replaced or shadowed by a new key.
  auto again = PrivateKey::generate_in_token(uri_of(hsm.uri("root")), KeyAlgorithm::p384);
  BOOST_TEST_REQUIRE(!again.ok());
  BOOST_TEST(contains(again.error().what(), "already holds"), again.error().what());
  auto listed = hsm.tool("--list-objects --type privkey");
  BOOST_TEST(std::count(listed.out.begin(), listed.out.end(), '\n') > 0);
  BOOST_TEST(listed.out.find("label:      root") == listed.out.rfind("label:      root"),
             listed.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace pkcs11_token_test

#include <boost/test/unit_test.hpp>
#include <set>
#include <thread>

#include "engine/pki/local_ca.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace local_ca_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::TempDir;

namespace {

struct Pki {
  Rng rng = Rng::system();
  PrivateKey root_key = PrivateKey::generate(KeyAlgorithm::p384, rng);
  TimePoint now = std::chrono::system_clock::now();
  Certificate root =
      *LocalCa::self_signed("CN=Test Root,O=Contoso,C=US", root_key, *find_profile("root-ca"),
                            {now, std::chrono::days(3650), {}}, rng);
  LocalCa ca = *LocalCa::create(root, root_key);

  Csr request(const std::string& subject, KeyAlgorithm alg = KeyAlgorithm::rsa2048) {
    auto key = PrivateKey::generate(alg, rng);
    CsrSpec spec;
    spec.subject = subject;
    return *Csr::build(spec, key, rng);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(local_ca)

BOOST_AUTO_TEST_CASE(each_profile_issues_a_certificate_openssl_accepts_for_its_purpose) {
  Pki pki;
  TempDir dir;
  pkiflow::test::write_file(dir / "root.pem", pki.root.pem());
  struct Case {
    const char* profile;
    const char* purpose;
    const char* openssl_text;  // what `openssl x509 -text` must show
  };
  for (auto c : {Case{"tls-inspection-ca", "sslserver", "TLS Web Server Authentication"},
                 Case{"cba-ca", "any", "Certificate Sign, CRL Sign"},
                 Case{"code-signing", "any", "Code Signing"}}) {
    BOOST_TEST_CONTEXT(c.profile) {
      auto cert = pki.ca.sign(
          pki.request("CN=Issued,O=Contoso"), *find_profile(c.profile),
          {pki.now, std::chrono::days(400), {"http://crl.contoso.example/root.crl"}}, pki.rng);
      BOOST_REQUIRE_MESSAGE(cert.ok(), pkiflow::test::why(cert));
      pkiflow::test::write_file(dir / "c.pem", cert->pem());
      auto v = run("openssl verify -x509_strict -purpose " + std::string(c.purpose) + " -CAfile " +
                   quote(dir / "root.pem") + " " + quote(dir / "c.pem"));
      BOOST_TEST(v.exit_code == 0, v.out + v.err);
      auto t = run("openssl x509 -noout -text -in " + quote(dir / "c.pem"));
      BOOST_TEST(t.out.find(c.openssl_text) != std::string::npos);
      BOOST_TEST(t.out.find("http://crl.contoso.example/root.crl") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(issued_extensions_follow_the_profile_not_the_request) {
  Pki pki;
  auto key = PrivateKey::generate(KeyAlgorithm::p256, pki.rng);
  CsrSpec spec;
  spec.subject = "CN=Wants To Be A CA";
  spec.is_ca = true;  // the request asks for CA:TRUE; code-signing must not grant it
  auto cert = pki.ca.sign(*Csr::build(spec, key, pki.rng), *find_profile("code-signing"),
                          {pki.now, {}, {}}, pki.rng);
  BOOST_REQUIRE(cert.ok());
  auto f = cert->facts();
  BOOST_TEST(!f.is_ca);
  BOOST_TEST(f.ext_key_usage == std::vector<std::string>{"codeSigning"});
  BOOST_TEST(f.key_usage.names() == std::vector<std::string>{"digitalSignature"});
  BOOST_TEST(f.key_usage_critical);
  BOOST_TEST(f.authority_key_id == pki.root.facts().subject_key_id);
  BOOST_TEST(!f.subject_key_id.empty());
  BOOST_TEST(f.issuer == "CN=Test Root,O=Contoso,C=US");
  BOOST_TEST(std::chrono::duration_cast<std::chrono::hours>(f.not_after - f.not_before).count() ==
             365 * 24);
}

BOOST_AUTO_TEST_CASE(serial_numbers_are_random_and_at_least_64_bits) {
  Pki pki;
  std::set<std::string> serials;
  for (int i = 0; i < 8; ++i) {
    auto f = pki.ca
                 .sign(pki.request("CN=S", KeyAlgorithm::p256), *find_profile("code-signing"),
                       {pki.now, {}, {}}, pki.rng)
                 ->facts();
    BOOST_TEST(f.serial_hex.size() >= 16u);
    serials.insert(f.serial_hex);
  }
  BOOST_TEST(serials.size() == 8u);
}

// The CA keeps one signer for all its certificates: two threads signing at once through the
// same CA (and a copy of it) each get certificates that verify under the root, with distinct
// serial numbers and signatures.
BOOST_AUTO_TEST_CASE(one_ca_signs_from_two_threads_at_once) {
  Pki pki;
  const LocalCa copy = pki.ca;
  std::vector<Csr> requests;
  for (int i = 0; i < 24; ++i)
    requests.push_back(pki.request("CN=Thread " + std::to_string(i), KeyAlgorithm::p256));
  std::vector<Result<Certificate>> issued(requests.size(),
                                          Error(ErrorKind::crypto, "", "not signed"));
  auto work = [&](const LocalCa& ca, std::size_t from) {
    Rng rng = Rng::system();
    for (std::size_t i = from; i < requests.size(); i += 2)
      issued[i] = ca.sign(requests[i], *find_profile("tls-inspection-ca"),
                          {pki.now, std::chrono::days(400), {}}, rng);
  };
  std::thread a(work, std::cref(pki.ca), 0), b(work, std::cref(copy), 1);
  a.join();
  b.join();
  TempDir dir;
  pkiflow::test::write_file(dir / "root.pem", pki.root.pem());
  std::string files;
  std::set<std::string> serials;
  for (std::size_t i = 0; i < issued.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(issued[i].ok(), pkiflow::test::why(issued[i]));
    const auto name = dir / ("c" + std::to_string(i) + ".pem");
    pkiflow::test::write_file(name, issued[i]->pem());
    files += " " + quote(name);
    serials.insert(issued[i]->facts().serial_hex);
    BOOST_TEST(issued[i]->subject() == "CN=Thread " + std::to_string(i));
  }
  BOOST_TEST(serials.size() == issued.size());
  auto v = run("openssl verify -x509_strict -CAfile " + quote(dir / "root.pem") + files);
  BOOST_TEST(v.exit_code == 0, v.out + v.err);
}

BOOST_AUTO_TEST_CASE(the_ca_refuses_what_it_must_not_sign) {
  Pki pki;
  auto profile = *find_profile("tls-inspection-ca");
  auto outlives =
      pki.ca.sign(pki.request("CN=Long"), profile, {pki.now, std::chrono::days(5000), {}}, pki.rng);
  BOOST_REQUIRE(!outlives.ok());
  BOOST_TEST(outlives.error().message().find("outlive") != std::string::npos);

  auto bad_url =
      pki.ca.sign(pki.request("CN=U"), profile, {pki.now, {}, {"file:///etc/passwd"}}, pki.rng);
  BOOST_REQUIRE(!bad_url.ok());
  BOOST_TEST(bad_url.error().message().find("not an http") != std::string::npos);

  auto other_key = PrivateKey::generate(KeyAlgorithm::p256, pki.rng);
  auto mismatch = LocalCa::create(pki.root, other_key);
  BOOST_REQUIRE(!mismatch.ok());
  BOOST_TEST(mismatch.error().message().find("does not belong") != std::string::npos);

  auto leaf = pki.ca.sign(pki.request("CN=Leaf"), *find_profile("code-signing"), {pki.now, {}, {}},
                          pki.rng);
  auto not_ca = LocalCa::create(*leaf, pki.root_key);
  BOOST_REQUIRE(!not_ca.ok());
  BOOST_TEST(not_ca.error().message().find("not a CA") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_csr_with_a_broken_signature_is_not_signed) {
  Pki pki;
  TempDir dir;
  auto r = run("cd " + quote(dir.path()) +
               " && openssl req -new -newkey rsa:2048 -nodes -keyout k.pem -subj '/CN=AAAA' "
               "-outform DER -out r.der");
  BOOST_REQUIRE(r.exit_code == 0);
  auto der = pkiflow::test::read_file(dir / "r.der");
  der[der.find("AAAA")] = 'B';
  // Botan refuses to parse a request whose self-signature fails, so it never reaches the CA.
  auto csr = Csr::decode(Bytes(der.begin(), der.end()));
  BOOST_REQUIRE(!csr.ok());
  BOOST_TEST(csr.error().message().find("self-signature") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_openssl_csr_is_signed_and_keeps_its_key_and_subject) {
  Pki pki;
  TempDir dir;
  auto r = run("cd " + quote(dir.path()) +
               " && openssl req -new -newkey rsa:3072 -nodes -keyout k.pem -subj "
               "'/O=Contoso/CN=Contoso GSA CA' -out r.pem");
  BOOST_REQUIRE(r.exit_code == 0);
  auto csr = Csr::load(dir / "r.pem");
  BOOST_REQUIRE(csr.ok());
  auto cert = pki.ca.sign(*csr, *find_profile("tls-inspection-ca"), {pki.now, {}, {}}, pki.rng);
  BOOST_REQUIRE(cert.ok());
  BOOST_TEST(cert->facts().key.spki_der == csr->public_key().spki_der);
  BOOST_TEST(cert->subject() == "CN=Contoso GSA CA,O=Contoso");
}

BOOST_AUTO_TEST_CASE(weak_keys_are_refused) {
  Pki pki;
  TempDir dir;
  auto r =
      run("cd " + quote(dir.path()) +
          " && openssl req -new -newkey rsa:1024 -nodes -keyout k.pem -subj '/CN=Weak' -out r.pem");
  BOOST_REQUIRE(r.exit_code == 0);
  auto cert = pki.ca.sign(*Csr::load(dir / "r.pem"), *find_profile("code-signing"),
                          {pki.now, {}, {}}, pki.rng);
  BOOST_REQUIRE(!cert.ok());
  BOOST_TEST(cert.error().message().find("1024") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace local_ca_test

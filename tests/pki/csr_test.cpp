#include <boost/test/unit_test.hpp>

#include "engine/pki/csr.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace csr_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::TempDir;

BOOST_AUTO_TEST_SUITE(csr)

BOOST_AUTO_TEST_CASE(a_built_csr_carries_subject_sans_and_requested_extensions) {
  auto rng = Rng::system();
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  CsrSpec spec;
  spec.subject = "CN=Contoso TLS CA,OU=Security,O=Contoso,C=US";
  spec.dns_names = {"tls.contoso.example"};
  spec.key_usage = KeyUsageSet(KeyUsageSet::keyCertSign | KeyUsageSet::cRLSign);
  spec.ext_key_usage = {"serverAuth"};
  spec.is_ca = true;
  spec.path_len = 0;
  auto csr = Csr::build(spec, key, rng);
  BOOST_REQUIRE_MESSAGE(csr.ok(), pkiflow::test::why(csr));
  const std::string pem = csr->pem();
  auto back = Csr::decode(Bytes(pem.begin(), pem.end()));
  BOOST_REQUIRE(back.ok());
  auto f = back->facts();
  BOOST_TEST(f.subject == "CN=Contoso TLS CA,OU=Security,O=Contoso,C=US");
  BOOST_TEST(f.signature_valid);
  BOOST_TEST(f.key.spki_der == key.public_key().spki_der);
  BOOST_TEST(f.dns_names == std::vector<std::string>{"tls.contoso.example"});
  BOOST_TEST((f.key_usage == spec.key_usage));
  BOOST_TEST(f.ext_key_usage == std::vector<std::string>{"serverAuth"});
  BOOST_TEST(f.is_ca.value_or(false));
  BOOST_TEST(f.path_len.value_or(99) == 0u);
}

BOOST_AUTO_TEST_CASE(openssl_reads_and_verifies_a_pkiflow_csr) {
  TempDir dir;
  auto rng = Rng::system();
  auto key = PrivateKey::generate(KeyAlgorithm::rsa2048, rng);
  CsrSpec spec;
  spec.subject = "CN=Contoso Apps,O=Contoso";
  auto csr = Csr::build(spec, key, rng);
  BOOST_REQUIRE(csr.ok());
  pkiflow::test::write_file(dir / "r.csr", csr->pem());
  auto r = run("openssl req -in " + quote(dir / "r.csr") + " -noout -verify -subject");
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST((r.out + r.err).find("verify OK") != std::string::npos);
  BOOST_TEST(r.out.find("CN = Contoso Apps") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(csrs_made_by_openssl_parse_in_pem_and_der) {
  TempDir dir;
  auto r = run(
      "cd " + quote(dir.path()) +
      " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout k.pem"
      " -subj '/C=US/O=Contoso/CN=Contoso GSA' -addext 'subjectAltName=DNS:a.example' -out r.pem"
      " && openssl req -in r.pem -outform DER -out r.der");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  for (const char* name : {"r.pem", "r.der"}) {
    auto csr = Csr::load(dir / name);
    BOOST_REQUIRE_MESSAGE(csr.ok(), pkiflow::test::why(csr));
    BOOST_TEST(csr->verify_signature());
    BOOST_TEST(csr->subject() == "CN=Contoso GSA,O=Contoso,C=US");
    BOOST_TEST(csr->public_key().bits == 384u);
    BOOST_TEST(csr->facts().dns_names == std::vector<std::string>{"a.example"});
  }
}

BOOST_AUTO_TEST_CASE(a_tampered_csr_is_refused_for_its_self_signature) {
  auto rng = Rng::system();
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  CsrSpec spec;
  spec.subject = "CN=AAAA";
  auto der = Csr::build(spec, key, rng)->der();
  // Change a byte of the subject's CN value (inside the signed part).
  const std::string needle = "AAAA";
  auto it = std::search(der.begin(), der.end(), needle.begin(), needle.end());
  BOOST_REQUIRE(it != der.end());
  *it = 'B';
  auto csr = Csr::decode(der);
  BOOST_REQUIRE(!csr.ok());
  BOOST_TEST(csr.error().message().find("self-signature does not verify") != std::string::npos,
             csr.error().message());
}

BOOST_AUTO_TEST_CASE(malformed_subjects_are_rejected_with_the_reason) {
  auto rng = Rng::system();
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  struct Case {
    const char* subject;
    const char* says;
  };
  for (auto c : {Case{"Contoso", "TYPE=value"}, Case{"CN=x,XX=y", "unknown attribute"},
                 Case{"CN=x,C=USA", "two-letter"}, Case{"CN=", "empty value"}}) {
    CsrSpec spec;
    spec.subject = c.subject;
    auto csr = Csr::build(spec, key, rng);
    BOOST_REQUIRE(!csr.ok());
    BOOST_TEST(csr.error().message().find(c.says) != std::string::npos, c.subject);
  }
}

BOOST_AUTO_TEST_CASE(escaped_commas_stay_in_the_value) {
  auto dn = parse_dn("CN=Contoso\\, Ltd,O=Contoso");
  BOOST_REQUIRE(dn.ok());
  BOOST_TEST(dn->back().value == "Contoso, Ltd");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace csr_test

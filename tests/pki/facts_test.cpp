#include <boost/test/unit_test.hpp>

#include "engine/pki/certificate.hpp"
#include "engine/pki/time_format.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace facts_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::openssl_fixtures;
using pkiflow::test::quote;
using pkiflow::test::run;

namespace {

// "SHA1 Fingerprint=AB:CD:..." -> "ABCD..."
std::string openssl_value(const std::string& cmd, const std::string& prefix) {
  auto r = run(cmd);
  auto pos = r.out.find(prefix);
  BOOST_REQUIRE_MESSAGE(pos != std::string::npos, r.out + r.err);
  std::string v = r.out.substr(pos + prefix.size());
  v = v.substr(0, v.find('\n'));
  std::string out;
  for (char c : v)
    if (c != ':' && c != ' ') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(facts)

BOOST_AUTO_TEST_CASE(thumbprints_and_key_ids_agree_with_openssl) {
  auto pem = openssl_fixtures() / "int.pem";
  auto cert = Certificate::load(pem);
  BOOST_REQUIRE(cert.ok());
  auto f = cert->facts();
  BOOST_TEST(f.sha1_thumbprint ==
             openssl_value("openssl x509 -noout -fingerprint -sha1 -in " + quote(pem), "="));
  BOOST_TEST(f.sha256_thumbprint ==
             openssl_value("openssl x509 -noout -fingerprint -sha256 -in " + quote(pem), "="));
  BOOST_TEST(
      f.subject_key_id ==
      openssl_value("openssl x509 -noout -ext subjectKeyIdentifier -in " + quote(pem), "\n    "));
  BOOST_TEST(
      f.authority_key_id ==
      openssl_value("openssl x509 -noout -ext authorityKeyIdentifier -in " + quote(pem), "\n    "));
  BOOST_TEST(f.serial_hex ==
             openssl_value("openssl x509 -noout -serial -in " + quote(pem), "serial="));
}

BOOST_AUTO_TEST_CASE(names_validity_and_constraints_are_reported) {
  auto f = Certificate::load(openssl_fixtures() / "int-pathlen0.pem")->facts();
  BOOST_TEST(f.subject == "CN=Contoso Pathlen0 CA,O=Contoso");
  BOOST_TEST(f.issuer == "CN=Contoso Test Root,O=Contoso,C=US");
  BOOST_TEST(f.is_ca);
  BOOST_TEST(f.path_len.value_or(99) == 0u);
  BOOST_TEST(!f.self_signed);
  BOOST_TEST(f.key.algorithm == "ECDSA");
  BOOST_TEST(f.key.bits == 256u);
  BOOST_TEST(f.signature_hash == "SHA-256");
  auto lifetime = std::chrono::duration_cast<std::chrono::hours>(f.not_after - f.not_before);
  BOOST_TEST(lifetime.count() == 825 * 24);
  auto root = Certificate::load(openssl_fixtures() / "root.pem")->facts();
  BOOST_TEST(root.self_signed);
}

BOOST_AUTO_TEST_CASE(bundles_load_every_certificate_and_reject_foreign_blocks) {
  auto all = Certificate::load_all(openssl_fixtures() / "chain-with-root.pem");
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 2u);
  auto empty = Certificate::load_all(openssl_fixtures() / "empty.pem");
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(empty->empty());
  auto key = Certificate::load_all(openssl_fixtures() / "root.key");
  BOOST_REQUIRE(!key.ok());
  BOOST_TEST(key.error().message().find("PRIVATE KEY") != std::string::npos);
  BOOST_TEST(key.error().subject().find("root.key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(der_and_base64_encodings_round_trip) {
  auto cert = *Certificate::load(openssl_fixtures() / "leaf.pem");
  auto again = Certificate::decode_der(cert.der());
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->same_as(cert));
  auto r = run("openssl x509 -in " + quote(openssl_fixtures() / "leaf.pem") +
               " -outform DER | base64 -w0");
  BOOST_TEST(r.out == cert.base64_der());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace facts_test

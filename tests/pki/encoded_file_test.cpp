#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "engine/pki/encoded_file.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace encoded_file_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::TempDir;

namespace {
Bytes bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
}  // namespace

BOOST_AUTO_TEST_SUITE(encoded_file)

BOOST_AUTO_TEST_CASE(pem_blocks_are_found_among_surrounding_text) {
  std::string text = "subject=CN=x\nissuer=CN=y\n" +
                     pem_encode(Bytes{0x30, 0x01, 0x00}, "CERTIFICATE") + "some note\n" +
                     pem_encode(Bytes{0x30, 0x00}, "CERTIFICATE");
  auto objects = decode_objects(bytes(text));
  BOOST_REQUIRE(objects.ok());
  BOOST_TEST(objects->size() == 2u);
  BOOST_TEST((*objects)[0].label == "CERTIFICATE");
  BOOST_TEST(((*objects)[0].der == Bytes{0x30, 0x01, 0x00}));
}

BOOST_AUTO_TEST_CASE(raw_der_is_one_unlabelled_object) {
  auto objects = decode_objects(Bytes{0x30, 0x03, 0x02, 0x01, 0x05});
  BOOST_REQUIRE(objects.ok());
  BOOST_TEST(objects->size() == 1u);
  BOOST_TEST(objects->front().label.empty());
}

BOOST_AUTO_TEST_CASE(empty_input_is_an_empty_list_not_an_error) {
  auto objects = decode_objects(bytes("  \n"));
  BOOST_REQUIRE(objects.ok());
  BOOST_TEST(objects->empty());
}

BOOST_AUTO_TEST_CASE(a_truncated_pem_block_names_the_block) {
  std::string pem = pem_encode(Bytes{0x30, 0x01, 0x00}, "CERTIFICATE");
  pem.resize(pem.size() - 20);
  auto objects = decode_objects(bytes(pem));
  BOOST_REQUIRE(!objects.ok());
  BOOST_TEST(objects.error().message().find("no matching END line") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_is_neither_pem_nor_der) {
  auto objects = decode_objects(bytes("hello world, not a certificate"));
  BOOST_REQUIRE(!objects.ok());
  BOOST_TEST(objects.error().kind() == ErrorKind::parse);
}

BOOST_AUTO_TEST_CASE(invalid_base64_inside_a_block_is_an_error) {
  auto objects =
      decode_objects(bytes("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"));
  BOOST_REQUIRE(!objects.ok());
  BOOST_TEST(objects.error().message().find("invalid base64") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(legacy_openssl_encryption_is_refused_with_a_conversion_hint) {
  auto objects = decode_objects(bytes(
      "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n"
      "-----END RSA PRIVATE KEY-----\n"));
  BOOST_REQUIRE(!objects.ok());
  BOOST_TEST(objects.error().kind() == ErrorKind::unsupported);
  BOOST_TEST(objects.error().message().find("openssl pkcs8 -topk8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(files_over_the_limit_are_refused_with_their_name) {
  TempDir dir;
  auto big = dir / "big.pem";
  pkiflow::test::write_file(big, std::string(4096, 'A'));
  auto r = read_file_bytes(big, 1024);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().subject() == big.string());
  BOOST_TEST(r.error().message().find("refusing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_files_and_directories_are_io_errors) {
  TempDir dir;
  BOOST_TEST(read_file_bytes(dir / "nope").error().kind() == ErrorKind::io);
  BOOST_TEST(read_file_bytes(dir.path()).error().message().find("directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(atomic_writes_create_the_file_with_the_requested_mode) {
  TempDir dir;
  auto p = dir / "secret.key";
  ::umask(0);
  BOOST_REQUIRE(write_file_atomic(p, "x", 0600).ok());
  ::umask(022);
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(pkiflow::test::read_file(p) == "x");
  BOOST_REQUIRE(write_file_atomic(p, "yz", 0600).ok());
  BOOST_TEST(pkiflow::test::read_file(p) == "yz");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace encoded_file_test

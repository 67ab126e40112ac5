#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <set>

#include "engine/pki/key.hpp"
#include "engine/pki/random_bytes.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace key_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::TempDir;

namespace {

constexpr std::size_t kFastIterations = 10'000;  // tests only; production uses the default

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

// The SubjectPublicKeyInfo openssl computes for a private key file.
Bytes openssl_spki(const std::filesystem::path& key, const std::string& passin = "") {
  TempDir dir;
  auto out = dir / "pub.der";
  auto r = run("openssl pkey -in " + quote(key) +
               (passin.empty() ? "" : " -passin " + quote("pass:" + passin)) +
               " -pubout -outform DER -out " + quote(out));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto s = pkiflow::test::read_file(out);
  return Bytes(s.begin(), s.end());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keys)

BOOST_AUTO_TEST_CASE(every_algorithm_generates_saves_encrypted_and_reloads) {
  TempDir dir;
  auto rng = Rng::system();
  Passphrase pass("correct horse battery staple");
  for (auto alg : {KeyAlgorithm::rsa2048, KeyAlgorithm::p256, KeyAlgorithm::p384}) {
    auto key = PrivateKey::generate(alg, rng);
    auto path = dir / (std::string(to_string(alg)) + ".key");
    BOOST_REQUIRE(key.save(path, &pass, rng, kFastIterations).ok());
    BOOST_TEST(mode_of(path) == 0600u);
    BOOST_TEST(pkiflow::test::read_file(path).find("ENCRYPTED PRIVATE KEY") != std::string::npos);
    auto back = PrivateKey::load(path, &pass);
    BOOST_REQUIRE_MESSAGE(back.ok(), pkiflow::test::why(back));
    BOOST_TEST(back->public_key().spki_der == key.public_key().spki_der);
    // openssl reads what we wrote, with the same passphrase, and derives the same public key.
    BOOST_TEST(openssl_spki(path, "correct horse battery staple") == key.public_key().spki_der);
  }
}

BOOST_AUTO_TEST_CASE(key_sizes_are_as_named) {
  auto rng = Rng::system();
  BOOST_TEST(PrivateKey::generate(KeyAlgorithm::rsa3072, rng).public_key().bits == 3072u);
  auto p384 = PrivateKey::generate(KeyAlgorithm::p384, rng).public_key();
  BOOST_TEST(p384.bits == 384u);
  BOOST_TEST(p384.curve == "secp384r1");
}

BOOST_AUTO_TEST_CASE(stored_keys_use_pbes2_aes256_with_the_default_cost) {
  TempDir dir;
  auto rng = Rng::system();
  Passphrase pass("p");
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  auto path = dir / "k.pem";
  BOOST_REQUIRE(key.save(path, &pass, rng).ok());
  auto r = run("openssl asn1parse -in " + quote(path));
  BOOST_TEST(r.out.find("PBES2") != std::string::npos);
  BOOST_TEST(r.out.find("aes-256-cbc") != std::string::npos);
  BOOST_TEST(r.out.find("hmacWithSHA256") != std::string::npos);
  BOOST_TEST(r.out.find(":0927C0") != std::string::npos);  // 600,000 iterations
}

BOOST_AUTO_TEST_CASE(a_wrong_passphrase_is_a_passphrase_error) {
  TempDir dir;
  auto rng = Rng::system();
  Passphrase right("right"), wrong("wrong");
  auto path = dir / "k.pem";
  BOOST_REQUIRE(
      PrivateKey::generate(KeyAlgorithm::p256, rng).save(path, &right, rng, kFastIterations).ok());
  auto r = PrivateKey::load(path, &wrong);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().kind() == ErrorKind::passphrase);
  BOOST_TEST(r.error().subject() == path.string());
  BOOST_TEST(r.error().message().find("wrong passphrase") != std::string::npos);
  auto none = PrivateKey::load(path, nullptr);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().message().find("PKIFLOW_PASSPHRASE") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_written_by_openssl_are_read_in_every_common_form) {
  TempDir dir;
  struct Form {
    const char* name;
    const char* command;  // writes key.pem
    const char* passin;
  };
  const Form forms[] = {
      {"PKCS#1 RSA (traditional)", "openssl genrsa -traditional -out key.pem 2048", ""},
      {"SEC1 EC", "openssl ecparam -name prime256v1 -genkey -noout -out key.pem", ""},
      {"SEC1 EC P-384 with parameters", "openssl ecparam -name secp384r1 -genkey -out key.pem", ""},
      {"PKCS#8 plain", "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem",
       ""},
      {"PKCS#8 encrypted",
       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass "
       "pass:s3cret "
       "-out key.pem",
       "s3cret"},
  };
  for (const auto& f : forms) {
    BOOST_TEST_CONTEXT(f.name) {
      auto r = run("cd " + quote(dir.path()) + " && " + f.command);
      BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      std::optional<Passphrase> pass;
      if (*f.passin) pass.emplace(f.passin);
      auto key = PrivateKey::load(dir / "key.pem", pass ? &*pass : nullptr);
      BOOST_REQUIRE_MESSAGE(key.ok(), pkiflow::test::why(key));
      BOOST_TEST(key->public_key().spki_der == openssl_spki(dir / "key.pem", f.passin));
    }
  }
}

BOOST_AUTO_TEST_CASE(corrupt_and_wrong_files_are_parse_errors_naming_the_file) {
  TempDir dir;
  pkiflow::test::write_file(dir / "garbage.pem",
                            "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n");
  auto r = PrivateKey::load(dir / "garbage.pem", nullptr);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().kind() == ErrorKind::parse);
  BOOST_TEST(r.error().what().find("garbage.pem") != std::string::npos);
  pkiflow::test::write_file(dir / "cert.pem",
                            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
  auto c = PrivateKey::load(dir / "cert.pem", nullptr);
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(c.error().message().find("CERTIFICATE") != std::string::npos);
  pkiflow::test::write_file(dir / "empty.pem", "");
  BOOST_TEST(PrivateKey::load(dir / "empty.pem", nullptr).error().message().find("empty") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_algorithm_names_list_the_valid_ones) {
  auto r = parse_key_algorithm("rsa1024");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message().find("rsa3072") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(passphrases_come_from_a_file_before_the_environment) {
  TempDir dir;
  pkiflow::test::write_file(dir / "pass", "from-file\n");
  ::setenv("PKIFLOW_TEST_PASS", "from-env", 1);
  auto f = find_passphrase(dir / "pass", "PKIFLOW_TEST_PASS");
  BOOST_REQUIRE(f.ok() && f->has_value());
  BOOST_TEST((*f)->reveal() == "from-file");
  auto e = find_passphrase(std::nullopt, "PKIFLOW_TEST_PASS");
  BOOST_TEST((*e)->reveal() == "from-env");
  ::unsetenv("PKIFLOW_TEST_PASS");
  BOOST_TEST(!find_passphrase(std::nullopt, "PKIFLOW_TEST_PASS")->has_value());
  pkiflow::test::write_file(dir / "empty", "\n");
  BOOST_TEST(find_passphrase(dir / "empty", "PKIFLOW_TEST_PASS").error().kind() ==
             ErrorKind::passphrase);
}

// The system generator reads ahead (engine/pki/rng.cpp): what it serves is still new every time,
// in any size, and a forked child never serves the bytes its parent read ahead.
BOOST_AUTO_TEST_CASE(the_system_generator_never_serves_the_same_bytes_twice_even_across_a_fork) {
  auto rng = Rng::system();
  std::set<std::vector<std::uint8_t>> seen;
  for (std::size_t n : {1u, 16u, 16u, 200u, 255u, 256u, 257u, 1000u, 16u}) {
    auto b = random_bytes(rng, n);
    BOOST_TEST(b.size() == n);
    if (n >= 16) BOOST_TEST(seen.insert(b).second);
  }
  auto forked = Rng::system();
  (void)random_bytes(forked, 1);  // the parent has read ahead: 255 bytes wait
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto b = random_bytes(forked, 32);
    const bool ok = ::write(fds[1], b.data(), b.size()) == 32;
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::vector<std::uint8_t> child(32);
  BOOST_REQUIRE(::read(fds[0], child.data(), child.size()) == 32);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  const auto parent = random_bytes(forked, 32);
  BOOST_TEST((child != parent));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace key_test

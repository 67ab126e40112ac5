// pkiflow's PathChecker must say exactly what Botan 3's PKIX::check_chain says, on every path
// of the openssl fixtures (good and broken), at several times and under two restriction sets,
// whether its caches are cold or warm.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <thread>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/detail/path_checker.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace path_checker_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::openssl_fixtures;

namespace {

Botan::X509_Certificate load(const std::string& name) {
  auto path = openssl_fixtures() / name;
  if (name.rfind("badsig-", 0) == 0 && !std::filesystem::exists(path)) {
    auto der = Certificate::load(openssl_fixtures() / name.substr(7))->der();
    der.back() ^= 0x01;
    pkiflow::test::write_file(path, pem_encode(der, "CERTIFICATE"));
  }
  return botan(*Certificate::load(path));
}

std::string show(const Botan::CertificatePathStatusCodes& s) {
  std::ostringstream out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    out << "[" << i << "]";
    for (auto c : s[i])
      out << " " << static_cast<int>(c);
  }
  return out.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(path_checker)

BOOST_AUTO_TEST_CASE(it_reports_the_same_codes_as_botan_check_chain) {
  const std::vector<std::vector<std::string>> paths = {
      {"leaf.pem", "int.pem", "root.pem"},
      {"leaf-cafalse.pem", "int-cafalse.pem", "root.pem"},
      {"leaf-pathlen.pem", "int-below.pem", "int-pathlen0.pem", "root.pem"},
      {"leaf-noku.pem", "int-noku.pem", "root.pem"},
      {"sha1.pem", "int.pem", "root.pem"},
      {"weak.pem", "int.pem", "root.pem"},
      {"badsig-leaf.pem", "int.pem", "root.pem"},
      {"wrongissuer.pem", "int.pem", "root.pem"},
      {"leaf.pem", "int.pem", "other-root.pem"},
      {"leaf.pem", "root.pem"},
      {"int.pem", "root.pem"},
      {"tlsca.pem", "root.pem"},
      {"root.pem"},
      {"int.pem"},
      {"leaf.pem"},
      {"badsig-int.pem", "root.pem"},
  };
  const char* times[] = {nullptr, "2001-01-01T00:00:00Z", "2040-01-01T00:00:00Z"};
  Botan::Path_Validation_Restrictions lenient(false, 80);
  Botan::Path_Validation_Restrictions strict(false, 110);
  for (const auto* restrictions : {&lenient, &strict}) {
    detail::PathChecker checker(*restrictions);
    for (int round = 0; round < 2; ++round) {  // cold caches, then warm
      for (const auto& names : paths) {
        std::vector<Botan::X509_Certificate> path;
        std::string label;
        for (const auto& n : names) {
          path.push_back(load(n));
          label += n + " ";
        }
        for (const char* t : times) {
          auto at = t ? *parse_rfc3339(t) : std::chrono::system_clock::now();
          auto want =
              Botan::PKIX::check_chain(path, at, "", Botan::Usage_Type::UNSPECIFIED, *restrictions);
          auto got = checker.check(path, at);
          BOOST_TEST((got == want), label << (t ? t : "now") << " round " << round << ": pkiflow "
                                          << show(got) << " / Botan " << show(want));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(each_signature_is_verified_once_per_checker) {
  Botan::Path_Validation_Restrictions r(false, 80);
  std::vector<Botan::X509_Certificate> path{load("leaf.pem"), load("int.pem"), load("root.pem")};
  auto now = std::chrono::system_clock::now();
  detail::PathChecker first(r);
  first.check(path, now);
  // The root's self-signature is remembered for the process (an earlier case may have checked
  // it already); the leaf's and the intermediate's are this checker's own.
  BOOST_TEST((first.verifications() == 2u || first.verifications() == 3u));
  detail::PathChecker checker(r);
  checker.check(path, now);
  BOOST_TEST(checker.verifications() == 2u);  // leaf and intermediate; the anchor is known
  checker.check(path, now);
  std::vector<Botan::X509_Certificate> sibling{load("leaf-revoked.pem"), load("int.pem"),
                                               load("root.pem")};
  checker.check(sibling, now);
  BOOST_TEST(checker.verifications() == 3u);  // only the sibling leaf's signature is new
}

BOOST_AUTO_TEST_CASE(a_forged_certificate_reusing_a_valid_signature_is_not_taken_from_the_memo) {
  Botan::Path_Validation_Restrictions r(false, 80);
  detail::PathChecker checker(r);
  auto now = std::chrono::system_clock::now();
  std::vector<Botan::X509_Certificate> good{load("leaf.pem"), load("int.pem"), load("root.pem")};
  BOOST_TEST(checker.check(good, now)[0].empty());
  std::vector<Botan::X509_Certificate> bad{load("badsig-leaf.pem"), load("int.pem"),
                                           load("root.pem")};
  BOOST_TEST(checker.check(bad, now)[0].count(Botan::Certificate_Status_Code::SIGNATURE_ERROR) ==
             1u);
  // Nor a root whose self-signature is broken, once the good root is remembered for the process.
  detail::PathChecker fresh(r);
  std::vector<Botan::X509_Certificate> forged_root{load("leaf.pem"), load("int.pem"),
                                                   load("badsig-root.pem")};
  BOOST_TEST(fresh.check(forged_root, now)[2].count(
                 Botan::Certificate_Status_Code::SIGNATURE_ERROR) == 1u);
}

BOOST_AUTO_TEST_CASE(the_verifier_kept_for_an_issuer_judges_each_signature_on_every_thread) {
  // Checkers of their own (no memo between them) share the process's verifier of int.pem's key:
  // on four threads at once, every good leaf verifies and every broken one is refused.
  Botan::Path_Validation_Restrictions r(false, 80);
  const std::vector<Botan::X509_Certificate> good{load("leaf.pem"), load("int.pem"),
                                                  load("root.pem")};
  const std::vector<Botan::X509_Certificate> bad{load("badsig-leaf.pem"), load("int.pem"),
                                                 load("root.pem")};
  const auto now = std::chrono::system_clock::now();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        detail::PathChecker checker(r);
        if (!checker.check(good, now)[0].empty()) ++wrong;
        if (checker.check(bad, now)[0].count(Botan::Certificate_Status_Code::SIGNATURE_ERROR) != 1)
          ++wrong;
        if (checker.verifications() != 3u) ++wrong;  // both leaves and int.pem: none on trust
      }
    });
  for (auto& t : threads)
    t.join();
  BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace path_checker_test

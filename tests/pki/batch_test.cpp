#include <boost/test/unit_test.hpp>
#include <sstream>

#include "engine/pki/validate/batch.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace batch_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::openssl_fixtures;

BOOST_AUTO_TEST_SUITE(batch)

BOOST_AUTO_TEST_CASE(every_manifest_line_gets_its_own_verdict_in_order) {
  const auto& fixtures = openssl_fixtures();  // made first: their notBefore is "now"
  std::stringstream manifest;
  manifest
      << R"({"id":"good","cert":"leaf.pem","chain":"chain.pem","trust":"root.pem"})"
      << "\n"
      << R"({"id":"noku","cert":"leaf-noku.pem","chain":"chain-noku.pem","trust":"root.pem"})"
      << "\n"
      << "\n"
      << R"({"id":"missing","cert":"nope.pem","trust":"root.pem"})"
      << "\n"
      << R"(not json)"
      << "\n"
      << R"({"id":"profile","cert":"tlsca.pem","chain":"root.pem","trust":"root.pem","profile":"tls-inspection-ca","csr":"tlsca.csr","crl":["int.crl"]})"
      << "\n";
  BatchOptions opts;
  opts.jobs = 2;
  opts.default_at = std::chrono::system_clock::now();
  std::vector<BatchOutcome> got;
  auto st =
      validate_manifest(manifest, fixtures, opts, [&](const BatchOutcome& o) { got.push_back(o); });
  BOOST_REQUIRE(st.ok());
  BOOST_REQUIRE(got.size() == 5u);
  BOOST_TEST(got[0].id == "good");
  BOOST_TEST((got[0].report->verdict() == Verdict::valid), report_text(*got[0].report));
  BOOST_TEST((got[1].report->verdict() == Verdict::invalid));
  BOOST_TEST(got[2].id == "missing");
  BOOST_TEST(got[2].line == 4u);
  BOOST_TEST(got[2].error->what().find("nope.pem") != std::string::npos);
  BOOST_TEST(got[3].error.has_value());
  BOOST_TEST(got[3].id == "5");
  BOOST_TEST((got[4].report->verdict() == Verdict::valid), report_text(*got[4].report));
}

BOOST_AUTO_TEST_CASE(parallel_results_equal_sequential_ones) {
  auto trust = std::make_shared<const TrustStore>(
      *TrustStore::load((openssl_fixtures() / "root.pem").string()));
  std::vector<ValidationRequest> reqs;
  const char* leaves[] = {"leaf.pem", "leaf-noku.pem", "leaf-cafalse.pem", "leaf-pathlen.pem",
                          "wrongissuer.pem"};
  const char* chains[] = {"chain.pem", "chain-noku.pem", "chain-cafalse.pem", "chain-pathlen.pem",
                          "chain.pem"};
  for (int round = 0; round < 8; ++round)
    for (int i = 0; i < 5; ++i)
      reqs.push_back({*Certificate::load(openssl_fixtures() / leaves[i]),
                      *Certificate::load_all(openssl_fixtures() / chains[i]),
                      trust,
                      std::nullopt,
                      nullptr,
                      {},
                      std::chrono::system_clock::now(),
                      30});
  auto one = validate_all(reqs, {}, 1);
  auto two = validate_all(reqs, {}, 2);
  BOOST_REQUIRE(one.size() == reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    BOOST_TEST((one[i].verdict() == two[i].verdict()));
    BOOST_TEST(one[i].results.size() == two[i].results.size());
    BOOST_TEST((one[i].verdict() == (i % 5 == 0 ? Verdict::valid : Verdict::invalid)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace batch_test

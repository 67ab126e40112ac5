// Path building over hostile bundles (DESIGN.md, "Path building over untrusted bundles"): many
// same-named, cross-certified CAs must cost a bounded search, never an explosion.
#include <boost/test/unit_test.hpp>

#include "engine/pki/local_ca.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/validator.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace path_building_test {

using namespace pkiflow;
using namespace pkiflow::pki;

namespace {

constexpr int kLayers = 6;
constexpr int kKeysPerLayer = 4;

struct Mesh {
  Rng rng = Rng::deterministic(7);
  TimePoint now = std::chrono::system_clock::now();
  std::vector<Certificate> bundle;
  std::optional<Certificate> root;
  std::optional<Certificate> leaf;
};

// Layer k has 4 keys sharing the name "CN=Layer k"; every key of layer k is certified by every
// key of layer k-1 (4^6 = 4096 name-valid paths). Layer `future_layer`'s certificates only
// become valid in 100 days.
Mesh build_mesh(int future_layer) {
  Mesh m;
  auto root_key = PrivateKey::generate(KeyAlgorithm::p256, m.rng);
  m.root = *LocalCa::self_signed("CN=Mesh Root", root_key, *find_profile("root-ca"),
                                 {m.now, std::chrono::days(3650), {}}, m.rng);
  std::vector<std::pair<Certificate, PrivateKey>> issuers{{*m.root, root_key}};
  for (int layer = 1; layer <= kLayers; ++layer) {
    std::vector<std::pair<Certificate, PrivateKey>> next;
    for (int k = 0; k < kKeysPerLayer; ++k) {
      auto key = PrivateKey::generate(KeyAlgorithm::p256, m.rng);
      CsrSpec spec;
      spec.subject = "CN=Layer " + std::to_string(layer);
      auto csr = *Csr::build(spec, key, m.rng);
      std::optional<Certificate> mine;
      for (auto& [cert, ikey] : issuers) {
        auto ca = *LocalCa::create(cert, ikey);
        const auto delay = std::chrono::days(layer == future_layer ? 100 : 0);
        const auto days = std::chrono::days(3000 - 10 * layer) - delay;
        auto c = *ca.sign(csr, *find_profile("root-ca"), {m.now + delay, days, {}}, m.rng);
        m.bundle.push_back(c);
        if (!mine) mine = c;
      }
      next.emplace_back(*mine, key);
    }
    issuers = std::move(next);
  }
  auto leaf_key = PrivateKey::generate(KeyAlgorithm::p256, m.rng);
  CsrSpec spec;
  spec.subject = "CN=Mesh Leaf";
  auto ca = *LocalCa::create(issuers.front().first, issuers.front().second);
  m.leaf = *ca.sign(*Csr::build(spec, leaf_key, m.rng), *find_profile("code-signing"),
                    {m.now, std::chrono::days(365), {}}, m.rng);
  return m;
}

// Validates the mesh's leaf with its bundle against `anchor`, at `at`.
ChainReport validate_mesh(const Mesh& m, const Certificate& anchor, TimePoint at,
                          ValidatorLimits limits = {}) {
  ValidationRequest req{
      *m.leaf,      m.bundle, std::make_shared<const TrustStore>(std::vector{anchor}),
      std::nullopt, nullptr,  {},
      at,           30};
  return Validator(limits).validate(req);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(path_building)

BOOST_AUTO_TEST_CASE(a_valid_path_through_a_cross_certified_mesh_is_found_at_once) {
  auto m = build_mesh(0);
  BOOST_TEST(m.bundle.size() ==
             static_cast<std::size_t>(kLayers * kKeysPerLayer * kKeysPerLayer - 12));
  auto r = validate_mesh(m, *m.root, m.now + std::chrono::hours(1));
  BOOST_TEST((r.verdict() == Verdict::valid));
  BOOST_TEST(r.path.size() == static_cast<std::size_t>(kLayers + 2));
  BOOST_TEST(r.candidates_checked == 1u);
}

BOOST_AUTO_TEST_CASE(an_untrusted_mesh_is_rejected_without_trying_every_path) {
  auto m = build_mesh(0);
  Rng rng = Rng::deterministic(9);
  auto impostor_key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  auto impostor = *LocalCa::self_signed("CN=Mesh Root", impostor_key, *find_profile("root-ca"),
                                        {m.now, std::chrono::days(3650), {}}, rng);
  auto r = validate_mesh(m, impostor, m.now + std::chrono::hours(1));
  BOOST_TEST((r.verdict() == Verdict::invalid));
  BOOST_TEST(r.find("path.build", Outcome::fail) != nullptr);
  BOOST_TEST(r.candidates_checked == 0u);  // key identifiers rule the impostor out
}

BOOST_AUTO_TEST_CASE(a_not_yet_valid_layer_is_pruned_once_per_certificate_not_per_path) {
  auto m = build_mesh(3);
  auto r = validate_mesh(m, *m.root, m.now + std::chrono::hours(1));
  BOOST_TEST((r.verdict() == Verdict::invalid));
  BOOST_TEST(r.find("path.validity", Outcome::fail) != nullptr);
  // 16 not-yet-valid layer-3 certificates, each found once; the 4096 paths are never enumerated.
  BOOST_TEST(r.candidates_checked <= 16u, report_text(r));
  BOOST_TEST(r.limits_hit.empty());
}

BOOST_AUTO_TEST_CASE(the_search_stops_at_its_limits_and_says_which) {
  auto m = build_mesh(0);
  ValidatorLimits tight;
  tight.max_depth = 4;
  auto r = validate_mesh(m, *m.root, m.now + std::chrono::hours(1), tight);
  BOOST_TEST((r.verdict() == Verdict::invalid));
  BOOST_TEST_REQUIRE(r.limits_hit.size() == 1u);
  BOOST_TEST(r.limits_hit[0].find("depth") != std::string::npos);
  BOOST_TEST(r.find("path.build", Outcome::fail)->reason.find("limit") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace path_building_test

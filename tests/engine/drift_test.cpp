// Drift as a pure decision (engine/run/drift): what an observation of a live object means, when
// a record is due to be read back, what `repair` does per family; and the lifecycle's record of
// it (a history row only when the condition changes).
#include <boost/test/unit_test.hpp>

#include "engine/run/drift.hpp"
#include "tests/support/store_fixture.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace drift_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using providers::Observation;
using state::RecordKind;

namespace {

state::Record live_record(RecordKind kind, TimePoint now) {
  state::Record r;
  r.id = "R000000000000001";
  r.kind = kind;
  r.state = state::RecordState::active;
  r.remote_id = "obj-1";
  r.thumbprint_sha1 = "AB12";
  r.not_after = now + std::chrono::hours(24 * 300);
  return r;
}

Observation in_force() {
  Observation o;
  o.in_force = true;
  o.remote_status = "active";
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(drift)

BOOST_AUTO_TEST_CASE(each_observation_is_judged_with_its_reason) {
  const TimePoint now{std::chrono::seconds(1'800'000'000)};
  struct Case {
    const char* sentence;
    RecordKind kind;
    std::function<void(Observation&, state::Record&)> edit;
    DriftCondition expected;
    const char* says;
  };
  const Case cases[] = {
      {"an object in force holding the record's certificate is no drift", RecordKind::cba_ca,
       [](Observation&, state::Record&) {}, DriftCondition::none, ""},
      {"an object that is gone outranks everything else", RecordKind::cba_ca,
       [](Observation& o, state::Record&) {
         o.gone = true;
         o.revoked = true;
       },
       DriftCondition::gone, "no longer exists"},
      {"an object holding another certificate is replaced", RecordKind::intune_codesigning,
       [](Observation& o, state::Record&) { o.holds_other = "subject \"CN=X\""; },
       DriftCondition::replaced, "not this record's certificate AB12"},
      {"the service saying revoked is revoked", RecordKind::gsa_tls_ca,
       [](Observation& o, state::Record&) {
         o.revoked = true;
         o.in_force = false;
         o.remote_status = "revoked";
       },
       DriftCondition::revoked, "\"revoked\""},
      {"the service saying expired is expired", RecordKind::gsa_tls_ca,
       [](Observation& o, state::Record&) {
         o.expired = true;
         o.remote_status = "expired";
       },
       DriftCondition::expired, "reports it expired"},
      {"a certificate past its notAfter is expired although the service says nothing",
       RecordKind::cba_ca,
       [now](Observation&, state::Record& r) { r.not_after = now - std::chrono::hours(1); },
       DriftCondition::expired, "no successor is active"},
      {"a TLS-inspection CA read as disabled was switched off", RecordKind::gsa_tls_ca,
       [](Observation& o, state::Record&) {
         o.in_force = false;
         o.remote_status = "disabled";
       },
       DriftCondition::switched_off, "one enabled certificate per tenant"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      auto r = live_record(c.kind, now);
      auto o = in_force();
      c.edit(o, r);
      const auto f = judge_drift(r, o, now);
      BOOST_TEST((f.condition == c.expected));
      BOOST_TEST(f.message.find(c.says) != std::string::npos, f.message);
      BOOST_TEST(f.message.empty() == (c.expected == DriftCondition::none));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_record_is_read_back_once_per_interval_and_after_a_configuration_change) {
  const TimePoint now{std::chrono::seconds(1'800'000'000)};
  auto r = live_record(RecordKind::cba_ca, now);
  const std::chrono::seconds day{86'400};
  BOOST_TEST(verify_due(r, day, now));  // never read back
  r.verified_at = now - std::chrono::hours(23);
  BOOST_TEST(!verify_due(r, day, now));
  BOOST_TEST(verify_due(r, day, now + std::chrono::hours(1)));
  BOOST_TEST(verify_due(r, day, now, now - std::chrono::hours(1)));     // config changed since
  BOOST_TEST(!verify_due(r, day, now, now - std::chrono::hours(24)));   // changed before it
  BOOST_TEST(!verify_due(r, std::chrono::seconds(0), now + day * 10));  // "off"
  r.state = state::RecordState::superseded;
  BOOST_TEST(!verify_due(r, day, now + day * 10));  // only active records are checked
}

BOOST_AUTO_TEST_CASE(repair_does_what_each_service_allows) {
  using A = RepairPlan::Action;
  BOOST_TEST((repair_plan(RecordKind::cba_ca, DriftCondition::gone).action == A::reupload));
  BOOST_TEST((repair_plan(RecordKind::intune_codesigning, DriftCondition::replaced).action ==
              A::reupload));
  // The service made a TLS-inspection CA's key: a lost object means a new key.
  BOOST_TEST((repair_plan(RecordKind::gsa_tls_ca, DriftCondition::gone).action == A::renew));
  BOOST_TEST(
      (repair_plan(RecordKind::gsa_tls_ca, DriftCondition::switched_off).action == A::enable));
  BOOST_TEST((repair_plan(RecordKind::cba_ca, DriftCondition::expired).action == A::renew));
  BOOST_TEST((repair_plan(RecordKind::cba_ca, DriftCondition::revoked).action == A::renew));
  BOOST_TEST((repair_plan(RecordKind::cba_ca, DriftCondition::none).action == A::nothing));
  // An Intune object being parsed again is waited for, never uploaded twice.
  BOOST_TEST((repair_plan(RecordKind::intune_codesigning, DriftCondition::switched_off).action ==
              A::nothing));
  for (auto c : {DriftCondition::none, DriftCondition::gone, DriftCondition::replaced,
                 DriftCondition::revoked, DriftCondition::expired, DriftCondition::switched_off})
    BOOST_TEST((parse_drift(to_string(c)) == c));
  BOOST_TEST(!parse_drift("melted").has_value());
}

BOOST_AUTO_TEST_CASE(a_check_writes_history_only_when_its_finding_changes) {
  pkiflow::test::StoreFixture f;
  auto id = f.planned();
  BOOST_REQUIRE(f.life.csr_generated(id, {"csr", "", "", ""}).ok());
  BOOST_REQUIRE(f.life
                    .signed_(id, {"-----BEGIN CERTIFICATE-----", "", f.clock.now(),
                                  f.clock.now() + std::chrono::hours(24 * 400), "AB", "CD"})
                    .ok());
  BOOST_REQUIRE(f.life.uploaded(id, "listed", "p/c").ok());
  BOOST_REQUIRE(f.life.activated(id, "listed").ok());
  const auto rows = [&] { return f.store->history(id).value().size(); };
  const auto start = rows();

  auto a = f.life.observed(id, "", "");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->verified_at.has_value());
  BOOST_TEST(rows() == start);  // in force, as before: only the time is kept

  f.clock.advance(std::chrono::hours(24));
  auto b = f.life.observed(id, "gone", "its remote object p/c no longer exists");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(rows() == start + 1);
  BOOST_TEST(f.store->history(id).value().back().reason.find("drift (gone)") == 0u);
  BOOST_REQUIRE(f.life.observed(id, "gone", "its remote object p/c no longer exists").ok());
  BOOST_TEST(rows() == start + 1);  // still gone: no second row

  auto c = f.life.reprovisioned(id, "p/d", "listed", "repair of drift (gone): uploaded again");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->remote_id == "p/d");
  BOOST_TEST(c->drift.empty());
  BOOST_TEST(rows() == start + 2);
  BOOST_TEST(f.life.observed(id, "", "", "updated on the service: displayName").ok());
  BOOST_TEST(rows() == start + 3);  // what the check changed is history

  // A check that left fields for the run keeps the time of the last complete check.
  const auto checked = f.store->get(id).value()->verified_at;
  f.clock.advance(std::chrono::hours(1));
  BOOST_REQUIRE(f.life.observed(id, "", "", "", /*fields_pending=*/true).ok());
  BOOST_TEST((f.store->get(id).value()->verified_at == checked));

  BOOST_REQUIRE(f.life.renew(id, engine::new_record_id(f.rng)).ok());
  auto planned = f.store->list({}).value();
  BOOST_TEST(planned.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace drift_test

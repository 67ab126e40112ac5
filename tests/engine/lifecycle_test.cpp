#include <boost/test/unit_test.hpp>
#include <set>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace lifecycle_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using pkiflow::test::TempDir;
using S = state::RecordState;

namespace {

struct Fixture : pkiflow::test::StoreFixture {
  SignedArtifacts cert() {
    return {"-----BEGIN CERTIFICATE-----",
            "",
            clock.now(),
            clock.now() + std::chrono::hours(24 * 400),
            "AB",
            "CD"};
  }
  // Brings a new record to `target` along the main line of the lifecycle.
  std::string at(S target) {
    auto id = planned();
    if (target == S::planned) return id;
    BOOST_REQUIRE(life.csr_generated(id, {"csr", "", "", ""}).ok());
    if (target == S::csrGenerated) return id;
    BOOST_REQUIRE(life.signed_(id, cert()).ok());
    if (target == S::signed_) return id;
    BOOST_REQUIRE(life.uploaded(id, "enrolling").ok());
    if (target == S::uploaded) return id;
    BOOST_REQUIRE(life.activated(id, "active").ok());
    if (target == S::active) return id;
    if (target == S::superseded) {
      auto next = new_record_id(rng);
      BOOST_REQUIRE(life.renew(id, next).ok());
      BOOST_REQUIRE(life.csr_generated(next, {"csr", "", "", ""}).ok());
      BOOST_REQUIRE(life.signed_(next, cert()).ok());
      BOOST_REQUIRE(life.uploaded(next, "").ok());
      BOOST_REQUIRE(life.activated(next, "active").ok());
      return id;
    }
    BOOST_FAIL("unsupported target");
    return id;
  }
  state::Record get(const std::string& id) { return *store->get(id).value(); }
};

// Performs the transition from -> to with the function the engine uses for it.
Result<state::Record> perform(Fixture& f, const std::string& id, S from, S to) {
  if (to == S::failed) return f.life.failed(id, "permanent: the service refused the certificate");
  if (from == S::failed && to != S::retired) return f.life.retry(id);
  switch (to) {
    case S::csrGenerated:
      return f.life.csr_generated(id, {"csr", "", "", ""});
    case S::signed_:
      return f.life.signed_(id, f.cert());
    case S::uploaded:
      return f.life.uploaded(id, "enrolling");
    case S::active:
      return f.life.activated(id, "active");
    case S::superseded:
      return Error(ErrorKind::invalid_input, id, "superseded comes with the successor");
    case S::retired:
      return (from == S::active || from == S::superseded) ? f.life.retire(id, "decommissioned")
                                                          : f.life.cancel(id);
    default:
      return Error(ErrorKind::invalid_input, id, "no such transition");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(every_legal_transition_is_applied_with_its_history_row) {
  const S all[] = {S::planned, S::csrGenerated, S::signed_, S::uploaded,
                   S::active,  S::superseded,   S::retired, S::failed};
  int checked = 0;
  for (S from : all) {
    for (S to : legal_targets(from)) {
      BOOST_TEST_CONTEXT(state::to_string(from) << " -> " << state::to_string(to)) {
        Fixture f;
        std::string id;
        if (from == S::failed) {
          // Fail from the state `to`, so that retry returns there.
          id = f.at(to == S::retired ? S::signed_ : to);
          BOOST_REQUIRE(f.life.failed(id, "boom").ok());
        } else {
          id = f.at(from);
        }
        if (from == S::active && to == S::superseded) {
          auto next = new_record_id(f.rng);
          BOOST_REQUIRE(f.life.renew(id, next).ok());
          BOOST_REQUIRE(f.life.csr_generated(next, {"csr", "", "", ""}).ok());
          BOOST_REQUIRE(f.life.signed_(next, f.cert()).ok());
          BOOST_REQUIRE(f.life.uploaded(next, "").ok());
          BOOST_REQUIRE(f.life.activated(next, "active").ok());
          BOOST_TEST(f.get(id).superseded_by == next);
        } else {
          auto r = perform(f, id, from, to);
          BOOST_REQUIRE_MESSAGE(r.ok(), pkiflow::test::why(r));
        }
        BOOST_TEST((f.get(id).state == to));
        auto h = f.store->history(id).value();
        BOOST_TEST((h.back().to == to));
        BOOST_TEST((h.back().from.value() == from));
        ++checked;
      }
    }
  }
  BOOST_TEST(checked == 21);  // 20, and planned -> signed for an imported certificate
}

// A run moves the record on the copy its last step returned, without reading it again. A copy
// the record has moved on from is refused by the store's version check, and the move is decided
// again on the stored record: a stale copy never writes back what it held.
BOOST_AUTO_TEST_CASE(a_move_on_a_held_copy_is_decided_again_when_the_record_changed) {
  Fixture f;
  auto id = f.at(S::csrGenerated);
  const state::Record held = f.get(id);
  auto signed_ = f.life.signed_(held, f.cert());
  BOOST_REQUIRE_MESSAGE(signed_.ok(), pkiflow::test::why(signed_));
  BOOST_TEST(signed_->version == held.version + 1);
  BOOST_TEST(f.get(id).version == signed_->version);

  // Changed since the copy (a failed attempt counted): the move is made on the stored record.
  const state::Record copy = *signed_;
  auto failed_once = f.life.transient_failure(id, "503 from Graph", 0.0);
  BOOST_REQUIRE(failed_once.ok());
  auto up = f.life.uploaded(copy, "enrolling");
  BOOST_REQUIRE_MESSAGE(up.ok(), pkiflow::test::why(up));
  BOOST_TEST(up->version == failed_once->version + 1);
  auto h = f.store->history(id).value();
  BOOST_TEST((h.back().from.value() == S::signed_ && h.back().to == S::uploaded));

  // Moved elsewhere since the copy: refused as the stored record's move, which is illegal.
  const state::Record uploaded = *up;
  BOOST_REQUIRE(f.life.failed(id, "permanent: the service refused the certificate").ok());
  auto active = f.life.activated(uploaded, "active");
  BOOST_REQUIRE(!active.ok());
  BOOST_TEST(active.error().message().find("illegal transition failed -> active") !=
             std::string::npos);
  BOOST_TEST((f.get(id).state == S::failed));

  // Already made by another writer since the copy: the stored record, no second history row.
  auto other = f.at(S::signed_);
  const state::Record before = f.get(other);
  auto first = f.life.uploaded(other, "enrolling");
  BOOST_REQUIRE(first.ok());
  const auto rows = f.store->history(other).value().size();
  auto again = f.life.uploaded(before, "enrolling");
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->version == first->version);
  BOOST_TEST(f.store->history(other).value().size() == rows);
}

BOOST_AUTO_TEST_CASE(illegal_transitions_are_refused_with_what_is_allowed) {
  Fixture f;
  auto id = f.at(S::uploaded);
  auto r = f.life.csr_generated(id, {"csr", "", "", ""});
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message() ==
             "illegal transition uploaded -> csrGenerated (from uploaded the record may go to: "
             "active, failed, retired)");
  BOOST_TEST((f.get(id).state == S::uploaded));
  auto planned = f.at(S::planned);
  BOOST_TEST(!f.life.uploaded(planned, "").ok());
  BOOST_TEST(!f.life.activated(planned, "").ok());
  auto active = f.at(S::active);
  BOOST_TEST(f.life.cancel(active).error().message().find("never became active") !=
             std::string::npos);
  BOOST_TEST(f.life.retry(active).error().message().find("retry applies to failed records") !=
             std::string::npos);
  auto retired = f.at(S::planned);
  BOOST_REQUIRE(f.life.cancel(retired).ok());
  BOOST_TEST(f.life.csr_generated(retired, {"csr", "", "", ""})
                 .error()
                 .message()
                 .find("none: it is final") != std::string::npos);
  BOOST_TEST(!f.life.csr_generated("NOSUCHRECORD0000", {"csr", "", "", ""}).ok());
}

BOOST_AUTO_TEST_CASE(guards_refuse_a_transition_without_its_artifacts) {
  Fixture f;
  auto id = f.at(S::planned);
  BOOST_TEST(f.life.csr_generated(id, {"", "", "", ""}).error().message() == "a CSR is required");
  auto c = f.at(S::csrGenerated);
  auto empty = f.cert();
  empty.not_after = empty.not_before;
  BOOST_TEST(f.life.signed_(c, empty).error().message().find("validity") != std::string::npos);
  BOOST_TEST((f.get(c).state == S::csrGenerated));
}

BOOST_AUTO_TEST_CASE(a_rerun_of_a_done_transition_changes_nothing) {
  Fixture f;
  auto id = f.at(S::csrGenerated);
  auto before = f.get(id);
  auto again = f.life.csr_generated(id, {"other csr", "", "", ""});
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->version == before.version);
  BOOST_TEST(f.get(id).csr_pem == "csr");
  BOOST_TEST(f.store->history(id)->size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_permanent_failure_is_retried_back_to_where_it_failed) {
  Fixture f;
  auto id = f.at(S::signed_);
  BOOST_REQUIRE(f.life.failed(id, "upload refused: certificate key does not match the CSR").ok());
  auto failed = f.get(id);
  BOOST_TEST((failed.failed_from.value() == S::signed_));
  BOOST_TEST(failed.last_error.find("does not match") != std::string::npos);
  auto back = f.life.retry(id);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back->state == S::signed_));
  BOOST_TEST(back->last_error.empty());
  BOOST_TEST((back->next_attempt_at.value() == f.clock.now()));
}

BOOST_AUTO_TEST_CASE(transient_failures_keep_the_state_and_back_off) {
  Fixture f;
  auto id = f.at(S::signed_);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto r = f.life.transient_failure(id, "503 from Graph", 0.0);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST((r->state == S::signed_));
    BOOST_TEST(r->attempts == attempt);
    auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(*r->next_attempt_at - f.clock.now());
    BOOST_TEST(wait.count() == 30 * (1 << (attempt - 1)));  // base 60 s, jitter factor 0.5
  }
  auto hist = f.store->history(id).value();
  BOOST_TEST(hist.back().reason == "transient failure (attempt 3): 503 from Graph");
  BOOST_REQUIRE(f.life.uploaded(id, "enrolling").ok());
  BOOST_TEST(f.get(id).attempts == 0);  // progress resets the count
}

BOOST_AUTO_TEST_CASE(backoff_doubles_with_jitter_up_to_its_cap) {
  BackoffPolicy p{std::chrono::seconds(60), std::chrono::hours(6)};
  struct Case {
    int attempts;
    double jitter;
    long seconds;
  };
  for (auto c :
       {Case{1, 0.0, 30}, Case{1, 0.5, 45}, Case{2, 0.0, 60}, Case{5, 0.0, 480},
        Case{30, 0.0, 10800}, Case{30, 0.999, 21589}, Case{0, 0.0, 30}, Case{1000, 0.0, 10800}})
    BOOST_TEST(backoff_delay(c.attempts, c.jitter, p).count() == c.seconds,
               "attempts " << c.attempts << " jitter " << c.jitter);
}

BOOST_AUTO_TEST_CASE(a_renewal_supersedes_its_predecessor_when_it_becomes_active) {
  Fixture f;
  auto old_id = f.at(S::active);
  auto new_id = new_record_id(f.rng);
  auto succ = f.life.renew(old_id, new_id);
  BOOST_REQUIRE(succ.ok());
  BOOST_TEST(succ->renews == old_id);
  BOOST_TEST(
      f.life.renew(old_id, new_record_id(f.rng)).error().message().find("already being renewed") !=
      std::string::npos);
  BOOST_REQUIRE(f.life.csr_generated(new_id, {"csr", "", "", ""}).ok());
  BOOST_REQUIRE(f.life.signed_(new_id, f.cert()).ok());
  BOOST_REQUIRE(f.life.uploaded(new_id, "").ok());
  BOOST_TEST((f.get(old_id).state == S::active));  // the old one stays active until then
  BOOST_REQUIRE(f.life.activated(new_id, "active").ok());
  BOOST_TEST((f.get(old_id).state == S::superseded));
  BOOST_TEST(f.get(old_id).superseded_by == new_id);
  BOOST_REQUIRE(f.life.retire(old_id, "successor active for a week").ok());
  BOOST_TEST((f.get(old_id).state == S::retired));
}

BOOST_AUTO_TEST_CASE(record_ids_are_printable_and_distinct) {
  auto rng = pki::Rng::system();
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_record_id(rng);
    BOOST_TEST(is_record_id(id), id);
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == 1000u);
  BOOST_TEST(!is_record_id("0123456789ABCDEI"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace lifecycle_test

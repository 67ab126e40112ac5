// Leases that die with their run (issue 10): who owns a lease, when an owner is certainly dead,
// and the lease keeper over the SQLite store (claim, take over, heartbeat, a lease taken away,
// release), with a fake clock.
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "engine/run/lease_keeper.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace leases_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using pkiflow::test::TempDir;
using S = state::RecordState;

namespace {

struct Fixture : pkiflow::test::StoreFixture {
  std::vector<std::string> due() {
    std::vector<std::string> ids;
    for (const auto& r : store->list({}).value())
      ids.push_back(r.id);
    return ids;
  }
};

const std::vector<S> kStates{S::planned};

}  // namespace

BOOST_AUTO_TEST_SUITE(leases)

BOOST_AUTO_TEST_CASE(an_owner_names_host_pid_and_start_time_and_round_trips) {
  auto me = RunOwner::current("RUN1");
  BOOST_TEST(me.pid == static_cast<long>(::getpid()));
  BOOST_TEST(me.start_ticks > 0u);
  auto back = RunOwner::parse(me.str());
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST(back->host == me.host);
  BOOST_TEST(back->start_ticks == me.start_ticks);
  BOOST_TEST(back->run_id == "RUN1");
  BOOST_TEST(!RunOwner::parse("run-ABC").has_value());  // an older version's owner string
}

BOOST_AUTO_TEST_CASE(only_an_owner_of_this_host_that_no_longer_runs_is_dead) {
  auto me = RunOwner::current("RUN1");
  BOOST_TEST(!owner_is_dead(me));
  auto reused = me;
  reused.start_ticks += 1;  // the same pid, another process
  BOOST_TEST(owner_is_dead(reused));
  auto gone = me;
  gone.pid = 4'000'000;  // above any pid_max
  BOOST_TEST(owner_is_dead(gone));
  auto elsewhere = gone;
  elsewhere.host = "another-host.example";
  BOOST_TEST(!owner_is_dead(elsewhere));  // trusted until its lease expires
  BOOST_TEST(!owner_is_dead("run-ABC"));  // unparsable: never declared dead
}

BOOST_AUTO_TEST_CASE(a_dead_runs_leases_are_taken_over_and_a_live_ones_are_reported) {
  Fixture f;
  const auto a = f.planned(), b = f.planned();
  auto dead = RunOwner::current("DEAD");
  dead.start_ticks += 1;
  const auto live = RunOwner{"another-host.example", 42, 7, "LIVE"};
  const auto until = f.clock.now() + std::chrono::minutes(10);
  BOOST_REQUIRE(f.store->claim_due(dead.str(), f.clock.now(), until, kStates, 1).ok());
  BOOST_REQUIRE(f.store->claim_due(live.str(), f.clock.now(), until, kStates, 1).ok());
  LeaseKeeper keeper(*f.store, f.clock, RunOwner::current("ME"), std::chrono::seconds(120));
  auto c = keeper.claim(f.due());
  BOOST_TEST_REQUIRE(c.ok(), pkiflow::test::why(c));
  BOOST_TEST(c->taken_over == 1u);
  BOOST_TEST_REQUIRE(c->records.size() == 1u);
  BOOST_TEST_REQUIRE(c->held.size() == 1u);
  BOOST_TEST(c->held[0].owner == live.str());
  BOOST_TEST((c->held[0].until == until));
  BOOST_TEST((c->records[0].id == a || c->records[0].id == b));
}

BOOST_AUTO_TEST_CASE(the_heartbeat_renews_and_gives_up_a_lease_another_run_took) {
  Fixture f;
  const auto a = f.planned(), b = f.planned();
  LeaseKeeper keeper(*f.store, f.clock, RunOwner::current("ME"), std::chrono::seconds(120));
  BOOST_REQUIRE(keeper.claim(f.due()).ok());
  // Time passes beyond the first lease; the heartbeat kept both.
  f.clock.advance(std::chrono::seconds(100));
  BOOST_TEST(keeper.heartbeat().empty());
  f.clock.advance(std::chrono::seconds(100));
  BOOST_TEST(keeper.holds(a));
  BOOST_TEST(keeper.holds(b));
  // Another run takes b (its lease is forced here): the next beat gives it up, for good.
  auto thief = RunOwner{"another-host.example", 1, 1, "THIEF"}.str();
  f.clock.advance(std::chrono::seconds(121));
  BOOST_REQUIRE(
      f.store->claim_due(thief, f.clock.now(), f.clock.now() + std::chrono::minutes(5), kStates, 0)
          .ok());
  auto lost = keeper.heartbeat();
  BOOST_TEST(lost.size() == 2u);  // both had lapsed: a run that slept past its lease stops
  BOOST_TEST(!keeper.holds(b));
  keeper.release();
  BOOST_TEST(f.store->lease_owner(b, f.clock.now()).value().value_or("") == thief);
}

BOOST_AUTO_TEST_CASE(a_held_lease_is_read_from_the_store_at_most_once_a_second) {
  Fixture f;
  const auto a = f.planned(), b = f.planned();
  LeaseKeeper keeper(*f.store, f.clock, RunOwner::current("ME"), std::chrono::seconds(120));
  BOOST_REQUIRE(keeper.claim(f.due()).ok());
  // Gone from the store behind the keeper's back (an operator's edit; no run takes a live
  // lease): within a second of the claim the keeper does not ask...
  BOOST_REQUIRE(f.store->release(keeper.owner(), {a}).ok());
  f.clock.advance(std::chrono::milliseconds(900));
  BOOST_TEST(keeper.holds(a));
  // ...after it, it does, and believes what it reads.
  f.clock.advance(std::chrono::milliseconds(200));
  BOOST_TEST(!keeper.holds(a));
  BOOST_TEST(!keeper.holds(a));
  // Past half of the lease, every question is read, however recent the last one.
  f.clock.advance(std::chrono::seconds(61));
  BOOST_TEST(keeper.holds(b));
  BOOST_REQUIRE(f.store->release(keeper.owner(), {b}).ok());
  f.clock.advance(std::chrono::milliseconds(100));
  BOOST_TEST(!keeper.holds(b));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace leases_test

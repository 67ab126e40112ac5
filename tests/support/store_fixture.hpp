// A state store in a temporary directory with a fake clock and a lifecycle over it, for the
// engine's unit tests.
#pragma once

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/test_support.hpp"

namespace pkiflow::test {

struct StoreFixture {
  TempDir dir;
  std::unique_ptr<state::SqliteStore> store =
      std::move(*state::SqliteStore::open((dir / "s.db").string()));
  engine::FakeClock clock{engine::TimePoint(std::chrono::seconds(1'800'000'000))};
  engine::Lifecycle life{*store, clock, "test"};
  pki::Rng rng = pki::Rng::deterministic(1);

  // A new CBA record in `planned`.
  std::string planned() {
    auto id = engine::new_record_id(rng);
    auto r = life.plan({id, state::RecordKind::cba_ca, "ca", "tenant", "{}", ""}, "requested");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return id;
  }
};

}  // namespace pkiflow::test

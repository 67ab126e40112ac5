// Group sync (engine/run/durability.hpp): steps waiting at the same time share a sync, each
// resumes only after a sync that started after it asked, a failed sync reaches every step that
// waited for it, and no sync function means no wait. Also the SQLite store's side of it: a
// sync from another thread while the store is in use, and nothing lost across a reopen.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/lifecycle.hpp"
#include "engine/run/durability.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace durability_test {

using namespace pkiflow;
using namespace pkiflow::engine;
namespace net = boost::asio;

namespace {

// A sync that takes `ms` and counts: how many began, how many ended.
struct CountingSync {
  std::atomic<int> began{0}, ended{0};
  int ms = 20;
  bool fail = false;
  std::atomic<bool>* hold = nullptr;  // the first sync waits until this is set (at most 5 s)
  std::function<Status()> fn() {
    return [this]() -> Status {
      if (++began == 1 && hold)
        for (int i = 0; i < 500 && !hold->load(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ++ended;
      if (fail) return Error(ErrorKind::io, "state.db-wal", "cannot sync: Input/output error");
      return Ok{};
    };
  }
};

struct Waited {
  int began_before = 0;  // syncs begun when the step asked
  int ended_after = 0;   // syncs ended when it resumed
  bool ok = false;
  std::string error;
};

// `n` steps ask at once; returns what each saw.
std::vector<Waited> wait_together(DurabilityBarrier& b, CountingSync& sync, net::io_context& ioc,
                                  int n) {
  std::vector<Waited> out(static_cast<std::size_t>(n));
  for (auto& w : out)
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          w.began_before = sync.began.load();
          auto st = co_await b.wait();
          w.ended_after = sync.ended.load();
          w.ok = st.ok();
          if (!st) w.error = st.error().what();
        },
        net::detached);
  ioc.run();
  ioc.restart();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(durability)

BOOST_AUTO_TEST_CASE(steps_waiting_together_share_a_sync_that_began_after_they_asked) {
  net::io_context ioc;
  CountingSync sync;
  DurabilityBarrier b(ioc.get_executor(), sync.fn());
  auto seen = wait_together(b, sync, ioc, 64);
  for (const auto& w : seen) {
    BOOST_TEST(w.ok);
    BOOST_TEST(w.ended_after >= w.began_before + 1);  // a sync begun after the ask had ended
  }
  // 64 steps: one sync began at the first ask and covers it; the others wait for the next.
  BOOST_TEST(sync.ended.load() <= 2);
  BOOST_TEST(b.syncs() == static_cast<std::uint64_t>(sync.ended.load()));
}

BOOST_AUTO_TEST_CASE(a_step_that_asks_during_a_sync_waits_for_the_next_one) {
  net::io_context ioc;
  CountingSync sync;
  std::atomic<bool> asked{false};
  sync.hold = &asked;  // the first sync runs until the second step has asked
  DurabilityBarrier b(ioc.get_executor(), sync.fn());
  int second_saw_ended = -1, first_saw_ended = -1;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        (void)co_await b.wait();
        first_saw_ended = sync.ended.load();
      },
      net::detached);
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        // Asks once the first sync is under way: its write may be after that sync's start.
        while (sync.began.load() == 0) {
          net::steady_timer t(ioc, std::chrono::milliseconds(1));
          co_await t.async_wait(net::use_awaitable);
        }
        BOOST_TEST(sync.ended.load() == 0);
        asked = true;
        (void)co_await b.wait();
        second_saw_ended = sync.ended.load();
      },
      net::detached);
  ioc.run();
  BOOST_TEST(first_saw_ended >= 1);
  BOOST_TEST(second_saw_ended == 2);
  BOOST_TEST(sync.began.load() == 2);
}

BOOST_AUTO_TEST_CASE(a_failed_sync_fails_every_step_that_waited_for_it) {
  net::io_context ioc;
  CountingSync sync;
  sync.fail = true;
  DurabilityBarrier b(ioc.get_executor(), sync.fn());
  for (const auto& w : wait_together(b, sync, ioc, 8)) {
    BOOST_TEST(!w.ok);
    BOOST_TEST(w.error.find("Input/output error") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(without_a_sync_function_a_step_does_not_wait) {
  net::io_context ioc;
  DurabilityBarrier b(ioc.get_executor(), nullptr);
  bool done = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        BOOST_TEST((co_await b.wait()).ok());
        done = true;
      },
      net::detached);
  ioc.run_one();  // the coroutine's first run completes it: nothing was posted elsewhere
  BOOST_TEST(done);
  BOOST_TEST(b.syncs() == 0u);
}

BOOST_AUTO_TEST_CASE(a_deferred_sqlite_store_syncs_on_demand_and_is_full_again_after) {
  pkiflow::test::TempDir dir;
  const std::string path = (dir.path() / "state.db").string();
  std::string id;
  {
    auto store = state::SqliteStore::open(path);
    BOOST_REQUIRE(store.ok());
    auto sync = (*store)->defer_sync();
    BOOST_REQUIRE(sync);
    SystemClock clock;
    Lifecycle life(**store, clock, "test");
    auto r = life.plan({"01DEFERREDSYNC0000000000", state::RecordKind::cba_ca, "ca", "contoso",
                        R"({"subject":"CN=Deferred"})", ""},
                       "test");
    BOOST_TEST_REQUIRE(r.ok(), pkiflow::test::why(r));
    id = r->id;
    BOOST_TEST(sync().ok());  // from another thread, while the store is open
    std::thread t([&] { BOOST_TEST(sync().ok()); });
    t.join();
    BOOST_TEST((*store)->end_deferred_sync().ok());
  }
  auto again = state::SqliteStore::open(path);
  BOOST_REQUIRE(again.ok());
  auto got = (*again)->get(id);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(got->has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace durability_test

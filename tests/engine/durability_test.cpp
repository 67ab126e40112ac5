// Group sync (engine/run/durability.hpp): steps waiting at the same time share a sync, each
// resumes only after a sync that started after it asked, a failed sync reaches every step that
// waited for it, and no sync function means no wait; the commit comes first, on the I/O thread.
// Also the SQLite store's side of it: a sync from another thread while the store is in use,
// nothing committed lost across a reopen, and the group's writes seen by no other connection
// until their commit, a failed one undone alone.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <sqlite3.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A SQLite store in a temporary directory with a Lifecycle on it, and journal entries for it.
std::unique_ptr<state::SqliteStore> open_store(const std::string& path) {
  auto store = state::SqliteStore::open(path);
  BOOST_REQUIRE(store.ok());
  return std::move(*store);
}

struct StoreInDir {
  pkiflow::test::TempDir dir;
  std::string path = (dir.path() / "state.db").string();
  std::unique_ptr<state::SqliteStore> store = open_store(path);
  FakeClock clock{TimePoint(std::chrono::seconds(1'800'000'000))};
  Lifecycle life{*store, clock, "test"};
  // A create request of `record_id`, sent.
  state::Operation sent(const std::string& op_id, const std::string& record_id) const {
    state::Operation op;
    op.op_id = op_id;
    op.record_id = record_id;
    op.action = "create";
    op.request_summary = "POST https://graph.test/beta/x";
    op.state = state::OperationState::sent;
    op.created_at = op.updated_at = clock.now();
    return op;
  }
};

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

BOOST_AUTO_TEST_CASE(a_linger_lets_steps_that_ask_soon_after_share_the_first_sync) {
  net::io_context ioc;
  CountingSync sync;
  sync.ms = 1;
  DurabilityBarrier b(ioc.get_executor(), sync.fn(), nullptr, std::chrono::milliseconds(200));
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  clock::duration first_waited{}, second_waited{};
  int began_when_second_asked = -1;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        BOOST_TEST((co_await b.wait()).ok());
        first_waited = clock::now() - t0;
      },
      net::detached);
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        net::steady_timer t(ioc, std::chrono::milliseconds(50));
        co_await t.async_wait(net::use_awaitable);
        began_when_second_asked = sync.began.load();
        const auto asked = clock::now();
        BOOST_TEST((co_await b.wait()).ok());
        second_waited = clock::now() - asked;
      },
      net::detached);
  ioc.run();
  BOOST_TEST(began_when_second_asked == 0);  // the first step's sync had not begun yet
  BOOST_TEST(sync.began.load() == 1);        // one sync for both
  BOOST_TEST(b.syncs() == 1u);
  BOOST_TEST(first_waited >= std::chrono::milliseconds(200), "the first step waited the linger");
  BOOST_TEST(second_waited < first_waited);
}

BOOST_AUTO_TEST_CASE(a_barrier_ended_while_it_lingers_runs_no_sync) {
  net::io_context ioc;
  CountingSync sync;
  {
    DurabilityBarrier b(ioc.get_executor(), sync.fn(), nullptr, std::chrono::milliseconds(50));
    net::co_spawn(
        ioc, [&]() -> net::awaitable<void> { (void)co_await b.wait(); }, net::detached);
    ioc.run_for(std::chrono::milliseconds(10));  // the step waits in the linger
  }
  // The linger's completion finds the barrier gone. (The step itself never resumes: a run ends
  // its barrier only once no step waits.)
  ioc.run_for(std::chrono::milliseconds(100));
  BOOST_TEST(sync.began.load() == 0);
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
    auto group = (*store)->defer_sync();
    BOOST_REQUIRE(group);
    SystemClock clock;
    Lifecycle life(**store, clock, "test");
    auto r = life.plan({"01DEFERREDSYNC0000000000", state::RecordKind::cba_ca, "ca", "contoso",
                        R"({"subject":"CN=Deferred"})", ""},
                       "test");
    BOOST_TEST_REQUIRE(r.ok(), pkiflow::test::why(r));
    id = r->id;
    BOOST_TEST(group->commit().ok());
    BOOST_TEST(group->sync().ok());  // from another thread, while the store is open
    std::thread t([&] { BOOST_TEST(group->sync().ok()); });
    t.join();
    BOOST_TEST((*store)->end_deferred_sync().ok());
  }
  auto again = state::SqliteStore::open(path);
  BOOST_REQUIRE(again.ok());
  auto got = (*again)->get(id);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(got->has_value());
}

// The writes of a group wait in one transaction: another connection sees none of them and
// cannot write until the group commits; a write that fails inside the group is undone alone;
// what was never committed is gone after a crash (the store reopened without a commit).
BOOST_AUTO_TEST_CASE(a_group_commits_its_writes_together_and_undoes_a_failed_one_alone) {
  StoreInDir s;
  auto plan = [&](const std::string& id) {
    auto r = s.life.plan({id, state::RecordKind::cba_ca, "ca", "contoso", "{}", ""}, "test");
    BOOST_TEST_REQUIRE(r.ok(), pkiflow::test::why(r));
    return *r;
  };
  const auto first = plan("01GROUPFIRST000000000000");
  auto group = s.store->defer_sync();
  BOOST_REQUIRE(group);

  // Two writes in the group, and a third that conflicts (an old version): refused alone.
  const auto second = plan("01GROUPSECOND00000000000");
  const auto op = s.sent("01GROUPOP000000000000000", first.id);
  BOOST_TEST_REQUIRE(s.store->journal_begin(op).ok());
  state::Record stale = first;
  stale.version = 7;
  stale.last_error = "never written";
  auto conflict = s.store->apply({{stale, std::nullopt}});
  BOOST_TEST_REQUIRE(!conflict.ok());
  BOOST_TEST(conflict.error().what().find(state::kVersionConflict) != std::string::npos);
  // The same connection reads its own group.
  auto mine = s.store->get(second.id);
  BOOST_TEST_REQUIRE(mine.ok());
  BOOST_TEST(mine->has_value());

  // Another connection (another process) sees none of it and cannot write meanwhile.
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open(s.path.c_str(), &other) == SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(other, sql, -1, &st, nullptr) == SQLITE_OK);
    BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  BOOST_TEST(count("SELECT count(*) FROM records") == 1);
  BOOST_TEST(count("SELECT count(*) FROM journal") == 0);
  BOOST_TEST(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_BUSY);

  BOOST_TEST(group->commit().ok());
  BOOST_TEST(group->sync().ok());
  BOOST_TEST(count("SELECT count(*) FROM records") == 2);
  BOOST_TEST(count("SELECT count(*) FROM journal") == 1);
  BOOST_TEST(count("SELECT count(*) FROM records WHERE last_error = 'never written'") == 0);
  BOOST_TEST(count("SELECT version FROM records WHERE id = '01GROUPFIRST000000000000'") == 1);
  BOOST_TEST(sqlite3_exec(other, "BEGIN IMMEDIATE; ROLLBACK", nullptr, nullptr, nullptr) ==
             SQLITE_OK);  // the lock is free again

  // A write after the last commit, then the process dies (the store closed uncommitted).
  plan("01GROUPLOST0000000000000");
  BOOST_TEST(count("SELECT count(*) FROM records") == 2);
  s.store.reset();
  BOOST_TEST(count("SELECT count(*) FROM records") == 2);
  sqlite3_close(other);
  auto again = state::SqliteStore::open(s.path);
  BOOST_REQUIRE(again.ok());
  auto lost = (*again)->get("01GROUPLOST0000000000000");
  BOOST_REQUIRE(lost.ok());
  BOOST_TEST(!lost->has_value());
  auto kept = (*again)->get(second.id);
  BOOST_REQUIRE(kept.ok());
  BOOST_TEST(kept->has_value());
  auto integrity = (*again)->integrity_ok();
  BOOST_TEST((integrity.ok() && *integrity));
}

// A journal write is one statement and takes no savepoint in a group: one that is refused (a
// second entry with the same op_id, an update of an operation that does not exist) changes
// nothing, and the group's other writes, before and after it, are committed together.
BOOST_AUTO_TEST_CASE(a_refused_single_statement_write_in_a_group_leaves_the_others) {
  StoreInDir s;
  auto r = s.life.plan(
      {"01SINGLEREC0000000000000", state::RecordKind::cba_ca, "ca", "contoso", "{}", ""}, "test");
  BOOST_TEST_REQUIRE(r.ok(), pkiflow::test::why(r));
  auto group = s.store->defer_sync();
  BOOST_REQUIRE(group);

  const auto op = s.sent("01SINGLEOP00000000000000", r->id);
  BOOST_TEST_REQUIRE(s.store->journal_begin(op).ok());
  state::Operation twice = op;
  twice.request_summary = "never written";
  BOOST_TEST(!s.store->journal_begin(twice).ok());
  auto unknown = s.store->journal_update("01NOSUCHOP00000000000000", state::OperationState::done,
                                         "201", s.clock.now());
  BOOST_TEST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.error().what().find("no such operation") != std::string::npos);
  BOOST_TEST(
      s.store->journal_update(op.op_id, state::OperationState::done, "201", s.clock.now()).ok());
  BOOST_TEST(group->commit().ok());
  BOOST_TEST(group->sync().ok());

  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open(s.path.c_str(), &other) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(other,
                                   "SELECT count(*), max(state), max(request_summary), "
                                   "max(response_summary) FROM journal",
                                   -1, &st, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int(st, 0) == 1);
  auto text = [&](int i) {
    const auto* t = sqlite3_column_text(st, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  BOOST_TEST(text(1) == "done");
  BOOST_TEST(text(2) == op.request_summary);
  BOOST_TEST(text(3) == "201");
  sqlite3_finalize(st);
  sqlite3_close(other);
}

// The barrier commits on the I/O thread before its sync starts; flush() commits without a sync,
// and a flush that failed fails the next sync's waiters (it may have held their journal entry).
BOOST_AUTO_TEST_CASE(the_barrier_commits_before_it_syncs_and_flush_only_commits) {
  net::io_context ioc;
  std::vector<std::string> calls;
  std::mutex m;
  auto note = [&](const char* what) {
    std::lock_guard lock(m);
    calls.emplace_back(what);
  };
  const auto io_thread = std::this_thread::get_id();
  bool commit_on_io = true;
  bool fail_commit = false;
  DurabilityBarrier b(
      ioc.get_executor(),
      [&]() -> Status {
        note("sync");
        return Ok{};
      },
      [&]() -> Status {
        commit_on_io = commit_on_io && std::this_thread::get_id() == io_thread;
        note("commit");
        if (fail_commit) return Error(ErrorKind::io, "state.db", "COMMIT: SQLite: disk full");
        return Ok{};
      });
  auto wait_once = [&] {
    Status seen = Ok{};
    bool waited = false;
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          seen = co_await b.wait();
          waited = true;
        },
        net::detached);
    ioc.restart();
    ioc.run();
    BOOST_TEST(waited);
    return seen;
  };
  BOOST_TEST(wait_once().ok());
  BOOST_TEST(commit_on_io);
  BOOST_TEST_REQUIRE(calls.size() == 2u);
  BOOST_TEST(calls[0] == "commit");
  BOOST_TEST(calls[1] == "sync");
  b.flush();
  BOOST_TEST_REQUIRE(calls.size() == 3u);
  BOOST_TEST(calls[2] == "commit");
  BOOST_TEST(b.syncs() == 1u);

  fail_commit = true;
  b.flush();  // fails: the next waiter hears of it even though its own commit succeeds
  fail_commit = false;
  auto after = wait_once();
  BOOST_TEST_REQUIRE(!after.ok());
  BOOST_TEST(after.error().what().find("disk full") != std::string::npos);
  BOOST_TEST(wait_once().ok());  // said once
}

// A commit that fails reaches the steps waiting, and no sync runs for it.
BOOST_AUTO_TEST_CASE(a_failed_commit_fails_the_steps_waiting_without_a_sync) {
  net::io_context ioc;
  CountingSync sync;
  DurabilityBarrier b(ioc.get_executor(), sync.fn(), [] {
    return Status(Error(ErrorKind::io, "state.db", "COMMIT: SQLite: disk I/O error"));
  });
  for (const auto& w : wait_together(b, sync, ioc, 4)) {
    BOOST_TEST(!w.ok);
    BOOST_TEST(w.error.find("disk I/O error") != std::string::npos);
  }
  BOOST_TEST(sync.began.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace durability_test

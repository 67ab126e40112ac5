// The state store across processes: a worker killed with SIGKILL at random moments, 200 times,
// must leave a consistent store; two workers racing for the same records must each record be
// worked by exactly one of them. Both on every backend: a SQLite file, and a PostgreSQL server
// whose client is killed mid-transaction.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace store_process_test {

using namespace pkiflow;
using pkiflow::test::TempDir;
using S = state::RecordState;

namespace {

const std::vector<std::string> kBackends{"sqlite", "postgres"};

// A new store of `backend`: a file in `dir`, or a fresh database on the test's PostgreSQL.
std::string store_url(const std::string& backend, const TempDir& dir) {
  if (backend == "sqlite") return (dir / "state.db").string();
  auto& server = pkiflow::test::PostgresServer::shared();
  return server.socket_url(server.fresh_database());
}

std::unique_ptr<state::StateStore> open_url(const std::string& url) {
  auto s = state::open_store(url);
  BOOST_REQUIRE_MESSAGE(s.ok(), pkiflow::test::why(s));
  return std::move(*s);
}

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Every record's state must be reachable from its own history, which must chain.
void check_invariants(state::StateStore& store, const std::vector<std::string>& must_exist) {
  if (auto* file = dynamic_cast<state::SqliteStore*>(&store))
    BOOST_TEST(file->integrity_ok().value());
  for (const auto& id : must_exist)
    BOOST_TEST(store.get(id).value().has_value(), "record lost: " << id);
  auto all = store.list({}).value();
  for (const auto& r : all) {
    auto h = store.history(r.id).value();
    BOOST_REQUIRE_MESSAGE(!h.empty(), "no history for " << r.id);
    BOOST_TEST(!h.front().from.has_value());
    BOOST_TEST((h.front().to == S::planned));
    for (std::size_t i = 1; i < h.size(); ++i) {
      BOOST_TEST(h[i].seq > h[i - 1].seq);
      BOOST_TEST((h[i].from.value() == h[i - 1].to), r.id << " history breaks at row " << i);
      const bool self = h[i].from == h[i].to;  // a transient failure keeps the state
      BOOST_TEST((self || engine::is_legal(*h[i].from, h[i].to)),
                 r.id << " illegal move in history");
    }
    BOOST_TEST((h.back().to == r.state), r.id << ": state not reachable from its history");
    // Journal: an upload marked done was journalled after its transition committed, so the
    // record's history must hold that transition. (sent-but-not-done is what reconciliation
    // resolves; it may stay after a kill.)
    for (const auto& op : store.journal_of(r.id).value()) {
      BOOST_TEST(op.record_id == r.id);
      if (op.action == "upload" && op.state == state::OperationState::done)
        BOOST_TEST(std::any_of(h.begin(), h.end(),
                               [](const state::HistoryEntry& e) { return e.to == S::uploaded; }),
                   r.id << ": upload journalled done without an uploaded transition");
    }
  }
}

// Every history row, as (seq, record, from, to, reason), to compare across kills.
using HistoryRows = std::map<std::int64_t, std::string>;
HistoryRows snapshot(state::StateStore& store) {
  HistoryRows rows;
  for (const auto& r : store.list({}).value())
    for (const auto& h : store.history(r.id).value())
      rows[h.seq] = h.record_id + "|" + (h.from ? state::to_string(*h.from) : "-") + "|" +
                    state::to_string(h.to) + "|" + h.reason;
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_processes)

BOOST_DATA_TEST_CASE(a_worker_killed_200_times_leaves_a_consistent_store,
                     boost::unit_test::data::make(kBackends), backend) {
  TempDir dir;
  const auto db = store_url(backend, dir);
  const auto log = (dir / "created.log").string();
  std::vector<std::string> initial;
  {
    auto store = open_url(db);
    engine::SystemClock clock;
    engine::Lifecycle life(*store, clock, "setup");
    auto rng = pki::Rng::system();
    for (int i = 0; i < 10; ++i) {
      initial.push_back(engine::new_record_id(rng));
      BOOST_REQUIRE(
          life.plan({initial.back(), state::RecordKind::cba_ca, "n", "t", "{}", ""}, "requested")
              .ok());
    }
  }
  std::mt19937 gen(12345);
  int killed = 0;
  HistoryRows seen_rows;
  for (int i = 0; i < 200; ++i) {
    pid_t pid = spawn({PKIFLOW_STORE_WORKER, "churn", db, log});
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + gen() % 40000));
    ::kill(pid, SIGKILL);
    int rc = wait_for(pid);
    BOOST_TEST((rc == 128 + SIGKILL || rc == 0), "worker exited with " << rc);
    killed += rc == 128 + SIGKILL;
    if (i % 50 == 49) {
      // History is append-only: every row seen after earlier kills is still there, unchanged.
      auto store = open_url(db);
      auto now_rows = snapshot(*store);
      for (const auto& [seq, row] : seen_rows) {
        auto it = now_rows.find(seq);
        BOOST_TEST((it != now_rows.end() && it->second == row),
                   "history row " << seq << " changed or vanished");
      }
      BOOST_TEST(now_rows.size() >= seen_rows.size());
      seen_rows = std::move(now_rows);
    }
  }
  BOOST_TEST(killed >= 190);
  auto store = open_url(db);
  auto created = lines(log);
  std::vector<std::string> all = initial;
  all.insert(all.end(), created.begin(), created.end());
  BOOST_TEST_MESSAGE("records created by the workers: " << created.size());
  check_invariants(*store, all);
  // The store still works after all that.
  engine::SystemClock clock;
  engine::Lifecycle life(*store, clock, "after");
  auto rng = pki::Rng::system();
  BOOST_TEST(life.plan({engine::new_record_id(rng), state::RecordKind::cba_ca, "n", "t", "{}", ""},
                       "after")
                 .ok());
}

BOOST_DATA_TEST_CASE(two_racing_workers_each_take_a_record_exactly_once,
                     boost::unit_test::data::make(kBackends), backend) {
  TempDir dir;
  const auto db = store_url(backend, dir);
  std::set<std::string> ids;
  {
    auto store = open_url(db);
    engine::SystemClock clock;
    engine::Lifecycle life(*store, clock, "setup");
    auto rng = pki::Rng::system();
    for (int i = 0; i < 60; ++i) {
      auto id = engine::new_record_id(rng);
      ids.insert(id);
      BOOST_REQUIRE(
          life.plan({id, state::RecordKind::gsa_tls_ca, "n", "t", "{}", ""}, "requested").ok());
    }
  }
  pid_t a = spawn({PKIFLOW_STORE_WORKER, "race", db, "worker-a", (dir / "a.out").string()});
  pid_t b = spawn({PKIFLOW_STORE_WORKER, "race", db, "worker-b", (dir / "b.out").string()});
  BOOST_TEST(wait_for(a) == 0);
  BOOST_TEST(wait_for(b) == 0);
  auto by_a = lines(dir / "a.out"), by_b = lines(dir / "b.out");
  std::set<std::string> seen;
  for (const auto& id : by_a)
    BOOST_TEST(seen.insert(id).second, id << " worked twice");
  for (const auto& id : by_b)
    BOOST_TEST(seen.insert(id).second, id << " worked by both workers");
  BOOST_TEST((seen == ids));
  BOOST_TEST_MESSAGE("worker a took " << by_a.size() << ", worker b " << by_b.size());
  auto store = open_url(db);
  for (const auto& id : ids) {
    auto h = store->history(id).value();
    BOOST_REQUIRE(h.size() == 2u);  // planned, then exactly one csrGenerated
    BOOST_TEST((h[1].actor == "worker-a" || h[1].actor == "worker-b"));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace store_process_test

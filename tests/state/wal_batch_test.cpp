// The VFS that writes a commit's log frames at once (state/sqlite/wal_batch_vfs.hpp): a commit
// reaches the log in one write, another connection (on SQLite's own VFS, as another program
// would be) reads every commit while the writer keeps the file open, a cache spill and a
// savepoint undone inside a transaction leave the log consistent, and a process killed in a
// run's group loses exactly what it had not committed.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "state/sqlite/sqlite_db.hpp"
#include "state/sqlite/wal_batch_vfs.hpp"
#include "state/store.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace wal_batch_test {

using namespace pkiflow;
using pkiflow::test::TempDir;
namespace sq = pkiflow::state::sqlite;

namespace {

// `rows` new rows of `bytes` random bytes each, as one statement.
std::string insert_rows(int rows, int bytes) {
  return "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " +
         std::to_string(rows) + ") INSERT INTO t (v) SELECT randomblob(" + std::to_string(bytes) +
         ") FROM c";
}

// What another program sees: SQLite's own VFS, a connection of its own.
struct Reader {
  sqlite3* db = nullptr;
  explicit Reader(const std::string& path) {
    BOOST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~Reader() { sqlite3_close(db); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  std::string one(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    } else {
      out += std::string(": ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
    return out;
  }
};

void open_writer(sq::Db& db, const std::string& path) {
  BOOST_REQUIRE(db.open(path).ok());
  for (const char* sql : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                          "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"}) {
    auto st = db.exec(sql);
    BOOST_REQUIRE_MESSAGE(st.ok(), pkiflow::test::why(st));
  }
}

std::vector<std::string> lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wal_batch)

BOOST_AUTO_TEST_CASE(a_commit_reaches_the_log_in_one_write_that_another_connection_reads) {
  BOOST_REQUIRE(sq::wal_batch_vfs() != nullptr);
  TempDir dir;
  const std::string path = (dir / "x.db").string();
  sq::Db db;
  open_writer(db, path);
  Reader reader(path);
  for (int round = 1; round <= 3; ++round) {
    const auto before = sq::wal_batch_stats();
    for (const std::string& sql :
         {std::string("BEGIN IMMEDIATE"), insert_rows(100, 3000), std::string("COMMIT")}) {
      auto st = db.exec(sql);
      BOOST_REQUIRE_MESSAGE(st.ok(), pkiflow::test::why(st));
    }
    const auto after = sq::wal_batch_stats();
    // 100 rows of about a page each: over 100 frames, written by one write (two at most: the
    // log's own header when it starts).
    BOOST_TEST(after.frames - before.frames >= 100u);
    BOOST_TEST(after.flushes - before.flushes <= 2u);
    // The writer keeps its file open; the reader sees the whole commit, intact.
    BOOST_TEST(reader.one("SELECT count(*) FROM t") == std::to_string(100 * round));
    BOOST_TEST(reader.one("SELECT sum(length(v)) FROM t") == std::to_string(300000 * round));
    BOOST_TEST(reader.one("PRAGMA integrity_check") == "ok");
  }
}

BOOST_AUTO_TEST_CASE(a_cache_spill_and_an_undone_savepoint_leave_the_log_consistent) {
  TempDir dir;
  const std::string path = (dir / "x.db").string();
  sq::Db db;
  open_writer(db, path);
  Reader reader(path);
  // A page cache of 20 pages: the transaction's pages spill to the log before its commit.
  for (const std::string& sql :
       {std::string("PRAGMA cache_size = 20"), std::string("BEGIN IMMEDIATE"),
        insert_rows(600, 3000), std::string("SAVEPOINT s"), insert_rows(50, 3000),
        std::string("UPDATE t SET v = randomblob(100) WHERE k % 7 = 0"),
        std::string("ROLLBACK TO s"), std::string("RELEASE s"),
        std::string("UPDATE t SET v = zeroblob(10) WHERE k <= 10"), std::string("COMMIT")}) {
    auto st = db.exec(sql);
    BOOST_REQUIRE_MESSAGE(st.ok(), sql + ": " + pkiflow::test::why(st));
  }
  BOOST_TEST(reader.one("SELECT count(*) FROM t") == "600");
  BOOST_TEST(reader.one("SELECT sum(length(v)) FROM t") == std::to_string(590 * 3000 + 10 * 10));
  BOOST_TEST(reader.one("PRAGMA integrity_check") == "ok");
  // A checkpoint copies the log into the database and starts it again from its beginning.
  for (const std::string& sql : {std::string("PRAGMA wal_checkpoint(TRUNCATE)"),
                                 insert_rows(5, 3000), std::string("DELETE FROM t WHERE k = 1")}) {
    auto st = db.exec(sql);
    BOOST_REQUIRE_MESSAGE(st.ok(), sql + ": " + pkiflow::test::why(st));
  }
  BOOST_TEST(reader.one("SELECT count(*) FROM t") == "604");
  BOOST_TEST(reader.one("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_CASE(a_process_killed_in_a_group_loses_only_what_it_had_not_committed) {
  TempDir dir;
  const std::string path = (dir / "state.db").string();
  const std::string log = (dir / "committed").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string worker = PKIFLOW_STORE_WORKER;
    ::execl(worker.c_str(), worker.c_str(), "group-kill", path.c_str(), "40", log.c_str(),
            static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST_REQUIRE(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGKILL);
  const auto committed = lines(log);
  BOOST_TEST(committed.size() == 40u);
  {
    Reader reader(path);
    BOOST_TEST(reader.one("PRAGMA integrity_check") == "ok");
  }
  auto store = state::open_store(path);
  BOOST_REQUIRE_MESSAGE(store.ok(), pkiflow::test::why(store));
  auto all = (*store)->list({});
  BOOST_REQUIRE(all.ok());
  std::set<std::string> found;
  for (const auto& r : *all) {
    found.insert(r.id);
    BOOST_TEST((r.state == state::RecordState::csrGenerated));
    BOOST_TEST(r.csr_pem.size() == 3000u);
  }
  BOOST_TEST((found == std::set<std::string>(committed.begin(), committed.end())));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace wal_batch_test

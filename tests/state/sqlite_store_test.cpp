#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "state/sql/schema.hpp"
#include "state/sqlite/sqlite_db.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/store_samples.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace sqlite_store_test {

using namespace pkiflow;
using namespace pkiflow::state;
using pkiflow::test::TempDir;

namespace {

Record sample(const std::string& id) {
  return pkiflow::test::sample_record(id);
}

HistoryEntry created(const std::string& id) {
  return pkiflow::test::creation_of(id);
}

std::unique_ptr<SqliteStore> open(const TempDir& dir) {
  auto s = SqliteStore::open((dir / "state.db").string());
  BOOST_REQUIRE_MESSAGE(s.ok(), pkiflow::test::why(s));
  return std::move(*s);
}

// Runs SQL outside the store, as another program (or a curious admin) would.
int raw_exec(const std::string& path, const std::string& sql, std::string* error = nullptr) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  if (error && msg) *error = msg;
  sqlite3_free(msg);
  sqlite3_close(db);
  return rc;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_store)

// The contract every store keeps (records, versions, history, journal, leases, claims,
// migrations) is tests/conformance/store_conformance_test.cpp; here is what only a file has.

BOOST_AUTO_TEST_CASE(a_new_database_is_private_current_and_intact) {
  TempDir dir;
  auto store = open(dir);
  BOOST_REQUIRE(store->create(sample("AAAAAAAAAAAAAAAA"), created("AAAAAAAAAAAAAAAA")).ok());
  struct stat st {};
  BOOST_REQUIRE(::stat((dir / "state.db").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(store->integrity_ok().value());
  BOOST_TEST(store->schema_version().value() == sql::kCurrentVersion);
}

BOOST_AUTO_TEST_CASE(foreign_or_corrupt_files_are_refused_and_left_untouched) {
  TempDir dir;
  struct Case {
    const char* sentence;
    std::string file;
    const char* says;
  };
  pkiflow::test::write_file(dir / "notes.txt", "my notes, not a database\n");
  raw_exec((dir / "other.db").string(),
           "CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');");
  BOOST_REQUIRE(create_sqlite_at_version((dir / "newer.db").string(), sql::kCurrentVersion).ok());
  raw_exec((dir / "newer.db").string(), "PRAGMA user_version = 99");
  std::string half = pkiflow::test::read_file(dir / "other.db").substr(0, 100);
  pkiflow::test::write_file(dir / "truncated.db", half);
  const Case cases[] = {
      {"a text file", (dir / "notes.txt").string(), "not an SQLite file"},
      {"another application's database", (dir / "other.db").string(), "another application"},
      {"a database from a newer pkiflow", (dir / "newer.db").string(), "newer than this pkiflow"},
      {"a truncated database", (dir / "truncated.db").string(), ""},
      {"a directory", dir.path().string(), "directory"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      const bool is_file = std::filesystem::is_regular_file(c.file);
      std::string before = is_file ? pkiflow::test::read_file(c.file) : "";
      auto s = SqliteStore::open(c.file);
      BOOST_TEST(!s.ok());
      if (!s.ok()) {
        BOOST_TEST(s.error().what().find(c.file) != std::string::npos, s.error().what());
        BOOST_TEST(s.error().what().find(c.says) != std::string::npos, s.error().what());
      }
      if (is_file) BOOST_TEST((pkiflow::test::read_file(c.file) == before), "the file was changed");
    }
  }
}

BOOST_AUTO_TEST_CASE(the_url_selects_the_backend) {
  TempDir dir;
  BOOST_TEST(open_store("sqlite://" + (dir / "a.db").string()).ok());
  BOOST_TEST(open_store((dir / "b.db").string()).ok());
  auto other = open_store("mysql://u:s3cret@localhost/pkiflow");
  BOOST_REQUIRE(!other.ok());
  BOOST_TEST(other.error().message().find("unsupported") != std::string::npos);
  BOOST_TEST(other.error().what().find("s3cret") == std::string::npos);
  BOOST_TEST(is_postgres_url("postgresql://db/x"));
  BOOST_TEST(is_postgres_url("postgres://db/x"));
  BOOST_TEST(!is_postgres_url("sqlite:///x"));
}

// A connection keeps one prepared statement per SQL text: a statement that ends goes back,
// reset and unbound, and the next use of the text gets that one; two uses at once each have
// their own, and both give right answers.
BOOST_AUTO_TEST_CASE(prepared_statements_are_kept_per_text_and_shared_only_one_at_a_time) {
  TempDir dir;
  sqlite::Db db;
  BOOST_REQUIRE(db.open((dir / "s.db").string()).ok());
  BOOST_REQUIRE(db.exec("CREATE TABLE t (k INTEGER, v TEXT); INSERT INTO t VALUES (1, 'one'), "
                        "(2, 'two')")
                    .ok());
  const std::string text = "SELECT v FROM t WHERE k = ?";
  {
    sqlite::Stmt a(db, text);
    a.bind(1, std::int64_t{1});
    BOOST_REQUIRE(a.step() == SQLITE_ROW);
    BOOST_TEST(a.text(0) == "one");
    // The same text while `a` is out: its own statement, not `a`'s.
    sqlite::Stmt b(db, std::string_view(text));
    b.bind(1, std::int64_t{2});
    BOOST_REQUIRE(b.step() == SQLITE_ROW);
    BOOST_TEST(b.text(0) == "two");
    int live = 0;
    for (auto* s = sqlite3_next_stmt(db.handle(), nullptr); s;
         s = sqlite3_next_stmt(db.handle(), s))
      ++live;
    BOOST_TEST(live == 2);
  }
  // Both went back: one is kept (the other finalized), reset and unbound.
  sqlite3_stmt* kept = sqlite3_next_stmt(db.handle(), nullptr);
  BOOST_REQUIRE(kept != nullptr);
  BOOST_TEST(sqlite3_next_stmt(db.handle(), kept) == nullptr);
  BOOST_TEST(!sqlite3_stmt_busy(kept));
  char* expanded = sqlite3_expanded_sql(kept);  // its parameter unbound again: NULL
  BOOST_TEST(std::string(expanded ? expanded : "") == "SELECT v FROM t WHERE k = NULL");
  sqlite3_free(expanded);
  sqlite::Stmt c(db, text + "");  // equal text from another string: the kept statement
  BOOST_TEST(sqlite3_next_stmt(db.handle(), nullptr) == kept);
  BOOST_TEST(sqlite3_next_stmt(db.handle(), kept) == nullptr);  // nothing new was prepared
  c.bind(1, std::int64_t{2});
  BOOST_REQUIRE(c.step() == SQLITE_ROW);
  BOOST_TEST(c.text(0) == "two");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace sqlite_store_test

// What only the PostgreSQL store has: a server reached over the network with a password that
// must never be shown, a connection that can be lost and found again, and several workers that
// open an empty database at the same moment. The contract every store keeps is in
// tests/conformance/store_conformance_test.cpp.
#include <boost/test/unit_test.hpp>
#include <mutex>
#include <thread>

#include "state/postgres/postgres_store.hpp"
#include "state/sql/schema.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/store_samples.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace postgres_store_test {

using namespace pkiflow;
using namespace pkiflow::state;
using pkiflow::test::PostgresServer;

namespace {

Record sample(const std::string& id) {
  return pkiflow::test::sample_record(id);
}

HistoryEntry created(const std::string& id) {
  return pkiflow::test::creation_of(id);
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(postgres_store)

BOOST_AUTO_TEST_CASE(a_url_is_shown_without_its_password) {
  struct Case {
    const char* url;
    const char* shown;
  };
  const Case cases[] = {
      {"postgresql://pkiflow:s3cret@db.example.com:5432/pkiflow",
       "postgresql://pkiflow:***@db.example.com:5432/pkiflow"},
      {"postgres://u:p%40ss@db/x?sslmode=verify-full", "postgres://u:***@db/x?sslmode=verify-full"},
      {"postgresql://u:pa/ss@db/x", "postgresql://u:***@db/x"},
      {"postgresql://db/x?user=u&password=s3cret&sslmode=require",
       "postgresql://db/x?user=u&password=***&sslmode=require"},
      {"postgresql://u@db/x?password=s3cret", "postgresql://u@db/x?password=***"},
      {"postgresql://u@db/x", "postgresql://u@db/x"},
      {"postgresql:///x?host=/run/postgresql", "postgresql:///x?host=/run/postgresql"},
      {"sqlite:///var/lib/pkiflow/state.db", "sqlite:///var/lib/pkiflow/state.db"},
  };
  for (const auto& c : cases)
    BOOST_TEST(redact_url(c.url) == c.shown);
}

// Over TCP the server asks for a password (scram-sha-256): it comes from the config's
// password file, PGPASSWORD or the URL, and no message ever shows it.
BOOST_AUTO_TEST_CASE(the_password_comes_from_the_file_or_libpq_and_is_never_shown) {
  auto& server = PostgresServer::shared();
  const std::string db = server.fresh_database();
  const std::string url = server.tcp_url(db);
  ::unsetenv("PGPASSWORD");
  ScopedEnv no_passfile("PGPASSFILE", "/nonexistent/pgpass");

  auto without = open_store(url);
  BOOST_REQUIRE(!without.ok());
  BOOST_TEST((without.error().kind() == ErrorKind::auth), without.error().what());
  BOOST_TEST(without.error().subject() == url);

  const pki::Passphrase right(PostgresServer::kPassword);
  auto with_file = open_store(url, OpenMode::read_write, &right);
  BOOST_REQUIRE_MESSAGE(with_file.ok(), pkiflow::test::why(with_file));
  BOOST_REQUIRE((*with_file)->create(sample("A000000000000000"), created("A000000000000000")).ok());

  {
    ScopedEnv env("PGPASSWORD", PostgresServer::kPassword);
    auto with_env = open_store(url, OpenMode::read_only);
    BOOST_REQUIRE_MESSAGE(with_env.ok(), pkiflow::test::why(with_env));
    BOOST_TEST((*with_env)->list({}).value().size() == 1u);
  }

  // A wrong password in the URL: refused, and the message names the URL without it.
  const std::string wrong = "wrong-pw-93d1e7";
  const std::string in_url =
      "postgresql://pkiflow:" + wrong + "@127.0.0.1:" + std::to_string(server.port()) + "/" + db;
  auto bad = open_store(in_url);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST((bad.error().kind() == ErrorKind::auth));
  BOOST_TEST(bad.error().what().find(wrong) == std::string::npos, bad.error().what());
  BOOST_TEST(bad.error().what().find("pkiflow:***@127.0.0.1") != std::string::npos,
             bad.error().what());
  // The file's password wins over a wrong one in the URL.
  auto file_wins = open_store(in_url, OpenMode::read_write, &right);
  BOOST_TEST(file_wins.ok(), pkiflow::test::why(file_wins));
}

BOOST_AUTO_TEST_CASE(a_server_that_is_not_there_is_unavailable_and_named) {
  // A port nothing listens on (the test server's, plus one: free or another service).
  const std::string url = "postgresql://pkiflow:pw-5521@127.0.0.1:1/pkiflow?connect_timeout=2";
  auto s = open_store(url);
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST((s.error().kind() == ErrorKind::unavailable), s.error().what());
  BOOST_TEST(s.error().what().find("127.0.0.1") != std::string::npos);
  BOOST_TEST(s.error().what().find("pw-5521") == std::string::npos);
}

// An administrator restarts the server, or a network blip drops the connection: the next
// statement connects again instead of failing every call until pkiflow restarts.
BOOST_AUTO_TEST_CASE(a_lost_connection_is_made_again_between_statements) {
  auto& server = PostgresServer::shared();
  const std::string db = server.fresh_database();
  auto store = open_store(server.socket_url(db));
  BOOST_REQUIRE(store.ok());
  BOOST_REQUIRE((*store)->create(sample("A000000000000000"), created("A000000000000000")).ok());
  auto killed = server.psql(db,
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                            "application_name = 'pkiflow' AND datname = current_database()");
  BOOST_REQUIRE_MESSAGE(killed.exit_code == 0, killed.err);
  BOOST_TEST(killed.out == "1\n");
  // The first statement after the loss may fail as "unavailable" (it found the connection
  // gone); the one after it must work.
  auto first = (*store)->get("A000000000000000");
  if (!first) BOOST_TEST((first.error().kind() == ErrorKind::unavailable), first.error().what());
  auto again = (*store)->get("A000000000000000");
  BOOST_REQUIRE_MESSAGE(again.ok(), pkiflow::test::why(again));
  BOOST_TEST(again->has_value());
}

// Several workers that start on an empty database at the same moment: the advisory lock lets
// one create the schema; the others find it made.
BOOST_AUTO_TEST_CASE(workers_opening_an_empty_database_together_migrate_it_once) {
  auto& server = PostgresServer::shared();
  const std::string url = server.socket_url(server.fresh_database());
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w)
    workers.emplace_back([&] {
      auto s = open_store(url);
      if (!s) {
        std::lock_guard lock(mu);
        errors.push_back(s.error().what());
      }
    });
  for (auto& t : workers)
    t.join();
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  auto store = PostgresStore::open(url, OpenMode::read_only);
  BOOST_REQUIRE(store.ok());
  BOOST_TEST((*store)->schema_version().value() == sql::kCurrentVersion);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace postgres_store_test

#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "state/sql/schema.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace sqlite_store_test {

using namespace pkiflow;
using namespace pkiflow::state;
using pkiflow::test::TempDir;

namespace {

TimePoint t0() {
  return TimePoint(std::chrono::seconds(1'800'000'000));
}

Record sample(const std::string& id) {
  Record r;
  r.id = id;
  r.kind = RecordKind::cba_ca;
  r.name = "Contoso User CA";
  r.tenant = "contoso.onmicrosoft.com";
  r.profile_json = R"({"subject":"CN=Contoso User CA"})";
  r.created_at = r.updated_at = t0();
  return r;
}

HistoryEntry created(const std::string& id) {
  HistoryEntry h;
  h.record_id = id;
  h.to = RecordState::planned;
  h.at = t0();
  h.reason = "requested";
  h.actor = "test";
  return h;
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

BOOST_AUTO_TEST_CASE(a_record_round_trips_with_every_field) {
  TempDir dir;
  auto store = open(dir);
  Record r = sample("AAAAAAAAAAAAAAAA");
  r.remote_id = "0b1c";
  r.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----";
  r.not_before = t0();
  r.not_after = t0() + std::chrono::hours(24 * 365);
  r.thumbprint_sha1 = "AB";
  r.next_attempt_at = t0() + std::chrono::seconds(90);
  r.failed_from = RecordState::signed_;
  r.verified_at = t0() + std::chrono::hours(1);
  r.drift = "gone";
  r.drift_note = "its remote object 0b1c no longer exists";
  r.bundle_id = "B0000000000000AA";
  r.bundle_exported_at = t0() + std::chrono::hours(2);
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  auto back = store->get(r.id);
  BOOST_REQUIRE(back.ok() && back->has_value());
  const Record& b = **back;
  BOOST_TEST(b.name == r.name);
  BOOST_TEST(b.tenant == r.tenant);
  BOOST_TEST(b.profile_json == r.profile_json);
  BOOST_TEST(b.remote_id == "0b1c");
  BOOST_TEST((b.not_after == r.not_after));
  BOOST_TEST((b.next_attempt_at == r.next_attempt_at));
  BOOST_TEST((b.failed_from == r.failed_from));
  BOOST_TEST((b.verified_at == r.verified_at));
  BOOST_TEST(b.drift == "gone");
  BOOST_TEST(b.drift_note == r.drift_note);
  BOOST_TEST(b.bundle_id == r.bundle_id);
  BOOST_TEST((b.bundle_exported_at == r.bundle_exported_at));
  BOOST_TEST(b.version == 1);
  BOOST_TEST(!store->get("NOPE").value().has_value());
  BOOST_TEST(store->integrity_ok().value());
  BOOST_TEST(store->schema_version().value() == sql::kCurrentVersion);
}

// Every statement binds its values: text full of SQL is stored as text and runs nothing.
BOOST_AUTO_TEST_CASE(values_that_look_like_sql_are_stored_as_text) {
  TempDir dir;
  auto store = open(dir);
  const std::string evil = "x'); DROP TABLE records; --";
  Record r = sample("AAAAAAAAAAAAAAAB");
  r.name = evil;
  r.tenant = "t' OR '1'='1";
  r.remote_id = "\"; DELETE FROM history; --";
  r.profile_json = R"({"subject":"CN=a' OR 1=1 --"})";
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  BOOST_REQUIRE(store->create(sample("AAAAAAAAAAAAAAAC"), created("AAAAAAAAAAAAAAAC")).ok());
  auto back = store->get(r.id);
  BOOST_REQUIRE(back.ok() && back->has_value());
  BOOST_TEST((*back)->name == evil);
  BOOST_TEST((*back)->tenant == r.tenant);
  BOOST_TEST((*back)->remote_id == r.remote_id);
  BOOST_TEST((*back)->profile_json == r.profile_json);
  RecordFilter all;
  BOOST_TEST(store->list(all)->size() == 2u);  // both records, the table still there
  BOOST_TEST(store->integrity_ok().value());
}

BOOST_AUTO_TEST_CASE(a_stale_write_is_refused_and_writes_nothing) {
  TempDir dir;
  auto store = open(dir);
  auto a = *store->create(sample("A000000000000000"), created("A000000000000000"));
  auto b = *store->create(sample("B000000000000000"), created("B000000000000000"));
  HistoryEntry h = created(a.id);
  h.from = RecordState::planned;
  h.to = RecordState::csrGenerated;
  Record a2 = a;
  a2.state = RecordState::csrGenerated;
  BOOST_REQUIRE(store->apply({{a2, h}}).ok());  // version 1 -> 2
  // Both writes in one batch; the second is stale, so neither is kept.
  Record b2 = b;
  b2.state = RecordState::csrGenerated;
  auto stale = store->apply({{b2, h}, {a2, h}});
  BOOST_REQUIRE(!stale.ok());
  BOOST_TEST(stale.error().message().find(kVersionConflict) != std::string::npos);
  BOOST_TEST(stale.error().subject() == a.id);
  BOOST_TEST((store->get(b.id).value()->state == RecordState::planned));
  BOOST_TEST(store->history(b.id).value().size() == 1u);
}

BOOST_AUTO_TEST_CASE(history_is_append_only_even_for_other_programs) {
  TempDir dir;
  auto store = open(dir);
  BOOST_REQUIRE(store->create(sample("A000000000000000"), created("A000000000000000")).ok());
  std::string err;
  BOOST_TEST(raw_exec((dir / "state.db").string(), "UPDATE history SET reason = 'x'", &err) !=
             SQLITE_OK);
  BOOST_TEST(err.find("append-only") != std::string::npos);
  BOOST_TEST(raw_exec((dir / "state.db").string(), "DELETE FROM history") != SQLITE_OK);
  BOOST_TEST(store->history("A000000000000000").value().front().reason == "requested");
}

BOOST_AUTO_TEST_CASE(the_journal_keeps_open_operations_until_they_are_closed) {
  TempDir dir;
  auto store = open(dir);
  BOOST_REQUIRE(store->create(sample("A000000000000000"), created("A000000000000000")).ok());
  Operation op{"op-1",
               "A000000000000000",
               "create",
               "POST /networkAccess/tls/externalCertificateAuthorityCertificates",
               "6f1c0f0e-0000-4000-8000-000000000001",
               OperationState::pending,
               "",
               t0(),
               t0()};
  BOOST_REQUIRE(store->journal_begin(op).ok());
  BOOST_REQUIRE(store->journal_update("op-1", OperationState::sent, "", t0()).ok());
  BOOST_TEST(store->journal_open().value().size() == 1u);
  BOOST_REQUIRE(store->journal_update("op-1", OperationState::done, "201 id=0b1c", t0()).ok());
  BOOST_TEST(store->journal_open().value().empty());
  BOOST_TEST(store->journal_of("A000000000000000").value().front().response_summary ==
             "201 id=0b1c");
  BOOST_TEST(!store->journal_update("op-404", OperationState::done, "", t0()).ok());
  Operation orphan = op;
  orphan.op_id = "op-2";
  orphan.record_id = "NOSUCHRECORD0000";
  BOOST_TEST(!store->journal_begin(orphan).ok());  // foreign keys are on
}

BOOST_AUTO_TEST_CASE(a_lease_keeps_other_runs_away_until_it_expires) {
  TempDir dir;
  auto store = open(dir);
  for (const char* id : {"A000000000000000", "B000000000000000", "C000000000000000"})
    BOOST_REQUIRE(store->create(sample(id), created(id)).ok());
  const std::vector<RecordState> due{RecordState::planned};
  auto a = store->claim_due("run-a", t0(), t0() + std::chrono::minutes(5), due, 2);
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->size() == 2u);
  auto b = store->claim_due("run-b", t0(), t0() + std::chrono::minutes(5), due, 10);
  BOOST_TEST(b->size() == 1u);  // only the one run-a did not take
  BOOST_TEST(store->claim_due("run-b", t0(), t0() + std::chrono::minutes(5), due, 10)->size() ==
             1u);
  BOOST_TEST(store->lease_owner(a->front().id, t0()).value().value_or("") == "run-a");
  // run-a dies; after its lease expires run-b may take its records.
  auto later = t0() + std::chrono::minutes(6);
  BOOST_TEST(store->claim_due("run-b", later, later + std::chrono::minutes(5), due, 10)->size() ==
             3u);
  BOOST_REQUIRE(store->release("run-b", {a->front().id}).ok());
  BOOST_TEST(!store->lease_owner(a->front().id, later).value().has_value());
}

BOOST_AUTO_TEST_CASE(records_not_yet_due_are_not_claimed) {
  TempDir dir;
  auto store = open(dir);
  Record r = sample("A000000000000000");
  r.next_attempt_at = t0() + std::chrono::hours(1);
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  BOOST_TEST(
      store->claim_due("run", t0(), t0() + std::chrono::minutes(5), {RecordState::planned}, 10)
          ->empty());
  auto later = t0() + std::chrono::hours(2);
  BOOST_TEST(
      store->claim_due("run", later, later + std::chrono::minutes(5), {RecordState::planned}, 10)
          ->size() == 1u);
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

BOOST_AUTO_TEST_CASE(every_older_database_migrates_forward_with_its_data) {
  for (int from = sql::kOldestSupportedVersion; from < sql::kCurrentVersion; ++from) {
    BOOST_TEST_CONTEXT("a database of schema " << from) {
      TempDir dir;
      auto path = (dir / "old.db").string();
      BOOST_REQUIRE(create_sqlite_at_version(path, from).ok());
      BOOST_REQUIRE(
          raw_exec(path,
                   "INSERT INTO records (id, kind, name, tenant, state, created_at, updated_at, "
                   "version) VALUES ('OLD0000000000000', 'gsa-tls-ca', 'tlsca01', 't', 'active', "
                   "1, 1, 3);"
                   "INSERT INTO history (record_id, from_state, to_state, at, reason, actor) "
                   "VALUES ('OLD0000000000000', NULL, 'planned', 1, 'requested', 'v1');") ==
          SQLITE_OK);
      auto store = SqliteStore::open(path);
      BOOST_REQUIRE_MESSAGE(store.ok(), pkiflow::test::why(store));
      BOOST_TEST((*store)->schema_version().value() == sql::kCurrentVersion);
      auto r = (*store)->get("OLD0000000000000").value();
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(r->version == 3);
      BOOST_TEST((r->state == RecordState::active));
      // Version 3's drift columns: never checked, nothing found.
      BOOST_TEST(!r->verified_at.has_value());
      BOOST_TEST(r->drift.empty());
      // Version 4's bundle columns: never sent out.
      BOOST_TEST(r->bundle_id.empty());
      BOOST_TEST(!r->bundle_exported_at.has_value());
      // The lease columns of version 2 work on the migrated record.
      auto claimed = (*store)->claim_due("run", t0(), t0() + std::chrono::minutes(1),
                                         {RecordState::active}, 5);
      BOOST_TEST(claimed->size() == 1u);
      BOOST_TEST((*store)->history("OLD0000000000000")->size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_url_selects_the_backend) {
  TempDir dir;
  BOOST_TEST(open_store("sqlite://" + (dir / "a.db").string()).ok());
  BOOST_TEST(open_store((dir / "b.db").string()).ok());
  auto pg = open_store("postgresql://localhost/pkiflow");
  BOOST_REQUIRE(!pg.ok());
  BOOST_TEST(pg.error().message().find("unsupported") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace sqlite_store_test

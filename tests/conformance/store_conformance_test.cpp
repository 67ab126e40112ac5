// The StateStore contract (issue 16, part 4): one suite that every backend passes, SQLite (a
// file) and PostgreSQL (a real server, tests/support/postgres_server.hpp). Records, optimistic
// versions, history that no program can rewrite, the journal, leases and their takeover, claims
// and writes by several workers at once, renewals planned once, read-only opening, and every
// older schema migrated forward with its data. SQL "from another program" is run with the
// backends' own command-line tools (sqlite3, psql), not through pkiflow.
#include <algorithm>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "state/postgres/postgres_store.hpp"
#include "state/sql/schema.hpp"
#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/store_samples.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace store_conformance_test {

using namespace pkiflow;
using namespace pkiflow::state;
using pkiflow::test::PostgresServer;
using pkiflow::test::quote;
using pkiflow::test::TempDir;
namespace bdata = boost::unit_test::data;

namespace {

const std::vector<std::string> kBackends{"sqlite", "postgres"};

TimePoint t0() {
  return pkiflow::test::store_t0();
}

Record sample(const std::string& id) {
  return pkiflow::test::sample_record(id);
}

HistoryEntry created(const std::string& id) {
  return pkiflow::test::creation_of(id);
}

HistoryEntry moved(const std::string& id, RecordState from, RecordState to) {
  HistoryEntry h = created(id);
  h.from = from;
  h.to = to;
  h.reason = "moved";
  return h;
}

std::string id_of(int i) {
  std::string n = std::to_string(i);
  return "R" + std::string(15 - n.size(), '0') + n;
}

// One backend's store in a place of its own: a file in a temporary directory, or a fresh
// database on the test process's PostgreSQL server.
struct StoreUnderTest {
  std::string backend;
  TempDir dir;
  std::string url;
  std::string database;  // PostgreSQL

  explicit StoreUnderTest(const std::string& b) : backend(b) {
    if (backend == "sqlite") {
      url = "sqlite://" + (dir / "state.db").string();
    } else {
      database = PostgresServer::shared().fresh_database();
      url = PostgresServer::shared().socket_url(database);
    }
  }

  // A connection of its own, as another worker has.
  std::unique_ptr<StateStore> open(OpenMode mode = OpenMode::read_write) const {
    auto s = open_store(url, mode);
    BOOST_REQUIRE_MESSAGE(s.ok(), pkiflow::test::why(s));
    return std::move(*s);
  }

  // Runs SQL as another program would, with the backend's own tool; "" when it succeeded,
  // else what the tool said.
  std::string raw(const std::string& sql, bool* ok = nullptr) const {
    auto r = backend == "sqlite" ? pkiflow::test::run("sqlite3 -bail " + quote(dir / "state.db") +
                                                      " " + quote(std::filesystem::path(sql)))
                                 : PostgresServer::shared().psql(database, sql);
    if (ok) *ok = r.exit_code == 0;
    return r.exit_code == 0 ? r.out : r.err + r.out;
  }

  Status create_at(int version) const {
    return backend == "sqlite" ? create_sqlite_at_version((dir / "state.db").string(), version)
                               : create_postgres_at_version(url, version);
  }

  std::string set_version_sql(int version) const {
    return backend == "sqlite" ? "PRAGMA user_version = " + std::to_string(version)
                               : "UPDATE pkiflow_schema SET version = " + std::to_string(version);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_conformance)

BOOST_DATA_TEST_CASE(a_record_round_trips_with_every_field, bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  Record r = sample("AAAAAAAAAAAAAAAA");
  r.remote_id = "0b1c";
  r.remote_status = "enrolling";
  r.key_path = "/var/lib/pkiflow/keys/a.key";
  r.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
  r.certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
  r.chain_pem = r.certificate_pem + r.certificate_pem;
  r.not_before = t0();
  r.not_after = t0() + std::chrono::hours(24 * 365);
  r.thumbprint_sha1 = "AB";
  r.thumbprint_sha256 = "CD";
  r.attempts = 3;
  r.next_attempt_at = t0() + std::chrono::seconds(90);
  r.last_error = "503 from Graph: Ünïcode ✓";
  r.failed_from = RecordState::signed_;
  r.verified_at = t0() + std::chrono::hours(1);
  r.drift = "gone";
  r.drift_note = "its remote object 0b1c no longer exists";
  r.bundle_id = "B0000000000000AA";
  r.bundle_exported_at = t0() + std::chrono::milliseconds(7'200'123);
  r.updated_at = t0() + std::chrono::milliseconds(1);
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  auto back = store->get(r.id);
  BOOST_REQUIRE(back.ok() && back->has_value());
  const Record& b = **back;
  BOOST_TEST((b.kind == r.kind));
  BOOST_TEST(b.name == r.name);
  BOOST_TEST(b.tenant == r.tenant);
  BOOST_TEST(b.profile_json == r.profile_json);
  BOOST_TEST((b.state == RecordState::planned));
  BOOST_TEST((b.failed_from == r.failed_from));
  BOOST_TEST(b.remote_id == r.remote_id);
  BOOST_TEST(b.remote_status == r.remote_status);
  BOOST_TEST(b.key_path == r.key_path);
  BOOST_TEST(b.csr_pem == r.csr_pem);
  BOOST_TEST(b.certificate_pem == r.certificate_pem);
  BOOST_TEST(b.chain_pem == r.chain_pem);
  BOOST_TEST((b.not_before == r.not_before));
  BOOST_TEST((b.not_after == r.not_after));
  BOOST_TEST(b.thumbprint_sha1 == r.thumbprint_sha1);
  BOOST_TEST(b.thumbprint_sha256 == r.thumbprint_sha256);
  BOOST_TEST(b.attempts == 3);
  BOOST_TEST((b.next_attempt_at == r.next_attempt_at));
  BOOST_TEST(b.last_error == r.last_error);
  BOOST_TEST((b.created_at == r.created_at));
  BOOST_TEST((b.updated_at == r.updated_at));
  BOOST_TEST((b.verified_at == r.verified_at));
  BOOST_TEST(b.drift == r.drift);
  BOOST_TEST(b.drift_note == r.drift_note);
  BOOST_TEST(b.bundle_id == r.bundle_id);
  BOOST_TEST((b.bundle_exported_at == r.bundle_exported_at));
  BOOST_TEST(b.version == 1);
  BOOST_TEST(!store->get("NOPE").value().has_value());
  auto h = store->history(r.id).value();
  BOOST_REQUIRE(h.size() == 1u);
  BOOST_TEST(!h[0].from.has_value());
  BOOST_TEST(h[0].reason == "requested");
  BOOST_TEST((h[0].at == t0()));
}

// What a hostile service can put in an error message, or a damaged file in a name, is stored
// the same way by both: bytes that are not UTF-8, and NUL, become U+FFFD; the rest is kept.
BOOST_DATA_TEST_CASE(text_that_is_not_utf8_is_stored_the_same_by_every_backend,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  Record r = sample("AAAAAAAAAAAAAAAA");
  r.last_error = std::string("bad \xC3\x28 byte, \xED\xA0\x80 surrogate, nul ") + '\0' + " end";
  r.remote_status = "ok \xF0\x9F\x94\x92 lock";
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  Record b = store->get(r.id).value().value();
  BOOST_TEST(b.last_error ==
             "bad \xEF\xBF\xBD( byte, \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD surrogate, nul "
             "\xEF\xBF\xBD end");
  BOOST_TEST(b.remote_status == r.remote_status);
  b.drift_note = "\xFF\xFE";
  HistoryEntry h = moved(b.id, RecordState::planned, RecordState::planned);
  h.reason = "\x80 reason";
  BOOST_REQUIRE(store->apply({{b, h}}).ok());
  BOOST_TEST(store->get(r.id).value()->drift_note == "\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_TEST(store->history(r.id).value().back().reason == "\xEF\xBF\xBD reason");
}

// Every statement binds its values: text full of SQL is stored as text and runs nothing.
BOOST_DATA_TEST_CASE(values_that_look_like_sql_are_stored_as_text, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  const std::string evil = "x'); DROP TABLE records; --";
  Record r = sample("AAAAAAAAAAAAAAAB");
  r.name = evil;
  r.tenant = "t' OR '1'='1";
  r.remote_id = "\"; DELETE FROM history; --";
  r.profile_json = R"({"subject":"CN=a' OR 1=1 --"})";
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  BOOST_REQUIRE(store->create(sample("AAAAAAAAAAAAAAAC"), created("AAAAAAAAAAAAAAAC")).ok());
  auto back = store->get(r.id).value().value();
  BOOST_TEST(back.name == evil);
  BOOST_TEST(back.tenant == r.tenant);
  BOOST_TEST(back.remote_id == r.remote_id);
  BOOST_TEST(back.profile_json == r.profile_json);
  BOOST_TEST(store->list({}).value().size() == 2u);
  // Ids and owners that look like array syntax are values too (PostgreSQL binds id lists as
  // one array parameter).
  const std::string odd_owner = "run \"a\",{b}\\";
  auto claimed =
      store->claim_due(odd_owner, t0(), t0() + std::chrono::minutes(5), {RecordState::planned}, 0);
  BOOST_TEST(claimed.value().size() == 2u);
  BOOST_TEST(store->lease_owner(r.id, t0()).value().value_or("") == odd_owner);
  BOOST_TEST(store->renew_leases(odd_owner, {r.id, "x\",\"y"}, t0() + std::chrono::hours(1))
                 .value()
                 .size() == 1u);
  BOOST_REQUIRE(store->release(odd_owner, {r.id, "AAAAAAAAAAAAAAAC"}).ok());
  BOOST_TEST(store->leases(t0()).value().empty());
}

BOOST_DATA_TEST_CASE(a_stale_write_is_refused_and_writes_nothing, bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  auto a = *store->create(sample("A000000000000000"), created("A000000000000000"));
  auto b = *store->create(sample("B000000000000000"), created("B000000000000000"));
  const HistoryEntry h = moved(a.id, RecordState::planned, RecordState::csrGenerated);
  Record a2 = a;
  a2.state = RecordState::csrGenerated;
  auto first = store->apply({{a2, h}});  // version 1 -> 2
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->front().version == 2);
  // Both writes in one batch; the second is stale, so neither is kept.
  Record b2 = b;
  b2.state = RecordState::csrGenerated;
  auto stale =
      store->apply({{b2, moved(b.id, RecordState::planned, RecordState::csrGenerated)}, {a2, h}});
  BOOST_REQUIRE(!stale.ok());
  BOOST_TEST(stale.error().message().find(kVersionConflict) != std::string::npos);
  BOOST_TEST(stale.error().subject() == a.id);
  BOOST_TEST((store->get(b.id).value()->state == RecordState::planned));
  BOOST_TEST(store->get(b.id).value()->version == 1);
  BOOST_TEST(store->history(b.id).value().size() == 1u);
  // A record that does not exist is refused the same way.
  Record ghost = sample("G000000000000000");
  ghost.version = 1;
  auto none = store->apply({{ghost, std::nullopt}});
  BOOST_TEST(!none.ok());
  BOOST_TEST(!store->get(ghost.id).value().has_value());
  // A write without a history row (bookkeeping) bumps the version and appends nothing.
  Record a3 = store->get(a.id).value().value();
  a3.verified_at = t0();
  BOOST_REQUIRE(store->apply({{a3, std::nullopt}}).ok());
  BOOST_TEST(store->get(a.id).value()->version == 3);
  BOOST_TEST(store->history(a.id).value().size() == 2u);
}

BOOST_DATA_TEST_CASE(history_is_append_only_even_for_other_programs, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  BOOST_REQUIRE(store->create(sample("A000000000000000"), created("A000000000000000")).ok());
  std::vector<std::string> attempts{"UPDATE history SET reason = 'x'", "DELETE FROM history"};
  if (backend == "postgres") attempts.push_back("TRUNCATE history CASCADE");
  for (const auto& sql : attempts) {
    BOOST_TEST_CONTEXT(sql) {
      bool ok = true;
      const std::string said = s.raw(sql, &ok);
      BOOST_TEST(!ok);
      BOOST_TEST(said.find("append-only") != std::string::npos, said);
    }
  }
  BOOST_TEST(store->history("A000000000000000").value().front().reason == "requested");
}

BOOST_DATA_TEST_CASE(the_journal_keeps_open_operations_until_they_are_closed,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
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
  BOOST_TEST(!store->journal_begin(op).ok());  // an operation id is journalled once
  Operation op2 = op;
  op2.op_id = "op-2";
  op2.created_at = t0() + std::chrono::seconds(1);
  BOOST_REQUIRE(store->journal_begin(op2).ok());
  BOOST_REQUIRE(store->journal_update("op-1", OperationState::sent, "", t0()).ok());
  auto open = store->journal_open().value();
  BOOST_REQUIRE(open.size() == 2u);
  BOOST_TEST(open[0].op_id == "op-1");  // oldest first
  BOOST_TEST((open[0].state == OperationState::sent));
  BOOST_REQUIRE(store
                    ->journal_update("op-1", OperationState::done, "201 id=0b1c",
                                     t0() + std::chrono::seconds(2))
                    .ok());
  BOOST_REQUIRE(store->journal_update("op-2", OperationState::failed, "400", t0()).ok());
  BOOST_TEST(store->journal_open().value().empty());
  auto of = store->journal_of("A000000000000000").value();
  BOOST_REQUIRE(of.size() == 2u);
  BOOST_TEST(of[0].response_summary == "201 id=0b1c");
  BOOST_TEST(of[0].client_request_id == op.client_request_id);
  BOOST_TEST(of[0].request_summary == op.request_summary);
  BOOST_TEST((of[0].updated_at == t0() + std::chrono::seconds(2)));
  BOOST_TEST(!store->journal_update("op-404", OperationState::done, "", t0()).ok());
  Operation orphan = op;
  orphan.op_id = "op-3";
  orphan.record_id = "NOSUCHRECORD0000";
  BOOST_TEST(!store->journal_begin(orphan).ok());  // the record must exist
}

BOOST_DATA_TEST_CASE(lists_filter_by_state_kind_and_expiry_in_creation_order,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  for (int i = 0; i < 6; ++i) {
    Record r = sample(id_of(6 - i));  // ids in the reverse order of creation
    r.created_at = t0() + std::chrono::seconds(i);
    r.kind = i % 2 ? RecordKind::gsa_tls_ca : RecordKind::cba_ca;
    r.state = i < 3 ? RecordState::planned : RecordState::active;
    if (i >= 3) r.not_after = t0() + std::chrono::hours(24 * (i - 2));
    BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  }
  auto all = store->list({}).value();
  BOOST_REQUIRE(all.size() == 6u);
  BOOST_TEST(all.front().id == id_of(6));
  BOOST_TEST(all.back().id == id_of(1));
  RecordFilter active;
  active.state = RecordState::active;
  BOOST_TEST(store->list(active).value().size() == 3u);
  RecordFilter gsa;
  gsa.kind = RecordKind::gsa_tls_ca;
  BOOST_TEST(store->list(gsa).value().size() == 3u);
  RecordFilter expiring;
  expiring.expiring_before = t0() + std::chrono::hours(24 * 2) + std::chrono::seconds(1);
  BOOST_TEST(store->list(expiring).value().size() == 2u);  // those without not_after are not
  RecordFilter two;
  two.limit = 2;
  auto first_two = store->list(two).value();
  BOOST_REQUIRE(first_two.size() == 2u);
  BOOST_TEST(first_two[1].id == id_of(5));
}

BOOST_DATA_TEST_CASE(a_lease_keeps_other_runs_away_until_it_expires, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  for (const char* id : {"A000000000000000", "B000000000000000", "C000000000000000"})
    BOOST_REQUIRE(store->create(sample(id), created(id)).ok());
  const std::vector<RecordState> due{RecordState::planned};
  auto a = store->claim_due("run-a", t0(), t0() + std::chrono::minutes(5), due, 2);
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->size() == 2u);
  auto other = s.open();  // another worker's connection
  auto b = other->claim_due("run-b", t0(), t0() + std::chrono::minutes(5), due, 10);
  BOOST_TEST(b->size() == 1u);  // only the one run-a did not take
  BOOST_TEST(other->claim_due("run-b", t0(), t0() + std::chrono::minutes(5), due, 10)->size() ==
             1u);  // its own again
  BOOST_TEST(other->lease_owner(a->front().id, t0()).value().value_or("") == "run-a");
  auto leases = other->leases(t0()).value();
  BOOST_TEST(leases.size() == 3u);
  BOOST_TEST(leases.front().record_id == "A000000000000000");  // by id
  BOOST_TEST((leases.front().expires_at == t0() + std::chrono::minutes(5)));
  // run-a dies; after its lease expires run-b may take its records.
  auto later = t0() + std::chrono::minutes(6);
  BOOST_TEST(other->leases(later).value().empty());
  BOOST_TEST(other->claim_due("run-b", later, later + std::chrono::minutes(5), due, 10)->size() ==
             3u);
  BOOST_REQUIRE(other->release("run-b", {a->front().id}).ok());
  BOOST_TEST(!other->lease_owner(a->front().id, later).value().has_value());
  // Releasing what another run holds releases nothing.
  BOOST_REQUIRE(store->release("run-a", {"B000000000000000", "C000000000000000"}).ok());
  BOOST_TEST(store->leases(later).value().size() == 2u);
}

BOOST_DATA_TEST_CASE(a_dead_owners_leases_are_broken_and_a_live_ones_renewed,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  for (int i = 1; i <= 4; ++i)
    BOOST_REQUIRE(store->create(sample(id_of(i)), created(id_of(i))).ok());
  const std::vector<RecordState> due{RecordState::planned};
  BOOST_REQUIRE(store->claim_due("dead", t0(), t0() + std::chrono::minutes(5), due, 2)->size() ==
                2u);
  BOOST_REQUIRE(store->claim_due("live", t0(), t0() + std::chrono::minutes(5), due, 0)->size() ==
                2u);
  BOOST_TEST(store->break_leases("dead").value() == 2u);
  BOOST_TEST(store->break_leases("dead").value() == 0u);
  // The heartbeat: "live" still holds two, not the ones it never had.
  auto held = store
                  ->renew_leases("live", {id_of(1), id_of(2), id_of(3), id_of(4)},
                                 t0() + std::chrono::minutes(30))
                  .value();
  std::set<std::string> got(held.begin(), held.end());
  BOOST_TEST(got == (std::set<std::string>{id_of(3), id_of(4)}));
  const auto later = t0() + std::chrono::minutes(20);
  BOOST_TEST(store->leases(later).value().size() == 2u);
  // The broken leases are free for anyone at once.
  BOOST_TEST(store->claim_due("next", t0(), t0() + std::chrono::minutes(5), due, 0)->size() == 2u);
}

BOOST_DATA_TEST_CASE(records_not_yet_due_are_not_claimed, bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  Record r = sample("A000000000000000");
  r.next_attempt_at = t0() + std::chrono::hours(1);
  BOOST_REQUIRE(store->create(r, created(r.id)).ok());
  Record soon = sample("B000000000000000");
  soon.state = RecordState::signed_;
  BOOST_REQUIRE(store->create(soon, created(soon.id)).ok());
  BOOST_TEST(
      store->claim_due("run", t0(), t0() + std::chrono::minutes(5), {RecordState::planned}, 10)
          ->empty());
  auto later = t0() + std::chrono::hours(2);
  auto got =
      store->claim_due("run", later, later + std::chrono::minutes(5), {RecordState::planned}, 10);
  BOOST_REQUIRE(got->size() == 1u);
  BOOST_TEST(got->front().id == r.id);  // the signed one is not in the states asked for
}

// A run reads what is due a page at a time: every due record exactly once across the pages,
// in id order, leased or not; none that is not due yet, in another state, or active while a
// live successor renews it.
BOOST_DATA_TEST_CASE(due_records_are_read_in_pages_each_once, bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  std::set<std::string> due;
  for (int i = 0; i < 23; ++i) {
    Record r = sample(id_of(i));
    r.state = i % 3 == 0   ? RecordState::planned
              : i % 3 == 1 ? RecordState::uploaded
                           : RecordState::active;
    if (i % 5 == 0) r.next_attempt_at = t0() + std::chrono::hours(1);  // not due yet
    if (i == 7) r.state = RecordState::failed;                         // not a due state
    BOOST_REQUIRE(store->create(r, created(r.id)).ok());
    const bool is_due = !(i % 5 == 0) && i != 7;
    if (is_due) due.insert(r.id);
  }
  // A live successor renews record 2 (active): it is left out; one renewing record 8 (active)
  // has failed, so 8 is still due.
  Record successor = sample("S000000000000001");
  successor.renews = id_of(2);
  BOOST_REQUIRE(store->create(successor, created(successor.id)).ok());
  due.insert(successor.id);
  due.erase(id_of(2));
  Record gave_up = sample("S000000000000002");
  gave_up.renews = id_of(8);
  BOOST_REQUIRE(store->create(gave_up, created(gave_up.id)).ok());
  gave_up.state = RecordState::failed;
  gave_up.version = 1;
  BOOST_REQUIRE(
      store->apply({{gave_up, moved(gave_up.id, RecordState::planned, RecordState::failed)}}).ok());
  // Another run's lease does not hide a record: claiming decides.
  BOOST_REQUIRE(
      store->claim_ids("another run", {id_of(4)}, t0(), t0() + std::chrono::hours(1))->size() ==
      1u);
  const std::vector<RecordState> states{RecordState::planned, RecordState::uploaded,
                                        RecordState::active};
  std::vector<std::string> read;
  std::string after;
  for (int pages = 0; pages < 20; ++pages) {
    auto page = store->due_page(states, t0(), after, 4);
    BOOST_TEST_REQUIRE(page.ok(), pkiflow::test::why(page));
    for (const auto& r : *page)
      read.push_back(r.id);
    if (page->size() < 4) break;
    after = page->back().id;
  }
  BOOST_TEST(std::is_sorted(read.begin(), read.end()));
  BOOST_TEST(std::set<std::string>(read.begin(), read.end()).size() == read.size());
  BOOST_TEST((std::set<std::string>(read.begin(), read.end()) == due));
}

BOOST_DATA_TEST_CASE(a_renewal_is_planned_once_and_only_of_an_active_record, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  Record old = sample("OLD0000000000000");
  old.state = RecordState::active;
  BOOST_REQUIRE(store->create(old, created(old.id)).ok());
  Record planned = sample("PLN0000000000000");
  BOOST_REQUIRE(store->create(planned, created(planned.id)).ok());
  // Six workers find the renewal due at the same moment, each on its own connection.
  std::mutex mu;
  std::vector<std::string> made, refusals;
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w)
    workers.emplace_back([&, w] {
      auto mine = open_store(s.url);
      if (!mine) return;
      Record r = sample("NEW" + std::string(12, '0') + std::to_string(w));
      r.renews = old.id;
      auto c = (*mine)->create(r, created(r.id));
      std::lock_guard lock(mu);
      if (c)
        made.push_back(r.id);
      else
        refusals.push_back(c.error().message());
    });
  for (auto& t : workers)
    t.join();
  BOOST_TEST(made.size() == 1u);
  BOOST_TEST(refusals.size() == 5u);
  for (const auto& why : refusals)
    BOOST_TEST(why.find("already being renewed") != std::string::npos, why);
  Record r = sample("NEWX000000000000");
  r.renews = planned.id;
  auto not_active = store->create(r, created(r.id));
  BOOST_REQUIRE(!not_active.ok());
  BOOST_TEST(not_active.error().message().find("not active") != std::string::npos);
  BOOST_TEST(!store->get(r.id).value().has_value());
}

// Claims by several workers at once (threads, each with its own connection): every record is
// worked by exactly one of them, and none of their version-checked writes collide.
BOOST_DATA_TEST_CASE(workers_claiming_at_once_take_each_record_exactly_once, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  constexpr int kRecords = 120, kWorkers = 6;
  for (int i = 0; i < kRecords; ++i)
    BOOST_REQUIRE(store->create(sample(id_of(i)), created(id_of(i))).ok());
  std::mutex mu;
  std::vector<std::string> worked, errors;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&, w] {
      auto mine = open_store(s.url);
      if (!mine) {
        std::lock_guard lock(mu);
        errors.push_back(mine.error().what());
        return;
      }
      const std::string owner = "worker-" + std::to_string(w);
      for (;;) {
        auto claimed = (*mine)->claim_due(owner, t0(), t0() + std::chrono::minutes(5),
                                          {RecordState::planned}, 7);
        if (!claimed || claimed->empty()) {
          if (!claimed) {
            std::lock_guard lock(mu);
            errors.push_back(claimed.error().what());
          }
          return;
        }
        std::vector<std::string> ids;
        for (auto r : *claimed) {
          const auto from = r.state;
          r.state = RecordState::csrGenerated;
          auto done = (*mine)->apply({{r, moved(r.id, from, r.state)}});
          std::lock_guard lock(mu);
          if (done)
            worked.push_back(r.id);
          else
            errors.push_back(done.error().what());
          ids.push_back(r.id);
        }
        (void)(*mine)->release(owner, ids);
      }
    });
  for (auto& t : workers)
    t.join();
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  BOOST_TEST(worked.size() == static_cast<std::size_t>(kRecords));
  BOOST_TEST(std::set<std::string>(worked.begin(), worked.end()).size() == worked.size());
  RecordFilter still;
  still.state = RecordState::planned;
  BOOST_TEST(store->list(still).value().empty());
  for (int i = 0; i < kRecords; i += 17)
    BOOST_TEST(store->history(id_of(i)).value().size() == 2u);
}

// The way a run shares its due records with other runs: every worker walks the same list of
// due ids a batch at a time (from its own starting point) and claims them by id. Each record
// is worked by exactly one; records not yet due or held by a live lease are not claimed.
BOOST_DATA_TEST_CASE(workers_claiming_the_same_ids_take_each_exactly_once, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  constexpr int kRecords = 90, kWorkers = 5;
  std::vector<std::string> ids;
  for (int i = 0; i < kRecords; ++i) {
    ids.push_back(id_of(i));
    BOOST_REQUIRE(store->create(sample(id_of(i)), created(id_of(i))).ok());
  }
  Record later = sample("LATER00000000000");
  later.next_attempt_at = t0() + std::chrono::hours(1);
  BOOST_REQUIRE(store->create(later, created(later.id)).ok());
  BOOST_REQUIRE(
      store->claim_due("live-run", t0(), t0() + std::chrono::hours(1), {RecordState::planned}, 1)
          ->size() == 1u);  // id_of(0), held by a live run
  std::vector<std::string> asked = ids;
  asked.push_back(later.id);
  std::mutex mu;
  std::vector<std::string> worked, errors;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&, w] {
      auto mine = open_store(s.url);
      if (!mine) return;
      const std::string owner = "worker-" + std::to_string(w);
      const std::size_t n = asked.size();
      for (std::size_t k = 0; k < n; k += 4) {
        std::vector<std::string> batch;
        for (std::size_t j = k; j < std::min(n, k + 4); ++j)
          batch.push_back(asked[(j + static_cast<std::size_t>(w) * 19) % n]);
        auto got = (*mine)->claim_ids(owner, batch, t0(), t0() + std::chrono::minutes(5));
        std::lock_guard lock(mu);
        if (!got) {
          errors.push_back(got.error().what());
          return;
        }
        for (const auto& r : *got)
          worked.push_back(r.id);
      }
    });
  for (auto& t : workers)
    t.join();
  BOOST_TEST(errors.empty(), (errors.empty() ? "" : errors.front()));
  std::set<std::string> distinct(worked.begin(), worked.end());
  BOOST_TEST(distinct.size() == worked.size(), "a record was claimed by two workers");
  BOOST_TEST(distinct.size() == static_cast<std::size_t>(kRecords - 1));
  BOOST_TEST(distinct.count(id_of(0)) == 0u);  // the live run's
  BOOST_TEST(distinct.count(later.id) == 0u);  // not yet due
  // An owner's own lease is claimed again (a run takes back what it holds).
  BOOST_TEST(store->claim_ids("live-run", {id_of(0)}, t0(), t0() + std::chrono::hours(2))->size() ==
             1u);
}

// Throttling shared by a fleet: the latest "not before" any worker saw for a tenant wins, and
// it is in force until it passes.
BOOST_DATA_TEST_CASE(a_tenants_throttling_is_seen_by_every_worker, bdata::make(kBackends),
                     backend) {
  StoreUnderTest s(backend);
  auto one = s.open();
  auto other = s.open();
  BOOST_TEST(!other->not_before("contoso", t0()).value().has_value());
  BOOST_REQUIRE(one->throttle("contoso", t0() + std::chrono::seconds(30), t0()).ok());
  BOOST_REQUIRE(one->throttle("contoso", t0() + std::chrono::seconds(10), t0()).ok());  // earlier
  BOOST_TEST((other->not_before("contoso", t0()).value() == t0() + std::chrono::seconds(30)));
  BOOST_TEST(!other->not_before("fabrikam", t0()).value().has_value());
  BOOST_TEST(!other->not_before("contoso", t0() + std::chrono::seconds(30)).value().has_value());
  BOOST_REQUIRE(other->throttle("contoso", t0() + std::chrono::minutes(2), t0()).ok());
  BOOST_TEST((one->not_before("contoso", t0() + std::chrono::minutes(1)).value() ==
              t0() + std::chrono::minutes(2)));
}

// Workers writing one record at once: each write that wins bumps the version once, each that
// loses is told kVersionConflict, and the count of winners is what the record and its history
// show.
BOOST_DATA_TEST_CASE(concurrent_writes_of_one_record_lose_only_to_a_version_conflict,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  BOOST_REQUIRE(store->create(sample("A000000000000000"), created("A000000000000000")).ok());
  std::mutex mu;
  int wins = 0, conflicts = 0;
  std::vector<std::string> other;
  std::vector<std::thread> workers;
  for (int w = 0; w < 5; ++w)
    workers.emplace_back([&] {
      auto mine = open_store(s.url);
      if (!mine) return;
      for (int i = 0; i < 15; ++i) {
        auto r = (*mine)->get("A000000000000000");
        if (!r || !r->has_value()) continue;
        Record next = **r;
        next.attempts += 1;
        auto done =
            (*mine)->apply({{next, moved(next.id, RecordState::planned, RecordState::planned)}});
        std::lock_guard lock(mu);
        if (done)
          ++wins;
        else if (done.error().message().find(kVersionConflict) != std::string::npos)
          ++conflicts;
        else
          other.push_back(done.error().what());
      }
    });
  for (auto& t : workers)
    t.join();
  BOOST_TEST(other.empty(), (other.empty() ? "" : other.front()));
  BOOST_TEST(wins + conflicts == 75);
  auto r = store->get("A000000000000000").value().value();
  BOOST_TEST(r.attempts == wins);
  BOOST_TEST(r.version == 1 + wins);
  BOOST_TEST(store->history(r.id).value().size() == static_cast<std::size_t>(1 + wins));
}

BOOST_DATA_TEST_CASE(a_read_only_opening_reads_and_never_writes, bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto none = open_store(s.url, OpenMode::read_only);
  BOOST_REQUIRE(!none.ok());
  BOOST_TEST(none.error().message().find("nothing was requested") != std::string::npos,
             none.error().what());
  {
    auto store = s.open();
    BOOST_REQUIRE(store->create(sample("A000000000000000"), created("A000000000000000")).ok());
  }
  auto reader = s.open(OpenMode::read_only);
  BOOST_TEST(reader->list({}).value().size() == 1u);
  BOOST_TEST(!reader->create(sample("B000000000000000"), created("B000000000000000")).ok());
  BOOST_TEST(reader->list({}).value().size() == 1u);
}

BOOST_DATA_TEST_CASE(every_older_schema_migrates_forward_with_its_data, bdata::make(kBackends),
                     backend) {
  for (int from = sql::kOldestSupportedVersion; from < sql::kCurrentVersion; ++from) {
    BOOST_TEST_CONTEXT("a store of schema " << from) {
      StoreUnderTest s(backend);
      BOOST_REQUIRE(s.create_at(from).ok());
      bool ok = false;
      const std::string said = s.raw(
          "INSERT INTO records (id, kind, name, tenant, state, created_at, updated_at, "
          "version) VALUES ('OLD0000000000000', 'gsa-tls-ca', 'tlsca01', 't', 'active', "
          "1, 1, 3);"
          "INSERT INTO history (record_id, from_state, to_state, at, reason, actor) "
          "VALUES ('OLD0000000000000', NULL, 'planned', 1, 'requested', 'v1');",
          &ok);
      BOOST_REQUIRE_MESSAGE(ok, said);
      // A reader does not migrate: it says what to do.
      auto reader = open_store(s.url, OpenMode::read_only);
      BOOST_REQUIRE(!reader.ok());
      BOOST_TEST(reader.error().message().find("pkiflow run") != std::string::npos);
      auto store = s.open();
      auto r = store->get("OLD0000000000000").value();
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(r->version == 3);
      BOOST_TEST((r->state == RecordState::active));
      BOOST_TEST(!r->verified_at.has_value());  // version 3's drift columns
      BOOST_TEST(r->drift.empty());
      BOOST_TEST(r->bundle_id.empty());  // version 4's bundle columns
      BOOST_TEST(!r->bundle_exported_at.has_value());
      BOOST_TEST(store->throttle("t", t0(), t0()).ok());  // version 5's shared throttling
      auto claimed =
          store->claim_due("run", t0(), t0() + std::chrono::minutes(1), {RecordState::active}, 5);
      BOOST_TEST(claimed->size() == 1u);  // version 2's lease columns
      BOOST_TEST(store->history("OLD0000000000000")->size() == 1u);
      BOOST_TEST(s.open(OpenMode::read_only)->list({}).value().size() == 1u);
    }
  }
}

BOOST_DATA_TEST_CASE(a_store_from_a_newer_pkiflow_or_another_application_is_left_untouched,
                     bdata::make(kBackends), backend) {
  {
    StoreUnderTest s(backend);
    BOOST_REQUIRE(s.create_at(sql::kCurrentVersion).ok());
    s.raw(s.set_version_sql(99));
    auto newer = open_store(s.url);
    BOOST_REQUIRE(!newer.ok());
    BOOST_TEST(newer.error().message().find("newer than this pkiflow") != std::string::npos);
    BOOST_TEST(s.raw("SELECT count(*) FROM records") == "0\n");
  }
  {
    StoreUnderTest s(backend);
    s.raw("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');");
    auto foreign = open_store(s.url);
    BOOST_REQUIRE(!foreign.ok());
    BOOST_TEST(foreign.error().message().find("another application") != std::string::npos,
               foreign.error().what());
    BOOST_TEST(s.raw("SELECT title FROM songs") == "x\n");
    bool ok = true;
    s.raw("SELECT count(*) FROM records", &ok);
    BOOST_TEST(!ok, "pkiflow created its tables in another application's database");
  }
}

// The copy interface (`pkiflow state migrate`): pages that cover everything once, an import that
// takes records naming each other in any order, and one that keeps nothing unless committed.
BOOST_DATA_TEST_CASE(a_store_is_read_in_pages_and_imported_in_one_transaction,
                     bdata::make(kBackends), backend) {
  StoreUnderTest s(backend);
  auto store = s.open();
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(store->create(sample(id_of(i)), created(id_of(i))).ok());
  Record r = store->get(id_of(0)).value().value();
  BOOST_REQUIRE(store->apply({{r, moved(r.id, RecordState::planned, RecordState::planned)}}).ok());
  BOOST_REQUIRE(store
                    ->journal_begin({"op-b", id_of(1), "create", "POST /x", "c",
                                     OperationState::done, "201", t0(), t0()})
                    .ok());
  BOOST_REQUIRE(store
                    ->journal_begin({"op-a", id_of(2), "create", "POST /x", "c",
                                     OperationState::sent, "", t0(), t0()})
                    .ok());
  BOOST_TEST((store->counts().value() == StoreCounts{5, 6, 2}));
  std::vector<std::string> ids;
  for (std::string after;;) {
    auto page = store->records_page(after, 2).value();
    if (page.empty()) break;
    for (const auto& rec : page)
      ids.push_back(rec.id);
    after = page.back().id;
  }
  BOOST_TEST(ids == (std::vector<std::string>{id_of(0), id_of(1), id_of(2), id_of(3), id_of(4)}));
  auto first = store->history_page(0, 4).value();
  BOOST_REQUIRE(first.size() == 4u);
  auto rest = store->history_page(first.back().seq, 4).value();
  BOOST_REQUIRE(rest.size() == 2u);
  BOOST_TEST(rest.back().record_id == id_of(0));  // the apply came last
  BOOST_TEST(store->journal_page("", 1).value().front().op_id == "op-a");
  BOOST_TEST(store->journal_page("op-a", 5).value().size() == 1u);

  StoreUnderTest t(backend);
  auto target = t.open();
  Record newer = sample("NEW0000000000000");
  newer.renews = "OLD0000000000000";  // named before it is imported
  newer.version = 7;
  Record older = sample("OLD0000000000000");
  older.state = RecordState::superseded;
  older.superseded_by = newer.id;
  {
    auto imp = target->begin_import().value();
    BOOST_REQUIRE(imp->add_records({newer}).ok());
    BOOST_REQUIRE(imp->add_records({older}).ok());
    BOOST_REQUIRE(imp->add_history({created(newer.id), created(older.id)}).ok());
    BOOST_REQUIRE(imp->commit().ok());
  }
  auto n = target->get(newer.id).value().value();
  BOOST_TEST(n.renews == older.id);
  BOOST_TEST(n.version == 7);
  BOOST_TEST(target->get(older.id).value()->superseded_by == newer.id);
  {  // dropped without commit: nothing kept
    auto imp = target->begin_import().value();
    BOOST_REQUIRE(imp->add_records({sample("DROP000000000000")}).ok());
  }
  BOOST_TEST(!target->get("DROP000000000000").value().has_value());
  {  // an id the target holds: refused by name
    auto imp = target->begin_import().value();
    BOOST_REQUIRE(imp->add_records({sample("FRESH00000000000")}).ok());
    auto dup = imp->add_records({sample(newer.id)});
    BOOST_REQUIRE(!dup.ok());
    BOOST_TEST(dup.error().what().find(newer.id) != std::string::npos, dup.error().what());
  }
  BOOST_TEST(!target->get("FRESH00000000000").value().has_value());
  {  // a link to a record that was not imported: refused at commit
    auto imp = target->begin_import().value();
    Record orphan = sample("ORPHAN0000000000");
    orphan.renews = "NOWHERE000000000";
    BOOST_REQUIRE(imp->add_records({orphan}).ok());
    BOOST_TEST(!imp->commit().ok());
  }
  BOOST_TEST(!target->get("ORPHAN0000000000").value().has_value());
  BOOST_TEST((target->counts().value() == StoreCounts{2, 2, 0}));
}

BOOST_AUTO_TEST_CASE(both_dialects_have_every_migration) {
  BOOST_TEST(sql::migrations().size() == static_cast<std::size_t>(sql::kCurrentVersion));
  BOOST_TEST(sql::postgres_migrations().size() == static_cast<std::size_t>(sql::kCurrentVersion));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace store_conformance_test

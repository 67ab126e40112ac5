// `pkiflow state migrate` (issue 16, part 3): a store's records, history and journal copied from
// SQLite to a real PostgreSQL server and back through the CLI, compared row by row with the
// original; a non-empty target, an overlapping id and a store a run is using are refused with
// nothing written; the PostgreSQL password comes from the config's file and is never printed.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "state/sqlite/sqlite_store.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace store_migrate_test {

using namespace pkiflow;
using namespace pkiflow::state;
using pkiflow::test::PostgresServer;
using pkiflow::test::quote;
using pkiflow::test::run_cli;
using pkiflow::test::TempDir;

namespace {

TimePoint t0() {
  return TimePoint(std::chrono::seconds(1'800'000'000));
}

HistoryEntry row(const std::string& id, std::optional<RecordState> from, RecordState to,
                 int minute) {
  HistoryEntry h;
  h.record_id = id;
  h.from = from;
  h.to = to;
  h.at = t0() + std::chrono::minutes(minute);
  h.reason = "step " + std::to_string(minute);
  h.actor = "test";
  h.details_json = R"({"minute":)" + std::to_string(minute) + "}";
  return h;
}

// A store with a renewed lineage (the old record superseded by the new one, links both ways),
// a failed record, history rows interleaved between records, and journal entries.
void fill(StateStore& s) {
  Record old;
  old.id = "LINEAGE0000000001";
  old.kind = RecordKind::gsa_tls_ca;
  old.name = "tlsca01";
  old.tenant = "contoso";
  old.state = RecordState::active;
  old.certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  old.not_after = t0() + std::chrono::hours(24 * 365);
  old.created_at = old.updated_at = t0();
  BOOST_REQUIRE(s.create(old, row(old.id, std::nullopt, RecordState::planned, 0)).ok());
  Record failed = old;
  failed.id = "AFAILED000000000";
  failed.kind = RecordKind::intune_codesigning;
  failed.state = RecordState::failed;
  failed.failed_from = RecordState::signed_;
  failed.last_error = "400 from Graph: bad certificate";
  failed.attempts = 4;
  BOOST_REQUIRE(s.create(failed, row(failed.id, std::nullopt, RecordState::planned, 1)).ok());
  Record next = old;
  next.id = "LINEAGE0000000002";
  next.state = RecordState::planned;
  next.renews = old.id;
  BOOST_REQUIRE(s.create(next, row(next.id, std::nullopt, RecordState::planned, 2)).ok());
  Record n2 = s.get(next.id).value().value();
  n2.state = RecordState::active;
  BOOST_REQUIRE(s.apply({{n2, row(n2.id, RecordState::planned, RecordState::active, 3)}}).ok());
  Record o2 = s.get(old.id).value().value();
  o2.state = RecordState::superseded;
  o2.superseded_by = next.id;
  BOOST_REQUIRE(s.apply({{o2, row(o2.id, RecordState::active, RecordState::superseded, 4)}}).ok());
  for (int i = 0; i < 3; ++i) {
    Operation op{"op-" + std::to_string(i),
                 i == 2 ? failed.id : next.id,
                 "upload",
                 "PATCH /networkAccess/tls/externalCertificateAuthorityCertificates/x",
                 "cid-" + std::to_string(i),
                 i == 0 ? OperationState::sent : OperationState::done,
                 i == 0 ? "" : "204",
                 t0() + std::chrono::seconds(i),
                 t0() + std::chrono::seconds(i)};
    BOOST_REQUIRE(s.journal_begin(op).ok());
  }
}

std::unique_ptr<StateStore> open(const std::string& url) {
  auto s = open_store(url);
  BOOST_REQUIRE_MESSAGE(s.ok(), pkiflow::test::why(s));
  return std::move(*s);
}

// Every record, every history row (in order) and every journal entry of `a` and `b` agree.
void check_same(StateStore& a, StateStore& b) {
  BOOST_TEST((a.counts().value() == b.counts().value()));
  for (const auto& r : a.list({}).value()) {
    BOOST_TEST_CONTEXT("record " << r.id) {
      auto c = b.get(r.id).value();
      BOOST_REQUIRE(c.has_value());
      BOOST_TEST(c->version == r.version);
      BOOST_TEST((c->state == r.state));
      BOOST_TEST(c->renews == r.renews);
      BOOST_TEST(c->superseded_by == r.superseded_by);
      BOOST_TEST(c->last_error == r.last_error);
      BOOST_TEST((c->failed_from == r.failed_from));
      BOOST_TEST(c->certificate_pem == r.certificate_pem);
      const auto ha = a.history(r.id).value(), hb = b.history(r.id).value();
      BOOST_REQUIRE(ha.size() == hb.size());
      for (std::size_t i = 0; i < ha.size(); ++i) {
        BOOST_TEST((ha[i].from == hb[i].from));
        BOOST_TEST((ha[i].to == hb[i].to));
        BOOST_TEST((ha[i].at == hb[i].at));
        BOOST_TEST(ha[i].reason == hb[i].reason);
        BOOST_TEST(ha[i].details_json == hb[i].details_json);
      }
      const auto ja = a.journal_of(r.id).value(), jb = b.journal_of(r.id).value();
      BOOST_REQUIRE(ja.size() == jb.size());
      for (std::size_t i = 0; i < ja.size(); ++i) {
        BOOST_TEST(ja[i].op_id == jb[i].op_id);
        BOOST_TEST((ja[i].state == jb[i].state));
        BOOST_TEST(ja[i].client_request_id == jb[i].client_request_id);
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_migrate)

BOOST_AUTO_TEST_CASE(a_store_goes_to_postgresql_and_back_unchanged) {
  TempDir dir;
  auto& server = PostgresServer::shared();
  const std::string sqlite_url = "sqlite://" + (dir / "state.db").string();
  const std::string pg_url = server.socket_url(server.fresh_database());
  fill(*open(sqlite_url));

  auto there = run_cli("state migrate --from " + quote(sqlite_url) + " --to " +
                       quote(std::filesystem::path(pg_url)) + " --json");
  BOOST_REQUIRE_MESSAGE(there.exit_code == 0, there.err + there.out);
  auto j = nlohmann::json::parse(there.out);
  BOOST_TEST(j["copied"]["records"] == 3);
  BOOST_TEST(j["copied"]["history"] == 5);
  BOOST_TEST(j["copied"]["journal"] == 3);
  BOOST_TEST(j["records_checked"] == 3);
  check_same(*open(sqlite_url), *open(pg_url));

  const std::string back_url = "sqlite://" + (dir / "back.db").string();
  auto back = run_cli("state migrate --from " + quote(std::filesystem::path(pg_url)) + " --to " +
                      quote(back_url));
  BOOST_REQUIRE_MESSAGE(back.exit_code == 0, back.err + back.out);
  BOOST_TEST(back.out.find("copied 3 records, 5 history rows and 3 journal entries") !=
             std::string::npos);
  check_same(*open(sqlite_url), *open(back_url));
  struct stat st {};
  BOOST_REQUIRE(::stat((dir / "back.db").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  // The copies work as stores: the lineage goes on where it stood.
  auto copy = open(back_url);
  Record next = copy->get("LINEAGE0000000002").value().value();
  next.attempts = 1;
  BOOST_TEST(copy->apply({{next, row(next.id, RecordState::active, RecordState::active, 9)}}).ok());
}

BOOST_AUTO_TEST_CASE(a_target_that_holds_anything_is_refused_and_left_as_it_was) {
  TempDir dir;
  auto& server = PostgresServer::shared();
  const std::string a = "sqlite://" + (dir / "a.db").string();
  const std::string pg_url = server.socket_url(server.fresh_database());
  fill(*open(a));
  BOOST_REQUIRE(
      run_cli("state migrate --from " + quote(a) + " --to " + quote(std::filesystem::path(pg_url)))
          .exit_code == 0);
  const auto before = open(pg_url)->counts().value();

  auto again =
      run_cli("state migrate --from " + quote(a) + " --to " + quote(std::filesystem::path(pg_url)));
  BOOST_TEST(again.exit_code == 2);
  BOOST_TEST(again.err.find("already holds 3 records") != std::string::npos, again.err);
  // Told to add to it, the overlapping ids are refused by name, and nothing is added.
  auto overlap = run_cli("state migrate --into-non-empty --from " + quote(a) + " --to " +
                         quote(std::filesystem::path(pg_url)));
  BOOST_TEST(overlap.exit_code == 2);
  BOOST_TEST(overlap.err.find("is already in") != std::string::npos, overlap.err);
  BOOST_TEST((open(pg_url)->counts().value() == before));
}

BOOST_AUTO_TEST_CASE(a_store_a_run_is_using_is_not_copied) {
  TempDir dir;
  const std::string a = "sqlite://" + (dir / "a.db").string();
  const std::string b = "sqlite://" + (dir / "b.db").string();
  {
    auto s = open(a);
    fill(*s);
    const auto now = std::chrono::system_clock::now();
    BOOST_REQUIRE(s->claim_due("host=h pid=1 run=R", now, now + std::chrono::minutes(5),
                               {RecordState::active, RecordState::failed, RecordState::superseded},
                               1)
                      ->size() == 1u);
  }
  auto busy = run_cli("state migrate --from " + quote(a) + " --to " + quote(b) + " --json");
  BOOST_TEST(busy.exit_code == 8);
  auto j = nlohmann::json::parse(busy.out);
  BOOST_TEST(j["error"]["kind"] == "busy");
  BOOST_TEST(j["error"]["message"].get<std::string>().find("host=h pid=1 run=R") !=
             std::string::npos);
}

// Over TCP the server wants a password: the config's state_password_file gives it, and neither
// the output nor an error shows it (an error shows the URL with *** for a password in it).
BOOST_AUTO_TEST_CASE(the_password_comes_from_the_config_file_and_is_never_printed) {
  TempDir dir;
  auto& server = PostgresServer::shared();
  const std::string a = "sqlite://" + (dir / "a.db").string();
  fill(*open(a));
  const std::string tcp = server.tcp_url(server.fresh_database());
  pkiflow::test::write_file(dir / "pg-password", std::string(PostgresServer::kPassword) + "\n");
  ::chmod((dir / "pg-password").c_str(), 0600);
  pkiflow::test::write_file(dir / "pkiflow.json", R"({"state_password_file": "pg-password"})");
  const std::string env = "PGPASSWORD= PGPASSFILE=/nonexistent ";
  auto without = pkiflow::test::run(env + quote(PKIFLOW_CLI_PATH) + " state migrate --from " +
                                    quote(a) + " --to " + quote(std::filesystem::path(tcp)));
  BOOST_TEST(without.exit_code != 0);
  BOOST_TEST(without.err.find("password") != std::string::npos, without.err);

  auto with = pkiflow::test::run(env + quote(PKIFLOW_CLI_PATH) + " state migrate --config " +
                                 quote(dir / "pkiflow.json") + " --from " + quote(a) + " --to " +
                                 quote(std::filesystem::path(tcp)) + " --json");
  BOOST_REQUIRE_MESSAGE(with.exit_code == 0, with.err + with.out);
  BOOST_TEST(with.out.find(PostgresServer::kPassword) == std::string::npos);
  BOOST_TEST(with.err.find(PostgresServer::kPassword) == std::string::npos);

  const std::string in_url =
      "postgresql://pkiflow:wrong-9f3a@127.0.0.1:" + std::to_string(server.port()) + "/nosuchdb";
  auto wrong =
      pkiflow::test::run(env + quote(PKIFLOW_CLI_PATH) + " state migrate --from " + quote(a) +
                         " --to " + quote(std::filesystem::path(in_url)) + " --json");
  BOOST_TEST(wrong.exit_code != 0);
  BOOST_TEST(wrong.out.find("wrong-9f3a") == std::string::npos, wrong.out);
  BOOST_TEST(wrong.err.find("wrong-9f3a") == std::string::npos, wrong.err);
  BOOST_TEST(wrong.out.find("pkiflow:***@127.0.0.1") != std::string::npos, wrong.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace store_migrate_test

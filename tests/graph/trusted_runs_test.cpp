// The eight ways unattended runs went wrong (issue 10), one test each, against the emulator
// behaving as the service does today: answers lost after a change was applied, a server that
// ignores $filter with foreign objects named like pkiflow's, a dead run's leases, cancel on every
// state, request --from-config after renewals, a lease taken mid-run, SIGTERM, and several CBA
// records racing for one container whose first create is throttled.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <set>
#include <thread>

#include "engine/run/run_owner.hpp"
#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace trusted_runs_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run;
using pkiflow::test::write_file;

namespace {

std::string sql(const Lab& lab, const std::string& statement) {
  auto r = run("sqlite3 " + quote(lab.dir() / "state.db") + " \"" + statement + "\"");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  std::string v = r.out;
  while (!v.empty() && v.back() == '\n')
    v.pop_back();
  return v;
}

std::size_t changes(emulator::GraphEmulator& emu) {
  std::size_t n = 0;
  for (const auto& e : emu.log())
    n += e.method != "GET";
  return n;
}

std::string history_of(const Lab& lab, const std::string& id) {
  return lab.cli("history", id).out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_trusted_runs)

// Finding 1: the create's, the upload's and the enable's answers are lost after the service
// applied them. The service refuses a second upload; the run reads each object back and adopts.
BOOST_AUTO_TEST_CASE(lost_answers_to_applied_changes_are_read_back_and_adopted) {
  auto opt = emulator_options();
  opt.staged_flow = true;
  opt.faults.first_kind = "lost";
  opt.faults.first_count = 3;  // POST, PATCH {certificate, chain}, PATCH {status}
  LiveEmulator live(opt, 41);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  run_until_settled(lab, 5);
  BOOST_TEST(lab.record(id)["state"] == "active", history_of(lab, id));
  const auto objects = live.emu().tls_objects();
  BOOST_TEST_REQUIRE(objects.size() == 1u);
  BOOST_TEST(objects[0].status == "active");
  // The upload and the enable each reached the service once; nothing was sent again after it
  // applied (the service would have refused a second upload with 400).
  int patches = 0, refused = 0;
  for (const auto& e : live.emu().log()) {
    patches += e.method == "PATCH";
    refused += e.method == "PATCH" && e.status >= 400;
  }
  BOOST_TEST(refused == 0, "a PATCH was refused: a change was sent again after it applied");
  BOOST_TEST(patches == 2);
  BOOST_TEST(live.emu().tls_object_count() == 1u);
}

// Finding 2: after a lost create the server answers the lookup whole (no $filter), in pages,
// with foreign objects named like pkiflow's: only the record's own journaled name is adopted,
// nothing else is deleted or changed.
BOOST_AUTO_TEST_CASE(a_lost_create_never_touches_foreign_objects_when_the_filter_is_ignored) {
  auto opt = emulator_options();
  opt.ignore_filter = true;
  opt.foreign = 6;
  opt.gsa_page_size = 2;
  opt.faults.first_kind = "lost";
  opt.faults.first_count = 1;
  LiveEmulator live(opt, 43);
  const auto before = live.emu().tls_objects();
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  run_until_settled(lab, 5);
  BOOST_TEST(lab.record(id)["state"] == "active", history_of(lab, id));
  std::set<std::string> foreign_before, foreign_after;
  for (const auto& o : before)
    foreign_before.insert(o.id + o.name + o.status);
  std::size_t ours = 0;
  for (const auto& o : live.emu().tls_objects()) {
    if (o.foreign)
      foreign_after.insert(o.id + o.name + o.status);
    else
      ++ours;
  }
  BOOST_TEST((foreign_after == foreign_before));
  BOOST_TEST(ours == 1u);
  for (const auto& e : live.emu().log())
    if (e.method == "DELETE")
      for (const auto& o : before)
        BOOST_TEST(e.target.find(o.id) == std::string::npos, "deleted foreign " << o.name);
}

// Finding 4's last point: a tenant without TLS settings answers the collection with 404; after a
// create whose answer was lost (it was not applied) that is an empty list, not an error.
BOOST_AUTO_TEST_CASE(a_404_on_the_gsa_collection_is_an_empty_list) {
  auto opt = emulator_options();
  opt.gsa_404_when_empty = true;
  opt.faults.first_kind = "drop";  // the POST's connection closes before it is applied
  opt.faults.first_count = 1;
  LiveEmulator live(opt, 44);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  auto r = lab.cli("run");
  BOOST_TEST(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(lab.record(id)["state"] == "active", history_of(lab, id));
  bool listed_404 = false;
  for (const auto& e : live.emu().log())
    listed_404 = listed_404 || (e.method == "GET" && e.status == 404);
  BOOST_TEST(listed_404, "the read-back never met the 404");
  BOOST_TEST(live.emu().tls_object_count() == 1u);
}

// Findings 3 and 7: a lease held by a run of this host that is no longer running is taken over
// at once; a lease of a live run elsewhere is left alone, said so, with exit 8 (never 0).
BOOST_AUTO_TEST_CASE(a_dead_runs_leases_are_taken_over_and_a_live_runs_are_reported) {
  LiveEmulator live(emulator_options(), 45);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  // A run of this host that died: a pid that does not run (or runs with another start time).
  const std::string dead =
      "host=" + engine::this_host() + " pid=" + std::to_string(::getpid()) + " start=1 run=dead";
  sql(lab, "UPDATE records SET lease_owner = '" + dead +
               "', lease_expires_at = 4102444800000 WHERE id = '" + id + "'");
  auto taken = lab.cli("run");
  BOOST_TEST(taken.exit_code == 0, taken.out + taken.err);
  BOOST_TEST(taken.out.find("took over 1 record(s)") != std::string::npos, taken.out);
  BOOST_TEST(lab.record(id)["state"] == "active");

  // A live run on another host holds the renewal: left alone, named, exit 8.
  auto renew = lab.cli("renew", id);
  BOOST_TEST_REQUIRE(renew.exit_code == 0, renew.err);
  const std::string next = sql(lab, "SELECT id FROM records WHERE renews = '" + id + "'");
  const std::string other = "host=elsewhere.example pid=4242 start=7 run=night";
  sql(lab, "UPDATE records SET lease_owner = '" + other +
               "', lease_expires_at = 4102444800000 WHERE id = '" + next + "'");
  auto held = lab.cli("run", "--json");
  BOOST_TEST(held.exit_code == 8, held.out + held.err);
  auto j = json::parse(held.out);
  BOOST_TEST_REQUIRE(j["skipped_leased"].size() == 1u);
  BOOST_TEST(j["skipped_leased"][0]["id"] == next);
  BOOST_TEST(j["skipped_leased"][0]["owner"] == other);
  BOOST_TEST(lab.record(next)["state"] == "planned");
  // And a verb leaves it alone too.
  auto cancel = lab.cli("cancel", next);
  BOOST_TEST(cancel.exit_code == 8, cancel.err);
  BOOST_TEST(cancel.err.find("elsewhere.example") != std::string::npos, cancel.err);
}

// Finding 5: cancel checks the state before it sends anything, on every state; a dry run says
// what the real command would refuse.
BOOST_AUTO_TEST_CASE(cancel_guards_before_it_deletes_on_every_state) {
  struct Case {
    const char* state;
    bool allowed;
  };
  const Case cases[] = {{"planned", true}, {"csrGenerated", true}, {"uploaded", true},
                        {"failed", true},  {"active", false},      {"superseded", false},
                        {"retired", false}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("cancel in " << c.state) {
      auto opt = emulator_options();
      opt.require_enable = true;  // uploads stay enrolling: a state to stop in
      LiveEmulator live(opt, 47);
      Lab lab({live.base(), "", "secret", kSecret});
      lab.configure([](json& cfg) { cfg["run"]["confirm_wait_seconds"] = 0; });
      const std::string id = lab.request("inspection");
      const std::string state = c.state;
      if (state != "planned") {
        auto r = lab.cli("run");
        BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);  // now uploaded, object enrolling
      }
      if (state == "csrGenerated" || state == "failed" || state == "active" ||
          state == "superseded" || state == "retired")
        sql(lab, "UPDATE records SET state = '" + state + "'" +
                     (state == "failed" ? ", failed_from = 'uploaded'" : "") + " WHERE id = '" +
                     id + "'");
      const std::size_t sent = changes(live.emu());
      const std::size_t objects = live.emu().tls_object_count();
      auto dry = lab.cli("cancel", id + " --dry-run");
      BOOST_TEST(changes(live.emu()) == sent);
      auto real = lab.cli("cancel", id);
      if (c.allowed) {
        BOOST_TEST(dry.exit_code == 0, dry.err);
        BOOST_TEST(real.exit_code == 0, real.err);
        BOOST_TEST(lab.record(id)["state"] == "retired");
        BOOST_TEST(live.emu().tls_object_count() == 0u);
      } else {
        BOOST_TEST(dry.exit_code == 2, dry.err);
        BOOST_TEST(real.exit_code == 2, real.err);
        BOOST_TEST(real.err == dry.err);  // the dry run says exactly what the real one refuses
        BOOST_TEST(changes(live.emu()) == sent, "a request was sent before the refusal");
        BOOST_TEST(live.emu().tls_object_count() == objects);
        BOOST_TEST(lab.record(id)["state"] == state);
      }
    }
  }
}

// A cancelled record whose create reached the service but whose answer was lost (the run died
// before storing the remote id): cancel finds the object by its journaled name and deletes it;
// a foreign object named like pkiflow's stays.
BOOST_AUTO_TEST_CASE(cancel_deletes_an_object_whose_create_answer_was_lost) {
  auto opt = emulator_options();
  opt.foreign = 2;
  LiveEmulator live(opt, 48);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request("inspection");
  const std::string name = prefix_of(id) + "0";
  // What a killed run leaves: the create journaled as sent, the object made by the service.
  sql(lab,
      "INSERT INTO journal (op_id, record_id, action, request_summary, client_request_id, state, "
      "response_summary, created_at, updated_at) VALUES ('OP1', '" +
          id + "', 'create', 'POST " + live.base() +
          "/beta/networkAccess/tls/externalCertificateAuthorityCertificates name=" + name +
          "', 'crid', 'sent', '', 1, 1)");
  auto t = live.emu().handle(
      {"POST",
       "/contoso/oauth2/v2.0/token",
       {},
       std::string("grant_type=client_credentials&client_id=") + kClientId +
           "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=" + kSecret});
  const std::string token = json::parse(t.body)["access_token"];
  auto made = live.emu().handle(
      {"POST",
       "/beta/networkAccess/tls/externalCertificateAuthorityCertificates",
       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
       json{{"name", name}, {"commonName", "E2E Inspection"}, {"organizationName", "Lab"}}.dump()});
  BOOST_TEST_REQUIRE(made.status == 201, made.body);
  BOOST_TEST_REQUIRE(live.emu().tls_object_count() == 3u);
  auto cancel = lab.cli("cancel", id);
  BOOST_TEST(cancel.exit_code == 0, cancel.err);
  BOOST_TEST(lab.record(id)["state"] == "retired");
  const auto left = live.emu().tls_objects();
  BOOST_TEST(left.size() == 2u);
  for (const auto& o : left)
    BOOST_TEST(o.foreign, o.name << " was left behind");
}

// Finding 6: a configured certificate is one lineage; after renewals `request --from-config`
// plans nothing new, and a certificate already managed cannot be imported for a second record.
BOOST_AUTO_TEST_CASE(request_from_config_is_idempotent_across_renewals_and_imports_are_unique) {
  LiveEmulator live(emulator_options(), 49);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& cfg) {
    auto entry = user_ca_entry("CN=Lab User CA,O=Lab");
    entry["retire_superseded"] = "after-cutover";
    cfg["certificates"] = {entry};
  });
  auto first = lab.cli("request", "--from-config --json");
  BOOST_TEST_REQUIRE(first.exit_code == 0, first.err);
  const std::string id = json::parse(first.out)[0]["id"];
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);
    const std::string live_id =
        sql(lab, "SELECT id FROM records WHERE state = 'active' AND name = 'user-ca'");
    BOOST_TEST_REQUIRE(lab.cli("renew", live_id).exit_code == 0);
    BOOST_TEST_REQUIRE(lab.cli("run").exit_code == 0);
    auto again = lab.cli("request", "--from-config --json");
    BOOST_TEST_REQUIRE(again.exit_code == 0, again.err);
    BOOST_TEST(json::parse(again.out)[0]["created"] == false, again.out);
  }
  BOOST_TEST(sql(lab, "SELECT count(*) FROM records WHERE state != 'retired'") == "1");
  BOOST_TEST(live.emu().cba_thumbprints().size() == 1u);

  // The live CA's certificate imported for a second record is refused, naming the owner.
  const std::string live_id =
      sql(lab, "SELECT id FROM records WHERE state = 'active' AND name = 'user-ca'");
  write_file(lab.dir() / "live.pem", lab.cli("show", live_id + " --certificate").out);
  const std::string other =
      lab.request_kind("cba-ca", "copy", "CN=Lab User CA,O=Lab", /*with_signer=*/false);
  auto imp = lab.cli("import", other + " --certificate " + quote(lab.dir() / "live.pem") +
                                   " --chain " + quote(lab.dir() / "root.pem"));
  BOOST_TEST(imp.exit_code == 2, imp.out + imp.err);
  BOOST_TEST(imp.err.find("already managed by record " + live_id) != std::string::npos, imp.err);
  BOOST_TEST(lab.record(other)["state"] == "planned");
  (void)id;
}

// Finding 7: a run whose lease another run takes mid-way stops touching that record; SIGTERM
// stops a run gracefully: exit 7, leases released, the next run carries on.
BOOST_AUTO_TEST_CASE(a_taken_lease_stops_the_run_on_that_record_and_sigterm_stops_gracefully) {
  auto opt = emulator_options();
  opt.require_enable = true;  // the upload stays enrolling: the run waits for it
  LiveEmulator live(opt, 51);
  Lab lab({live.base(), "", "secret", kSecret});
  lab.configure([](json& cfg) {
    cfg["run"]["confirm_wait_seconds"] = 30;
    cfg["run"]["poll_interval_ms"] = 50;
  });
  const std::string id = lab.request("inspection");
  const std::string log = (lab.dir() / "run.log").string();
  const std::string config = (lab.dir() / "pkiflow.json").string();

  // Taken mid-way: another run's lease replaces this run's while it waits for "active".
  auto pid = spawn_cli({"run", "--config", config, "--json"}, log);
  for (int i = 0; i < 400 && lab.record(id)["state"] != "uploaded"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  BOOST_TEST_REQUIRE(lab.record(id)["state"] == "uploaded");
  const std::string thief = "host=elsewhere.example pid=7 start=7 run=thief";
  sql(lab, "UPDATE records SET lease_owner = '" + thief +
               "', lease_expires_at = 4102444800000 WHERE id = '" + id + "'");
  const int code = wait_exit(pid, std::chrono::seconds(10));
  BOOST_TEST(code == 8, read_file(log));
  BOOST_TEST(read_file(log).find("its lease was taken by another run") != std::string::npos,
             read_file(log));
  BOOST_TEST(sql(lab, "SELECT lease_owner FROM records WHERE id = '" + id + "'") == thief);

  // SIGTERM mid-wait (polling every 5 s, as by default): exit 7 at once, the lease released,
  // nothing failed.
  sql(lab, "UPDATE records SET lease_owner = NULL, lease_expires_at = NULL");
  lab.configure([](json& cfg) { cfg["run"]["poll_interval_ms"] = 5000; });
  pid = spawn_cli({"run", "--config", config}, log);
  // Mid-wait means past start-up: the run holds its lease (a slow, sanitized start on a busy
  // machine can take longer than any fixed pause), then a moment for its first GET.
  for (int i = 0; i < 400; ++i) {
    if (sql(lab, "SELECT count(*) FROM records WHERE lease_owner IS NOT NULL") == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST_REQUIRE(wait_exit(pid, std::chrono::milliseconds(0)) == -1, read_file(log));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  const int stopped = wait_exit(pid, std::chrono::seconds(10));
  BOOST_TEST(stopped == 7, read_file(log));
  BOOST_TEST((std::chrono::steady_clock::now() - sent < std::chrono::seconds(3)));
  BOOST_TEST(read_file(log).find("stopped by a signal") != std::string::npos, read_file(log));
  BOOST_TEST(sql(lab, "SELECT count(*) FROM records WHERE lease_owner IS NOT NULL") == "0");
  BOOST_TEST(lab.record(id)["state"] == "uploaded");
}

// Finding 8: several CBA records of one tenant in one run, the first container create
// throttled (429, retried after Retry-After): one container, every CA in it.
BOOST_AUTO_TEST_CASE(cba_records_racing_for_the_container_make_exactly_one) {
  auto opt = emulator_options();
  opt.faults.first_kind = "429";
  opt.faults.first_count = 1;
  opt.faults.retry_after = "0.3";
  LiveEmulator live(opt, 53);
  Lab lab({live.base(), "", "secret", kSecret});
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(lab.request_kind("cba-ca", "ca" + std::to_string(i),
                                   "CN=Lab CA " + std::to_string(i) + ",O=Lab"));
  auto r = lab.cli("run");
  BOOST_TEST(r.exit_code == 0, r.out + r.err);
  for (const auto& id : ids)
    BOOST_TEST(lab.record(id)["state"] == "active");
  BOOST_TEST(live.emu().cba_container_count() == 1u);
  BOOST_TEST(live.emu().cba_thumbprints().size() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace trusted_runs_test

// The output contract (issue 11, part 4): every verb takes --json, and with it stdout carries
// exactly one JSON document (JSON lines for validate --batch, as the README says), errors
// included as {"error": {"kind", "subject", "message"}, "exit": N}, and nothing else. Every verb
// `pkiflow help verbs` lists is run here against the emulator, its success, dry-run and --csr /
// --certificate forms, and a failure of each.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <sstream>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace json_contract_test {

using namespace pkiflow;
using namespace pkiflow::test::e2e;
using pkiflow::test::quote;
using pkiflow::test::run_cli;
using pkiflow::test::write_file;

namespace {

// What one invocation printed, parsed: exactly one JSON document, else the test fails.
json one_document(const test::CommandResult& r, const std::string& what) {
  BOOST_TEST_INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
  BOOST_TEST_REQUIRE(!r.out.empty());
  json doc;
  BOOST_REQUIRE_NO_THROW(doc = json::parse(r.out));
  return doc;
}

class Contract {
 public:
  explicit Contract(const Lab& lab) : lab_(lab) {}

  // `pkiflow VERB… ARGS --json`, expecting `exit`: one document, an error document unless the
  // exit is 0 or a verdict the verb's own report carries (validate's 1, run's 5).
  json call(const std::string& verb, const std::string& args, int exit, bool config = true) {
    covered_.insert(verb);
    const std::string line = verb + " " + args + " --json";
    auto r = config ? lab_.cli(verb, args + " --json") : run_cli(line);
    BOOST_TEST_INFO(line << "\nstdout: " << r.out << "\nstderr: " << r.err);
    BOOST_TEST(r.exit_code == exit);
    auto doc = one_document(r, line);
    const bool verdict = (verb == "validate" && exit == 1) || (verb == "run" && exit == 5) ||
                         (verb == "needs-renewal" && exit == 1);
    if (exit != 0 && !verdict) {
      BOOST_TEST_INFO(line << ": " << doc.dump());
      BOOST_TEST_REQUIRE(doc.contains("error"));
      BOOST_TEST(doc["exit"] == exit);
      BOOST_TEST(!doc["error"]["kind"].get<std::string>().empty());
      BOOST_TEST(!doc["error"]["message"].get<std::string>().empty());
      BOOST_TEST(doc["error"].contains("subject"));
      BOOST_TEST(r.err.find("pkiflow: ") != std::string::npos);  // people read stderr
    } else {
      BOOST_TEST(!(doc.is_object() && doc.contains("error")), line << ": " << doc.dump());
    }
    return doc;
  }

  // JSON lines: every line of stdout one document.
  std::vector<json> lines(const std::string& verb, const std::string& args, int exit) {
    covered_.insert(verb);
    auto r = run_cli(verb + " " + args + " --json");
    BOOST_TEST(r.exit_code == exit, r.err);
    std::vector<json> out;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line))
      out.push_back(json::parse(line));
    return out;
  }

  const std::set<std::string>& covered() const { return covered_; }

 private:
  const Lab& lab_;
  std::set<std::string> covered_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(json_contract)

BOOST_AUTO_TEST_CASE(every_verb_prints_one_json_document_errors_included) {
  auto opt = emulator_options();
  opt.staged_flow = true;
  LiveEmulator emu(opt, 7);
  Lab lab({emu.base(), "", "secret", kSecret});
  const auto& d = lab.dir();
  lab.configure([](json& config) {  // the operator switches TLS-inspection CAs on
    config["tenants"]["lab"]["gsa_activation"] = "manual";
  });
  const std::string cfg = " --config " + quote(d / "pkiflow.json");
  Contract c(lab);

  // The PKI verbs, offline.
  c.call("key new", "--alg p256 --no-encrypt --out " + quote(d / "k.key"), 0, false);
  c.call("key new", "--alg p256 --no-encrypt --out " + quote(d / "k.key"), 2, false);  // exists
  auto csr = c.call("csr new",
                    "--key " + quote(d / "k.key") +
                        " --subject 'CN=Contract CA,O=Lab' --ca --out " + quote(d / "x.csr"),
                    0, false);
  BOOST_TEST(csr["subject"].get<std::string>().find("Contract CA") != std::string::npos);
  c.call("csr new", "--key " + quote(d / "nope.key") + " --subject CN=x --out " + quote(d / "y"), 2,
         false);
  c.call("csr show", quote(d / "x.csr"), 0, false);
  c.call("csr show", quote(d / "root.pem"), 2, false);  // a certificate is not a CSR
  c.call("ca new-root",
         "--subject 'CN=Other Root' --alg p256 --no-encrypt --key-out " + quote(d / "o.key") +
             " --cert-out " + quote(d / "o.pem"),
         0, false);
  c.call("ca new-root", "--subject 'CN=" + std::string(70, 'x') + "' --cert-out " + quote(d / "z"),
         2, false);
  c.call("ca sign",
         "--csr " + quote(d / "x.csr") + " --ca-cert " + quote(d / "root.pem") + " --ca-key " +
             quote(d / "root.key") + " --profile cba-ca --out " + quote(d / "x.pem"),
         0, false);
  c.call("ca sign",
         "--csr " + quote(d / "x.csr") + " --ca-cert " + quote(d / "root.pem") + " --ca-key " +
             quote(d / "root.key") + " --profile nonsense --out " + quote(d / "x2.pem"),
         2, false);
  c.call("cert show", quote(d / "x.pem"), 0, false);
  c.call("cert show", quote(d / "missing.pem"), 2, false);
  auto verdict = c.call(
      "validate", "--cert " + quote(d / "x.pem") + " --trust " + quote(d / "root.pem"), 0, false);
  BOOST_TEST(verdict.is_object());
  c.call("validate", "--cert " + quote(d / "x.pem") + " --trust " + quote(d / "o.pem"), 1, false);
  auto rules = c.call("validate", "--list-rules", 0, false);
  BOOST_TEST_REQUIRE(rules.is_array());
  BOOST_TEST(rules[0].contains("rule"));
  // The README's rule table is the catalog, row by row.
  const auto readme = test::read_file(test::fs::path(PKIFLOW_SOURCE_DIR) / "README.md");
  for (const auto& r : rules) {
    const std::string row = "| `" + r["rule"].get<std::string>() + "` | " +
                            r["checks"].get<std::string>() + " [" + r["clause"].get<std::string>() +
                            "] |";
    BOOST_TEST(readme.find(row) != std::string::npos, "README lacks the row " << row);
  }
  c.call("validate", "--cert " + quote(d / "x.pem"), 2, false);  // no --trust
  write_file(d / "manifest.jsonl",
             "{\"id\": \"a\", \"cert\": \"x.pem\", \"trust\": \"root.pem\"}\n"
             "{\"id\": \"b\", \"cert\": \"x.pem\", \"trust\": \"o.pem\"}\n");
  auto batch = c.lines("validate", "--batch " + quote(d / "manifest.jsonl"), 1);
  BOOST_TEST_REQUIRE(batch.size() == 2u);
  BOOST_TEST(batch[0]["verdict"] == "valid");

  // The configuration and the reference.
  auto check = c.call("config check", "", 0);
  BOOST_TEST(check["ok"] == true);
  c.call("config check", "--config " + quote(d / "absent.json"), 2, false);
  auto verbs = c.call("help", "verbs", 0, false);
  c.call("help", "", 0, false);
  // The README's exit-code table is the program's (one table, not two that drift).
  for (const auto& code : c.call("help", "exit-codes", 0, false)) {
    const std::string row = "| " + std::to_string(code["exit"].get<int>()) + " | " +
                            code["kind"].get<std::string>() + " | ";
    BOOST_TEST(readme.find(row) != std::string::npos, "README lacks the row " << row);
  }
  c.call("help", "states", 0, false);
  c.call("help", "config", 0, false);
  c.call("help", "colours", 2, false);

  // The records and the lifecycle against the emulator.
  auto planned = c.call("request",
                        "--kind cba-ca --name user-ca --tenant lab --subject 'CN=User CA,O=Lab' "
                        "--key-alg p256 --signer lab-root",
                        0);
  const std::string cba = planned[0]["id"];
  const std::string gsa =
      c.call("request",
             "--kind gsa-tls-ca --name tls --tenant lab --subject 'CN=TLS,O=Lab' --signer lab-root",
             0)[0]["id"];
  const std::string intune = c.call("request",
                                    "--kind intune-codesigning --name apps --tenant lab "
                                    "--subject 'CN=Apps,O=Lab' --key-alg p256",
                                    0)[0]["id"];
  c.call("request", "--kind cba-ca --name x --tenant nowhere", 2);
  auto status = c.call("status", "", 0);
  BOOST_TEST(status.size() == 3u);
  c.call("status", "--state bogus", 2);
  c.call("show", cba, 0);
  c.call("show", cba + " --csr", 2);  // no CSR before the run
  c.call("show", "NOSUCHRECORD", 2);
  c.call("history", cba, 0);
  c.call("history", "NOSUCHRECORD", 2);

  auto dry = c.call("run", "--dry-run", 0);
  BOOST_TEST(dry["dry_run"] == true);
  BOOST_TEST(!dry["requests"].empty());
  auto ran = c.call("run", "", 0);
  BOOST_TEST(ran["exit"] == 0);
  auto parts = c.call("show", cba + " --csr --certificate --chain", 0);
  BOOST_TEST(parts["csr_pem"].get<std::string>().find("BEGIN CERTIFICATE REQUEST") !=
             std::string::npos);
  BOOST_TEST(parts["certificate_pem"].get<std::string>().find("BEGIN CERTIFICATE") !=
             std::string::npos);
  BOOST_TEST(parts.contains("chain_pem"));

  // The Intune record has no signer: its CSR is signed offline and imported.
  write_file(d / "apps.csr", c.call("show", intune + " --csr", 0)["csr_pem"].get<std::string>());
  c.call("ca sign",
         "--csr " + quote(d / "apps.csr") + " --ca-cert " + quote(d / "root.pem") + " --ca-key " +
             quote(d / "root.key") + " --profile code-signing --out " + quote(d / "apps.pem"),
         0, false);
  c.call("import", intune + " --certificate " + quote(d / "x.pem"), 1);  // not its CSR's answer
  c.call("import", intune + " --certificate " + quote(d / "apps.pem"), 0);
  c.call("import", intune + " --certificate " + quote(d / "apps.pem"), 2);  // signed already

  auto not_due = c.call("needs-renewal", cba, 1);
  BOOST_TEST(not_due["records"][0]["due"] == false);
  c.call("needs-renewal", "--all --within 36500d", 0);
  c.call("needs-renewal", "NOSUCHRECORD", 2);
  c.call("retry", cba, 2);  // not failed
  const std::string successor = c.call("renew", cba, 0)["id"];
  c.call("renew", "NOSUCHRECORD", 2);
  auto would = c.call("cancel", successor + " --dry-run", 0);
  BOOST_TEST(would["dry_run"] == true);
  c.call("cancel", successor, 0);
  c.call("cancel", cba, 2);  // active: cancel refuses

  auto enable_dry = c.call("enable", gsa + " --dry-run", 0);
  BOOST_TEST(enable_dry["id"] == gsa);
  c.call("enable", gsa, 0);
  c.call("enable", gsa, 2);  // active already

  auto planned_now = c.call("plan", "", 0);
  BOOST_TEST(planned_now["plan"] == true);
  auto discovered = c.call("discover", "", 0);
  BOOST_TEST(discovered["objects"].is_array());
  c.call("discover", "--tenant nowhere", 2);
  c.call("adopt", "--tenant lab --remote-id no-such-object", 2);
  c.call("adopt", "--tenant nowhere --remote-id x", 2);
  auto verified = c.call("verify", "", 0);
  BOOST_TEST(verified["records"].size() == 2u);  // the CBA and GSA records; Intune is signed
  BOOST_TEST(verified["exit"] == 0);
  c.call("verify", cba, 0);
  c.call("verify", "NOSUCHRECORD", 2);
  c.call("verify", successor, 2);  // retired: nothing live to check
  auto verify_dry = c.call("verify", cba + " --dry-run", 0);
  BOOST_TEST(verify_dry["requests"].size() >= 1u);
  auto repaired = c.call("repair", cba, 0);
  BOOST_TEST(repaired["drift"].is_null());
  c.call("repair", "NOSUCHRECORD", 2);

  c.call("graph login-test", "", 0);
  auto login_dry = c.call("graph login-test", "--dry-run", 0);
  BOOST_TEST(login_dry["requests"].size() == 1u);
  BOOST_TEST(login_dry.dump().find(kSecret) == std::string::npos);
  c.call("graph login-test", "--tenant nowhere", 2);

  c.call("cba status", "", 0);
  auto cba_dry = c.call("cba status", "--dry-run", 0);
  BOOST_TEST(cba_dry["dry_run"] == true);
  auto renamed = c.call("cba rename", "--to pkiflow2 --dry-run", 0);
  BOOST_TEST(renamed["requests"].size() >= 1u);
  c.call("cba rename", "--to " + quote("a\tb"), 2);
  c.call("cba bundle", quote(d / "root.pem") + " --out " + quote(d / "b.p7b"), 0, false);
  c.call("cba bundle", quote(d / "root.pem") + " --out " + quote(d / "b.p7b"), 2, false);
  auto bundle = c.call(
      "cba bundle", quote(d / "root.pem") + " --out " + quote(d / "b.p7b") + " --force", 0, false);
  c.call("cba upload",
         "--url https://pki.lab.test/b.p7b --sha256 " + bundle["sha256"].get<std::string>() +
             " --dry-run",
         0);
  c.call("cba upload", "--url https://pki.lab.test/b.p7b", 2);  // no --sha256

  // Air-gap bundles (tests/graph/bundle_e2e_test.cpp runs them whole).
  auto exported = c.call("bundle export", quote(d / "bundle-out"), 0);
  BOOST_TEST(exported.contains("bundle_id"));
  BOOST_TEST(exported["records"].is_array());
  c.call("bundle import", quote(d / "no-bundle"), 2);
  c.call("sign",
         "--bundle " + quote(d / "no-bundle") + " --ca-cert " + quote(d / "root.pem") +
             " --ca-key " + quote(d / "root.key") + " --yes",
         2, false);

  // The store as a whole: copied, and a second copy into the full target refused.
  const std::string copy_args = "--from " + quote("sqlite://" + (d / "state.db").string()) +
                                " --to " + quote("sqlite://" + (d / "copy.db").string());
  auto copied = c.call("state migrate", copy_args, 0);
  BOOST_TEST(copied["copied"]["records"] == copied["records_checked"]);
  BOOST_TEST(copied["copied"]["records"].get<int>() >= 3);
  c.call("state migrate", copy_args, 2);

  // Every verb refuses an unknown option with an error document, and every verb was run.
  for (const auto& v : verbs) {
    const std::string verb = v["verb"];
    BOOST_TEST_CONTEXT(verb) {
      auto r = run_cli(verb + " --no-such-option --json");
      BOOST_TEST(r.exit_code == 2);
      auto doc = one_document(r, verb);
      BOOST_TEST(doc["error"]["subject"] == verb);
      BOOST_TEST(doc["exit"] == 2);
      BOOST_TEST(!v["example"].get<std::string>().empty());  // help teaches by example
      BOOST_TEST(c.covered().count(verb) == 1u, verb << " is not run by the contract test");
    }
  }
  // An unknown verb, too.
  auto unknown = one_document(run_cli("frobnicate --json"), "frobnicate");
  BOOST_TEST(unknown["exit"] == 2);
  BOOST_TEST(unknown["error"]["message"].get<std::string>().find("the verbs are") !=
             std::string::npos);
  auto typo = one_document(run_cli("statsu --json"), "statsu");
  BOOST_TEST(typo["error"]["message"].get<std::string>().find("did you mean \"status\"") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace json_contract_test

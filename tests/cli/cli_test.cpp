// The pkiflow command line as users and scripts see it: exit codes, messages naming the file,
// JSON output, file modes, and no crash on bad input.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace cli_test {

using pkiflow::test::openssl_fixtures;
using pkiflow::test::quote;
using pkiflow::test::run_cli;
using pkiflow::test::TempDir;

namespace {

std::string fx(const std::string& name) {
  return quote(openssl_fixtures() / name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(validate_exits_0_for_valid_and_1_for_invalid) {
  auto ok = run_cli("validate --cert " + fx("leaf.pem") + " --chain " + fx("chain.pem") +
                    " --trust " + fx("root.pem"));
  BOOST_TEST(ok.exit_code == 0, ok.out + ok.err);
  BOOST_TEST(ok.out.find("VALID") == 0u);
  auto bad = run_cli("validate --cert " + fx("leaf-noku.pem") + " --chain " + fx("chain-noku.pem") +
                     " --trust " + fx("root.pem"));
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.out.find("FAIL  path.issuer-is-ca") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(validate_json_is_machine_readable) {
  auto r =
      run_cli("validate --json --cert " + fx("tlsca.pem") + " --chain " + fx("root.pem") +
              " --trust " + fx("root.pem") + " --csr " + fx("tlsca.csr") +
              " --profile tls-inspection-ca --crl " + fx("int.crl") + " --at 2027-01-01T00:00:00Z");
  BOOST_TEST(r.exit_code == 0, r.out + r.err);
  auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["verdict"] == "valid");
  BOOST_TEST(j["at"] == "2027-01-01T00:00:00Z");
  BOOST_TEST(j["profile"] == "tls-inspection-ca");
  BOOST_TEST(j["path"].size() == 2u);
  BOOST_TEST(j["summary"]["fail"] == 0);
  bool saw_csr_key = false;
  for (const auto& res : j["results"])
    if (res["rule"] == "csr.key") saw_csr_key = res["outcome"] == "pass";
  BOOST_TEST(saw_csr_key);
}

BOOST_AUTO_TEST_CASE(unusable_input_exits_2_naming_the_file) {
  TempDir dir;
  pkiflow::test::write_file(
      dir / "truncated.pem",
      pkiflow::test::read_file(openssl_fixtures() / "leaf.pem").substr(0, 300));
  pkiflow::test::write_file(dir / "garbage.der",
                            std::string("\x30\x82\x01\x00garbage-garbage", 19));
  pkiflow::test::write_file(dir / "empty.pem", "");
  pkiflow::test::write_file(dir / "text.txt", "just some words\n");
  {
    // A file over the 64 MiB input limit, sparse so the test stays cheap.
    std::FILE* f = std::fopen((dir / "huge.pem").c_str(), "wb");
    std::fseek(f, 65L * 1024 * 1024, SEEK_SET);
    std::fputc('A', f);
    std::fclose(f);
  }
  struct Case {
    const char* sentence;
    std::string file;
    const char* says;
  };
  const Case cases[] = {
      {"a truncated PEM", (dir / "truncated.pem").string(), "no matching END"},
      {"garbage DER", (dir / "garbage.der").string(), "not a valid X.509 certificate"},
      {"an empty file", (dir / "empty.pem").string(), "empty file"},
      {"plain text", (dir / "text.txt").string(), "neither PEM"},
      {"a private key where a certificate belongs", (openssl_fixtures() / "leaf.key").string(),
       "PRIVATE KEY"},
      {"a huge file", (dir / "huge.pem").string(), "refusing to read"},
      {"a missing file", (dir / "missing.pem").string(), "no such file"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      auto r = run_cli("validate --cert " + quote(c.file) + " --trust " + fx("root.pem"));
      BOOST_TEST(r.exit_code == 2);
      BOOST_TEST(r.err.find(c.file) != std::string::npos, r.err);
      BOOST_TEST(r.err.find(c.says) != std::string::npos, r.err);
      auto show = run_cli("cert show " + quote(c.file));
      BOOST_TEST(show.exit_code == 2);
      auto trust = run_cli("validate --cert " + fx("leaf.pem") + " --trust " + quote(c.file));
      BOOST_TEST(trust.exit_code == 2);
    }
  }
  auto empty_chain = run_cli("validate --cert " + fx("leaf.pem") + " --chain " +
                             quote(dir / "empty.pem") + " --trust " + fx("root.pem"));
  BOOST_TEST(empty_chain.exit_code == 1);  // an empty chain is an empty bundle, not bad input
  BOOST_TEST(empty_chain.out.find("no issuer of") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_2_with_the_reason) {
  auto profile = run_cli("validate --cert " + fx("leaf.pem") + " --trust " + fx("root.pem") +
                         " --profile nope");
  BOOST_TEST(profile.exit_code == 2);
  BOOST_TEST(profile.err.find("tls-inspection-ca") != std::string::npos);
  auto at = run_cli("validate --cert " + fx("leaf.pem") + " --trust " + fx("root.pem") +
                    " --at tomorrow");
  BOOST_TEST(at.exit_code == 2);
  BOOST_TEST(at.err.find("RFC 3339") != std::string::npos);
  auto unknown = run_cli("validate --bogus");
  BOOST_TEST(unknown.exit_code == 2);
  auto no_trust = run_cli("validate --cert " + fx("leaf.pem"));
  BOOST_TEST(no_trust.exit_code == 2);
  BOOST_TEST(no_trust.err.find("--trust") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_key_csr_ca_cert_verbs_work_together) {
  TempDir dir;
  auto d = [&](const char* n) { return quote(dir / n); };
  pkiflow::test::write_file(dir / "pass", "correct horse\n");
  std::string pass = " --passphrase-file " + d("pass");
  auto root = run_cli("ca new-root --subject 'CN=CLI Root,O=Contoso' --key-out " + d("root.key") +
                      " --cert-out " + d("root.pem") + pass + " --json");
  BOOST_REQUIRE_MESSAGE(root.exit_code == 0, root.err);
  BOOST_TEST(nlohmann::json::parse(root.out)["is_ca"] == true);
  BOOST_REQUIRE(run_cli("key new --alg rsa2048 --out " + d("k.key") + pass).exit_code == 0);
  struct stat st {};
  ::stat((dir / "k.key").c_str(), &st);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_REQUIRE(run_cli("csr new --key " + d("k.key") +
                        " --subject 'CN=CLI Signer,O=Contoso' --out " + d("k.csr") + pass)
                    .exit_code == 0);
  auto show = run_cli("csr show --json " + d("k.csr"));
  BOOST_TEST(nlohmann::json::parse(show.out)["signature_valid"] == true);
  auto sign = run_cli("ca sign --csr " + d("k.csr") + " --ca-cert " + d("root.pem") + " --ca-key " +
                      d("root.key") + " --profile code-signing --days 90 --out " + d("k.pem") +
                      pass + " --json");
  BOOST_REQUIRE_MESSAGE(sign.exit_code == 0, sign.err);
  auto facts = nlohmann::json::parse(run_cli("cert show --json " + d("k.pem")).out);
  BOOST_TEST(facts["extended_key_usage"][0] == "codeSigning");
  BOOST_TEST(facts["thumbprint_sha1"].get<std::string>().size() == 40u);
  BOOST_TEST(facts["issuer"] == "CN=CLI Root,O=Contoso");
  auto v = run_cli("validate --cert " + d("k.pem") + " --trust " + d("root.pem") + " --csr " +
                   d("k.csr") + " --profile code-signing");
  BOOST_TEST(v.exit_code == 0, v.out);
  // Existing files are not overwritten without --force.
  auto again = run_cli("key new --out " + d("k.key") + pass);
  BOOST_TEST(again.exit_code == 2);
  BOOST_TEST(again.err.find("already exists") != std::string::npos);
  // A wrong passphrase is a clear error, not a crash.
  pkiflow::test::write_file(dir / "wrong", "nope\n");
  auto wrong = run_cli("csr new --key " + d("k.key") + " --subject CN=x --out " + d("x.csr") +
                       " --passphrase-file " + d("wrong"));
  BOOST_TEST(wrong.exit_code == 2);
  BOOST_TEST(wrong.err.find("wrong passphrase") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_are_never_written_unencrypted_unless_asked) {
  TempDir dir;
  auto r = pkiflow::test::run("env -u PKIFLOW_PASSPHRASE " + quote(PKIFLOW_CLI_PATH) +
                              " key new --out " + quote(dir / "k.key"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(!std::filesystem::exists(dir / "k.key"));
  auto plain = run_cli("key new --no-encrypt --alg p384 --out " + quote(dir / "p.key"));
  BOOST_TEST(plain.exit_code == 0);
  BOOST_TEST(pkiflow::test::read_file(dir / "p.key").find("BEGIN PRIVATE KEY") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_batch_form_reports_each_line_and_the_worst_exit_code) {
  TempDir dir;
  auto base = openssl_fixtures();
  pkiflow::test::write_file(
      dir / "m.jsonl", "{\"id\":\"a\",\"cert\":\"" + (base / "leaf.pem").string() +
                           "\",\"chain\":\"" + (base / "chain.pem").string() + "\",\"trust\":\"" +
                           (base / "root.pem").string() + "\"}\n{\"id\":\"b\",\"cert\":\"" +
                           (base / "leaf-noku.pem").string() + "\",\"chain\":\"" +
                           (base / "chain-noku.pem").string() + "\",\"trust\":\"" +
                           (base / "root.pem").string() + "\"}\n");
  auto r = run_cli("validate --batch " + quote(dir / "m.jsonl") + " --json --jobs 2");
  BOOST_TEST(r.exit_code == 1);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> got;
  while (std::getline(lines, line))
    got.push_back(nlohmann::json::parse(line));
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0]["verdict"] == "valid");
  BOOST_TEST(got[1]["verdict"] == "invalid");
  BOOST_TEST(got[1]["report"]["results"].is_array());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cli_records)

BOOST_AUTO_TEST_CASE(request_status_history_retry_cancel_work_on_one_store) {
  TempDir dir;
  const std::string store = " --state-url " + quote("sqlite://" + (dir / "s.db").string());
  pkiflow::test::write_file(dir / "pkiflow.json", R"({
    // a comment
    "tenants": {"contoso": {"tenant_id": "contoso.example", "client_id": "app",
                            "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}},
    "certificates": [
      {"kind": "gsa-tls-ca", "name": "tlsca", "tenant": "contoso", "subject": "CN=TLS CA,O=Contoso"},
      {"kind": "cba-ca", "name": "user-ca", "tenant": "contoso", "subject": "CN=User CA", "key_algorithm": "p384"}
    ]})");
  const std::string config = " --config " + quote(dir / "pkiflow.json");
  auto first = run_cli("request --from-config --json" + config + store);
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  auto created = nlohmann::json::parse(first.out);
  BOOST_TEST(created.size() == 2u);
  BOOST_TEST(created[0]["created"] == true);
  auto again = nlohmann::json::parse(run_cli("request --from-config --json" + config + store).out);
  BOOST_TEST(again[0]["created"] == false);  // idempotent
  BOOST_TEST(again[0]["id"] == created[0]["id"]);
  struct stat st {};
  ::stat((dir / "s.db").c_str(), &st);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  auto status = nlohmann::json::parse(run_cli("status --json" + store).out);
  BOOST_TEST(status.size() == 2u);
  // Records made in the same millisecond list in id order, so find this one by name.
  auto user_ca = std::find_if(status.begin(), status.end(),
                              [](const auto& r) { return r["name"] == "user-ca"; });
  BOOST_REQUIRE(user_ca != status.end());
  BOOST_TEST((*user_ca)["profile"]["key_algorithm"] == "p384");
  BOOST_TEST(nlohmann::json::parse(run_cli("status --json --kind cba-ca" + store).out).size() ==
             1u);
  BOOST_TEST(nlohmann::json::parse(run_cli("status --json --state active" + store).out).empty());
  BOOST_TEST(
      nlohmann::json::parse(run_cli("status --json --expiring-within 30" + store).out).empty());

  const std::string id = created[0]["id"];
  auto retry = run_cli("retry " + id + store);
  BOOST_TEST(retry.exit_code == 2);
  BOOST_TEST(retry.err.find("retry applies to failed records") != std::string::npos);
  auto cancel = run_cli("cancel --json " + id + store);
  BOOST_TEST(cancel.exit_code == 0);
  BOOST_TEST(nlohmann::json::parse(cancel.out)["state"] == "retired");
  auto history = nlohmann::json::parse(run_cli("history --json " + id + store).out);
  BOOST_REQUIRE(history.size() == 2u);
  BOOST_TEST(history[1]["from"] == "planned");
  BOOST_TEST(history[1]["to"] == "retired");
  BOOST_TEST(history[1]["reason"] == "cancelled by an operator");
  auto unknown = run_cli("history NOSUCHRECORD0000" + store);
  BOOST_TEST(unknown.exit_code == 2);
  BOOST_TEST(unknown.err.find("no such record") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_json_escapes_what_users_type) {
  TempDir dir;
  pkiflow::test::write_file(dir / "pkiflow.json", R"({"tenants": {"t": {"tenant_id": "t.example",
      "client_id": "app", "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}}})");
  const std::string store =
      " --state-url " + quote((dir / "s.db").string()) + " --config " + quote(dir / "pkiflow.json");
  const std::string name = "Contoso \"Root\" CA\\2026 Zürich";
  auto r = run_cli("request --kind cba-ca --tenant t --name " + quote(name) + store);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto status = nlohmann::json::parse(run_cli("status --json" + store).out);
  BOOST_TEST(status[0]["name"] == name);
  BOOST_TEST(status[0]["profile"]["key_algorithm"] == "rsa3072");
}

// Issue 11, finding 3: names and subjects are held to what status's table and X.509 allow, on
// the command line and in the configuration file alike; nothing is planned.
BOOST_AUTO_TEST_CASE(names_and_subjects_out_of_bounds_are_refused_before_anything_is_planned) {
  TempDir dir;
  const std::string tenant = R"("tenants": {"t": {"tenant_id": "t.example", "client_id": "app",
      "auth": {"client_secret_env": "PKIFLOW_TEST_UNUSED"}}})";
  pkiflow::test::write_file(dir / "pkiflow.json", "{" + tenant + "}");
  const std::string store =
      " --state-url " + quote((dir / "s.db").string()) + " --config " + quote(dir / "pkiflow.json");
  struct Case {
    const char* sentence;
    std::string args;
    std::string expected;
  };
  const Case cases[] = {
      {"a tab in a name", "--kind cba-ca --name " + quote("a\tb"),
       R"(certificate.name: "a\tb" holds a control character (U+0009) at character 2)"},
      {"a newline in a name", "--kind cba-ca --name " + quote("a\nb"), "(U+000A)"},
      {"a 5,000-character name", "--kind cba-ca --name " + std::string(5000, 'n'),
       "is 5000 characters long; at most 128 are allowed"},
      {"a 300-character CN",
       "--kind cba-ca --name x --subject " + quote("CN=" + std::string(300, 'c')),
       "certificate.subject: CN is 300 characters long; at most 64 are allowed"},
      {"a 65-character CN counted in characters",
       "--kind cba-ca --name x --subject " + quote("CN=" + std::string(65, 'c')),
       "is 65 characters"},
      {"a control character in a subject", "--kind cba-ca --name x --subject " + quote("CN=a\x01b"),
       "CN holds a control character"},
      {"a three-letter country", "--kind cba-ca --name x --subject " + quote("CN=a,C=USA"),
       "C must be a two-letter country code"},
      {"a TLS-inspection CA without an O", "--kind gsa-tls-ca --name x --subject " + quote("CN=a"),
       "needs a CN and an O"},
      {"a TLS-inspection CA without a subject", "--kind gsa-tls-ca --name x",
       "is required for a TLS-inspection CA"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      auto r = run_cli("request --tenant t " + c.args + store);
      BOOST_TEST(r.exit_code == 2);
      BOOST_TEST(r.err.find(c.expected) != std::string::npos, r.err);
    }
  }
  // 64 characters, counted as characters (ü is two bytes), is X.509's bound and is accepted.
  std::string cn;
  for (int i = 0; i < 32; ++i)
    cn += "ü";
  cn += std::string(32, 'u');
  auto ok = run_cli("request --tenant t --kind cba-ca --name fine --subject " + quote("CN=" + cn) +
                    store);
  BOOST_TEST(ok.exit_code == 0, ok.err);
  auto status = nlohmann::json::parse(run_cli("status --json" + store).out);
  BOOST_TEST(status.size() == 1u);  // only the good one was planned
  // The configuration file gets the same checks, with the entry's path.
  pkiflow::test::write_file(dir / "bad.json", "{" + tenant +
                                                  R"(, "certificates": [{"kind": "cba-ca",
      "name": "x", "tenant": "t", "subject": "CN=)" +
                                                  std::string(70, 'c') + R"("}]})");
  auto bad = run_cli("config check --config " + quote(dir / "bad.json"));
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("certificates[0].subject: CN is 70 characters long") != std::string::npos,
             bad.err);
}

// Issue 11, findings 1-3: a configuration is checked whole before any verb uses it; typos are
// named with the closest valid name; secret files must be private; `config check` prints the
// plan.
BOOST_AUTO_TEST_CASE(config_check_names_typos_undefined_references_and_open_secret_files) {
  TempDir dir;
  const std::string tenant = R"("tenants": {"contoso": {"tenant_id": "contoso.example",
      "client_id": "app", "auth": {"client_secret_file": "secret"}}})";
  pkiflow::test::write_file(dir / "secret", "s3cret\n");
  ::chmod((dir / "secret").c_str(), 0600);
  struct Case {
    const char* sentence;
    std::string config;
    std::string expected;
  };
  const Case cases[] = {
      {"a misspelt top-level key is refused with the closest name",
       "{" + tenant + R"(, "state-url": "sqlite:///tmp/x.db"})",
       R"(top level: unknown field "state-url" (did you mean "state_url"?))"},
      {"certficates is not silently nothing", "{" + tenant + R"(, "certficates": []})",
       R"(unknown field "certficates" (did you mean "certificates"?))"},
      {"an undefined tenant is named at once",
       "{" + tenant +
           R"(, "certificates": [{"kind": "cba-ca", "name": "x", "tenant": "contosso"}]})",
       R"(certificates[0].tenant: "contosso" is not defined under "tenants" (did you mean "contoso"?))"},
      {"an unknown cloud is refused",
       R"({"tenants": {"c": {"tenant_id": "t", "client_id": "a", "cloud": "mars",
           "auth": {"client_secret_env": "X"}}}})",
       "unknown cloud 'mars' (global, usgov, dod, china)"},
      {"a missing passphrase file is refused before the run",
       "{" + tenant + R"(, "keys": {"passphrase_file": "nope"}})",
       "keys.passphrase_file: " + (dir / "nope").string() + " does not exist"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      pkiflow::test::write_file(dir / "pkiflow.json", c.config);
      const std::string args = " --config " + quote(dir / "pkiflow.json");
      auto check = run_cli("config check" + args);
      BOOST_TEST(check.exit_code == 2, check.out + check.err);
      BOOST_TEST((check.out + check.err).find(c.expected) != std::string::npos,
                 check.out + check.err);
      auto status = run_cli("status" + args + " --state-url " + quote(dir / "s.db"));
      BOOST_TEST(status.exit_code == 2, status.err);
      BOOST_TEST(!std::filesystem::exists(dir / "s.db"), "the store was touched");
    }
  }
  // A secret readable by others: refused, or read with a warning when allowed.
  pkiflow::test::write_file(dir / "pkiflow.json",
                            "{" + tenant +
                                R"(, "certificates": [{"kind": "cba-ca", "name": "user-ca",
      "tenant": "contoso", "subject": "CN=User CA", "key_algorithm": "p256"}]})");
  ::chmod((dir / "secret").c_str(), 0644);
  const std::string args = " --config " + quote(dir / "pkiflow.json");
  auto open = run_cli("request --from-config" + args + " --state-url " + quote(dir / "s.db"));
  BOOST_TEST(open.exit_code == 2);
  BOOST_TEST(
      open.err.find("tenants.contoso.auth.client_secret_file has mode 0644") != std::string::npos,
      open.err);
  auto allowed = run_cli("request --from-config --allow-insecure-permissions" + args +
                         " --state-url " + quote(dir / "s.db"));
  BOOST_TEST(allowed.exit_code == 0, allowed.err);
  BOOST_TEST(allowed.err.find("warning:") != std::string::npos, allowed.err);
  ::chmod((dir / "secret").c_str(), 0600);
  auto plan = run_cli("config check --json" + args);
  BOOST_TEST_REQUIRE(plan.exit_code == 0, plan.out + plan.err);
  auto j = nlohmann::json::parse(plan.out);
  BOOST_TEST(j["ok"] == true);
  BOOST_TEST_REQUIRE(j["certificates"].size() == 1u);
  BOOST_TEST(j["certificates"][0]["profile"] == "cba-ca");
  BOOST_TEST(j["certificates"][0]["key"] == "p256");
  BOOST_TEST(j["certificates"][0]["validity_days"] == 1825);
}

// Issue 11, finding 3: numbers are bounded where they are read, with the same bounds as the
// configuration file; nothing wraps around or means "the default" by accident.
BOOST_AUTO_TEST_CASE(numeric_options_are_bounded_on_the_command_line) {
  TempDir dir;
  const std::string store = " --state-url " + quote(dir / "s.db");
  const std::pair<std::string, std::string> cases[] = {
      {"ca new-root --subject CN=X --no-encrypt --key-out " + quote(dir / "k") + " --cert-out " +
           quote(dir / "c") + " --days 213520",
       "--days"},
      {"request --kind cba-ca --name x --tenant t --days -3" + store, "--days"},
      {"request --kind cba-ca --name x --tenant t --days 0" + store, "--days"},
      {"run --concurrency 0" + store, "--concurrency"},
      {"run --confirm-wait-seconds -1" + store, "--confirm-wait-seconds"},
      {"run --poll-interval-ms 0" + store, "--poll-interval-ms"},
      {"status --expiring-within -5" + store, "--expiring-within"},
  };
  for (const auto& [args, option] : cases) {
    BOOST_TEST_CONTEXT(args) {
      auto r = run_cli(args);
      BOOST_TEST(r.exit_code == 2, r.out + r.err);
      BOOST_TEST(r.err.find(option) != std::string::npos, r.err);
    }
  }
  BOOST_TEST(!std::filesystem::exists(dir / "c"), "a certificate was issued anyway");
  BOOST_TEST(!std::filesystem::exists(dir / "s.db"), "the store was touched");
}

BOOST_AUTO_TEST_CASE(a_bad_config_or_store_is_a_clear_error) {
  TempDir dir;
  pkiflow::test::write_file(dir / "bad.json",
                            R"({"certificates": [{"kind": "gsa-tls-ca", "name": "x"}]})");
  auto r = run_cli("request --from-config --config " + quote(dir / "bad.json") + " --state-url " +
                   quote((dir / "s.db").string()));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("certificates[0]: \"tenant\" is required") != std::string::npos, r.err);
  // Tenants and certificates are parsed as the file is read (issue 16): a tenant given twice
  // is refused by name, and an entry that is not an object is named by its index.
  const std::string t =
      R"({"tenant_id": "t.example", "client_id": "app", "auth": {"client_secret_env": "X"}})";
  const std::pair<std::string, std::string> streamed[] = {
      {R"({"tenants": {"a": )" + t + R"(, "b": )" + t + R"(, "a": )" + t + "}}",
       "tenants.a: is given twice"},
      {R"({"tenants": {"a": )" + t + R"(}, "certificates": [{"kind": "cba-ca", "name": "x",
          "tenant": "a", "subject": "CN=X"}, 5, [1]]})",
       "certificates[1]: must be an object"},
      {R"({"tenants": {"a": )" + t + R"(, "b": 7}})", "tenants.b: must be an object"},
      {R"({"tenants": {"a": {"tenant_id": "x"}}})", "tenants.a: \"client_id\" is required"},
  };
  for (const auto& [text, expected] : streamed) {
    pkiflow::test::write_file(dir / "streamed.json", text);
    auto c = run_cli("status --config " + quote(dir / "streamed.json") + " --state-url " +
                     quote((dir / "s.db").string()));
    BOOST_TEST(c.exit_code == 2, text);
    BOOST_TEST(c.err.find(expected) != std::string::npos, text << "\n" << c.err);
  }
  pkiflow::test::write_file(dir / "notes.txt", "not a database");
  auto s = run_cli("status --state-url " + quote((dir / "notes.txt").string()));
  BOOST_TEST(s.exit_code == 2);
  BOOST_TEST(s.err.find("not a pkiflow state database") != std::string::npos, s.err);
  BOOST_TEST(pkiflow::test::read_file(dir / "notes.txt") == "not a database");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace cli_test

// The `command` signer (engine/signers/command.hpp): the openssl-ca recipe of samples/signers/
// signing for real, and what the signer does with a program that hangs, fails, answers
// "pending", prints its certificate, or tries to see more than it is given.
#include <signal.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <thread>

#include "engine/config.hpp"
#include "engine/config_check.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/signers/command.hpp"
#include "engine/signers/make_signer.hpp"
#include "engine/workflow.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace command_signer_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using pkiflow::test::quote;
using pkiflow::test::read_file;
using pkiflow::test::run;
using pkiflow::test::TempDir;
using pkiflow::test::write_file;

namespace {

const std::string kSigners = std::string(PKIFLOW_SOURCE_DIR) + "/samples/signers/";
const std::string kRecipe = kSigners + "openssl-ca.sh";
// Stand-ins for step, ssh, scp and certreq (the real ones cannot run here).
const std::string kStandIns = std::string(PKIFLOW_SOURCE_DIR) + "/tests/fixtures/signers/bin";

// A CA directory as samples/signers/README.md sets one up: made by openssl, its key encrypted.
struct OpensslCa {
  TempDir dir;
  test::fs::path ca = dir / "ca";
  OpensslCa() {
    auto r = run("cd " + quote(dir.path()) +
                 " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "
                 "root.key -out root.pem -subj '/O=Lab/CN=Recipe Root' -days 3650 "
                 "-passout pass:ca-pass -addext 'basicConstraints=critical,CA:TRUE' -addext "
                 "'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' 2>&1");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
    test::make_openssl_ca_dir(ca, dir / "root.pem", dir / "root.key");
  }
  signers::CommandSettings settings(const std::string& name = "corp-ca") const {
    signers::CommandSettings s;
    s.name = name;
    s.command = {kRecipe, ca.string(), "{csr}", "{cert}", "{chain}", "{profile}", "{days}"};
    s.environment = {{"PKIFLOW_CA_PASS", "ca-pass"}};
    return s;
  }
  std::shared_ptr<const pki::TrustStore> trust() const {
    return std::make_shared<pki::TrustStore>(
        std::vector<pki::Certificate>{*pki::Certificate::load(ca / "ca.pem")});
  }
};

pki::Csr request(const std::string& subject) {
  auto rng = pki::Rng::system();
  auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  pki::CsrSpec spec;
  spec.subject = subject;
  return *pki::Csr::build(spec, key, rng);
}

std::unique_ptr<Signer> make_signer_for_test(signers::CommandSettings s) {
  auto made = signers::make_command_signer(std::move(s));
  BOOST_TEST_REQUIRE(made.ok(), test::why(made));
  return std::move(*made);
}

Result<Issued> sign(Signer& signer, const pki::Csr& csr, const std::string& profile = "cba-ca",
                    int days = 400) {
  return signer.sign(SignRequest{csr, *pki::find_profile(profile), days,
                                 std::chrono::system_clock::now(), "rec-1"});
}

// A command for a stand-in program: /bin/sh -c SCRIPT with the placeholders as $1...
signers::CommandSettings script(const std::string& body,
                                std::vector<std::string> args = {"{csr}"}) {
  signers::CommandSettings s;
  s.name = "stand-in";
  s.command = {"/bin/sh", "-c", body, "sh"};
  s.command.insert(s.command.end(), args.begin(), args.end());
  s.timeout = std::chrono::seconds(20);
  return s;
}

// Running (a zombie left for an init that does not reap, as in some containers, is not).
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close == std::string::npos || stat.substr(close + 2, 1) != "Z";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_signer)

BOOST_AUTO_TEST_CASE(the_openssl_ca_recipe_signs_each_profile_and_the_result_validates) {
  OpensslCa ca;
  auto signer = make_signer_for_test(ca.settings());
  BOOST_TEST(signer->acts_outside());
  for (const char* profile : {"tls-inspection-ca", "cba-ca", "code-signing"}) {
    BOOST_TEST_CONTEXT(profile) {
      auto csr = request("CN=Issued by openssl,O=Lab");
      auto issued = sign(*signer, csr, profile, 365);
      BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
      BOOST_TEST(issued->certificate.subject() == csr.subject());
      BOOST_TEST_REQUIRE(issued->chain.size() == 1u);
      BOOST_TEST(issued->chain[0].subject() == "CN=Recipe Root,O=Lab");
      // The same validation a run gives every signer's output.
      auto st =
          validate_for_upload(issued->certificate, issued->chain, csr, *pki::find_profile(profile),
                              ca.trust(), std::chrono::system_clock::now(), "record rec-1");
      BOOST_TEST(st.ok(), test::why(st));
    }
  }
  // A certificate issued to another key than the CSR's is caught by that validation.
  auto csr = request("CN=Issued by openssl,O=Lab");
  auto issued = sign(*signer, request("CN=Issued by openssl,O=Lab"), "cba-ca", 365);
  BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
  auto st =
      validate_for_upload(issued->certificate, issued->chain, csr, *pki::find_profile("cba-ca"),
                          ca.trust(), std::chrono::system_clock::now(), "record rec-1");
  BOOST_TEST(!st.ok());
}

BOOST_AUTO_TEST_CASE(extensions_a_request_asks_for_are_never_copied_into_what_it_signs) {
  OpensslCa ca;
  TempDir dir;
  // A code-signing request that asks to be a CA, with a name of its own choosing.
  auto r = run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
               quote(dir / "k.pem") + " -out " + quote(dir / "r.csr") +
               " -subj '/CN=Sneaky/O=Lab' -addext 'basicConstraints=critical,CA:TRUE' -addext "
               "'subjectAltName=DNS:evil.example' 2>&1");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  auto csr = pki::Csr::load(dir / "r.csr");
  BOOST_TEST_REQUIRE(csr.ok(), test::why(csr));
  auto signer = make_signer_for_test(ca.settings());
  auto issued = sign(*signer, *csr, "code-signing", 30);
  BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
  write_file(dir / "c.pem", issued->certificate.pem());
  auto t = run("openssl x509 -noout -text -in " + quote(dir / "c.pem"));
  BOOST_TEST(t.out.find("CA:FALSE") != std::string::npos, t.out);
  BOOST_TEST(t.out.find("evil.example") == std::string::npos, t.out);
  BOOST_TEST(t.out.find("Code Signing") != std::string::npos, t.out);
}

BOOST_AUTO_TEST_CASE(a_profile_the_ca_has_no_section_for_is_refused_with_the_recipes_words) {
  OpensslCa ca;
  auto s = ca.settings();
  s.command[5] = "no-such-profile";
  auto signer = make_signer_for_test(s);
  auto issued = sign(*signer, request("CN=X"));
  BOOST_TEST_REQUIRE(!issued.ok());
  BOOST_TEST(issued.error().kind() == ErrorKind::remote);
  BOOST_TEST(issued.error().what().find("exit code 65") != std::string::npos,
             issued.error().what());
  BOOST_TEST(issued.error().what().find("has no [ no-such-profile ] section") != std::string::npos,
             issued.error().what());
}

BOOST_AUTO_TEST_CASE(a_command_past_its_timeout_is_stopped_with_its_children_and_retried_later) {
  TempDir dir;
  auto s = script("echo $$ > " + quote(dir / "pid") + "; sleep 60 & echo $! > " +
                  quote(dir / "child") + "; wait");
  s.timeout = std::chrono::milliseconds(1500);
  auto signer = make_signer_for_test(s);
  const auto start = std::chrono::steady_clock::now();
  auto issued = sign(*signer, request("CN=X"));
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_REQUIRE(!issued.ok());
  BOOST_TEST(issued.error().kind() == ErrorKind::unavailable);  // transient: retried later
  BOOST_TEST(issued.error().what().find("did not finish within 1 s") != std::string::npos,
             issued.error().what());
  BOOST_TEST(took < std::chrono::seconds(10));
  const pid_t pid = std::stoi(read_file(dir / "pid"));
  const pid_t child = std::stoi(read_file(dir / "child"));
  BOOST_TEST(!alive(pid));
  // Its own process group went with it: SIGKILL reaches the grandchild at once, but on a loaded
  // machine the kernel may take a moment to finish it off.
  for (int i = 0; i < 40 && alive(child); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(!alive(child));
}

BOOST_AUTO_TEST_CASE(exit_75_is_pending_and_a_failure_carries_the_last_lines_of_its_stderr) {
  auto pending = make_signer_for_test(
      script("echo 'request 42 is pending approval by a CA manager' >&2; exit 75"));
  auto p = sign(*pending, request("CN=X"));
  BOOST_TEST_REQUIRE(!p.ok());
  BOOST_TEST(p.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(p.error().what().find("pending") != std::string::npos, p.error().what());
  BOOST_TEST(p.error().what().find("request 42 is pending approval") != std::string::npos);

  auto failing = make_signer_for_test(
      script("for i in 1 2 3 4 5 6 7 8; do echo \"line $i\" >&2; done; exit 3"));
  auto f = sign(*failing, request("CN=X"));
  BOOST_TEST_REQUIRE(!f.ok());
  BOOST_TEST(f.error().kind() == ErrorKind::remote);  // refused: an operator must look
  const std::string what = f.error().what();
  BOOST_TEST(what.find("signer stand-in") != std::string::npos, what);
  BOOST_TEST(what.find("exit code 3") != std::string::npos, what);
  BOOST_TEST(what.find("line 4 | line 5 | line 6 | line 7 | line 8") != std::string::npos, what);
  BOOST_TEST(what.find("line 3") == std::string::npos, what);

  auto killed = make_signer_for_test(script("kill -9 $$"));
  auto k = sign(*killed, request("CN=X"));
  BOOST_TEST_REQUIRE(!k.ok());
  BOOST_TEST(k.error().what().find("signal 9") != std::string::npos, k.error().what());
}

BOOST_AUTO_TEST_CASE(the_command_sees_a_clean_environment_and_each_argument_exactly_as_given) {
  TempDir dir;
  ::setenv("PKIFLOW_TEST_SECRET", "must-not-leak", 1);
  ::setenv("PKIFLOW_TEST_PASSED", "passed-value", 1);
  auto s =
      script("env > " + quote(dir / "env") + "; printf '%s\\n' \"$@\" > " + quote(dir / "args") +
                 "; ls -ld \"$PKIFLOW_SIGN_DIR\" > " + quote(dir / "workdir") + "; exit 9",
             {"{csr}", "{subject}", "{profile}", "{days}", "{record}", "--out={cert}"});
  SignerConfig config;
  config.name = "stand-in";
  config.type = "command";
  config.command = s.command;
  config.environment = {{"FIXED", "fixed value"}};
  config.pass_environment = {"PKIFLOW_TEST_PASSED", "PKIFLOW_TEST_UNSET"};
  auto made = signers::make_signer(config);
  BOOST_TEST_REQUIRE(made.ok(), test::why(made));
  // A subject a shell would act on: each placeholder stays one argument, never interpreted.
  auto issued = sign(**made, request("CN=a;touch pwned $(id) `id`,O=Lab"), "code-signing", 30);
  BOOST_TEST(!issued.ok());
  ::unsetenv("PKIFLOW_TEST_SECRET");
  ::unsetenv("PKIFLOW_TEST_PASSED");

  const std::string env = read_file(dir / "env");
  BOOST_TEST(env.find("FIXED=fixed value") != std::string::npos, env);
  BOOST_TEST(env.find("PKIFLOW_TEST_PASSED=passed-value") != std::string::npos, env);
  BOOST_TEST(env.find("PATH=/usr/local/bin:/usr/bin:/bin") != std::string::npos, env);
  BOOST_TEST(env.find("must-not-leak") == std::string::npos, env);
  BOOST_TEST(env.find("PKIFLOW_TEST_UNSET") == std::string::npos, env);
  BOOST_TEST(env.find("HOME=") == std::string::npos, env);

  const std::string args = read_file(dir / "args");
  BOOST_TEST(args.find("\nCN=a\\;touch pwned $(id) `id`,O=Lab\ncode-signing\n30\nrec-1\n--out=") !=
                 std::string::npos,
             args);
  BOOST_TEST(!test::fs::exists("pwned"));
  // The CSR it was given was a file in a private directory, gone once the command has ended.
  const std::string csr_path = args.substr(0, args.find('\n'));
  BOOST_TEST(read_file(dir / "workdir").rfind("drwx------", 0) == 0u, read_file(dir / "workdir"));
  BOOST_TEST(!test::fs::exists(csr_path));
  BOOST_TEST(!test::fs::exists(test::fs::path(csr_path).parent_path()));
}

BOOST_AUTO_TEST_CASE(the_certificate_may_come_on_standard_output_with_its_chain_after_it) {
  OpensslCa ca;
  // A stand-in for a CA client that prints what it got: openssl ca's output, then the CA.
  auto s = script("export CA_DIR=" + ca.ca.string() +
                      "; openssl ca -batch -config \"$CA_DIR/openssl-ca.cnf\" -extensions cba-ca "
                      "-days 30 -preserveDN -notext -in \"$1\" -passin pass:ca-pass 2>/dev/null; "
                      "cat \"$CA_DIR/chain.pem\"",
                  {"{csr}"});
  auto signer = make_signer_for_test(s);
  auto csr = request("CN=From stdout,O=Lab");
  auto issued = sign(*signer, csr, "cba-ca", 30);
  BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
  BOOST_TEST(issued->certificate.subject() == "CN=From stdout,O=Lab");
  BOOST_TEST_REQUIRE(issued->chain.size() == 1u);
  BOOST_TEST(issued->chain[0].subject() == "CN=Recipe Root,O=Lab");

  // Exit 0 with nothing to show for it is refused, saying where it looked.
  auto empty = make_signer_for_test(script("echo signed, honestly >&2; true", {"{csr}", "{cert}"}));
  auto e = sign(*empty, csr);
  BOOST_TEST_REQUIRE(!e.ok());
  BOOST_TEST(e.error().what().find("left no certificate in {cert}") != std::string::npos,
             e.error().what());
  BOOST_TEST(e.error().what().find("signed, honestly") != std::string::npos, e.error().what());

  // An endless output is cut off, not buffered without limit.
  auto flood = make_signer_for_test(script("yes 'not a certificate'"));
  auto fl = sign(*flood, csr);
  BOOST_TEST_REQUIRE(!fl.ok());
  BOOST_TEST(fl.error().what().find("more than 1048576 bytes") != std::string::npos,
             fl.error().what());
}

BOOST_AUTO_TEST_CASE(the_step_ca_recipe_calls_step_ca_sign_per_profile_and_adds_the_root) {
  OpensslCa ca;
  write_file(ca.dir / "provisioner-pass", "jwk-pass\n");
  signers::CommandSettings s;
  s.name = "step";
  s.command = {kSigners + "step-ca.sh", "{csr}", "{cert}", "{chain}", "{profile}", "{days}"};
  s.environment = {{"PATH", kStandIns + ":/usr/bin:/bin"},
                   {"STEP_CA_URL", "https://ca.lab.test"},
                   {"STEP_ROOT", (ca.ca / "ca.pem").string()},
                   {"STEP_PROVISIONER_PASSWORD_FILE", (ca.dir / "provisioner-pass").string()},
                   {"FAKE_CA_DIR", ca.ca.string()},
                   {"PKIFLOW_CA_PASS", "ca-pass"}};
  auto signer = make_signer_for_test(s);
  for (const char* profile : {"tls-inspection-ca", "cba-ca", "code-signing"}) {
    BOOST_TEST_CONTEXT(profile) {
      auto csr = request("CN=Issued by step-ca,O=Lab");
      auto issued = sign(*signer, csr, profile, 200);
      BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
      BOOST_TEST_REQUIRE(issued->chain.size() == 1u);  // the root, added by the recipe
      BOOST_TEST(issued->chain[0].subject() == "CN=Recipe Root,O=Lab");
      const auto f = issued->certificate.facts();
      BOOST_TEST(
          std::chrono::duration_cast<std::chrono::hours>(f.not_after - f.not_before).count() ==
          200 * 24);
      auto st =
          validate_for_upload(issued->certificate, issued->chain, csr, *pki::find_profile(profile),
                              ca.trust(), std::chrono::system_clock::now(), "record rec-1");
      BOOST_TEST(st.ok(), test::why(st));
    }
  }
  // Without its provisioner password the call fails with step's own words.
  s.environment["STEP_PROVISIONER_PASSWORD_FILE"] = (ca.dir / "missing").string();
  auto broken = make_signer_for_test(s);
  auto e = sign(*broken, request("CN=X"));
  BOOST_TEST_REQUIRE(!e.ok());
  BOOST_TEST(e.error().what().find("error reading") != std::string::npos, e.error().what());
}

BOOST_AUTO_TEST_CASE(the_ad_cs_recipe_is_pending_until_approved_then_retrieves_that_request) {
  OpensslCa ca;
  TempDir remote, state;
  write_file(remote / "hold", "");  // the CA holds requests for a manager
  signers::CommandSettings s;
  s.name = "adcs";
  s.command = {kSigners + "adcs-certreq.sh", "{csr}", "{cert}", "{profile}", "{record}"};
  s.chain = ca.ca / "chain.pem";
  s.environment = {{"PATH", kStandIns + ":/usr/bin:/bin"},
                   {"ADCS_HOST", "svc-pkiflow@ca01.lab.test"},
                   {"ADCS_CONFIG", "ca01.lab.test\\Lab Issuing CA"},
                   {"ADCS_STATE", state.path().string()},
                   {"FAKE_HOST", "svc-pkiflow@ca01.lab.test"},
                   {"FAKE_CA_CONFIG", "ca01.lab.test\\Lab Issuing CA"},
                   {"FAKE_REMOTE", remote.path().string()},
                   {"FAKE_CA_DIR", ca.ca.string()},
                   {"PKIFLOW_CA_PASS", "ca-pass"}};
  auto signer = make_signer_for_test(s);
  auto csr = request("CN=Issued by AD CS,O=Lab");
  auto first = sign(*signer, csr, "cba-ca");
  BOOST_TEST_REQUIRE(!first.ok());
  BOOST_TEST(first.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(first.error().what().find("AD CS request 1 (template PkiflowCbaCA) is pending") !=
                 std::string::npos,
             first.error().what());
  BOOST_TEST(read_file(state / "rec-1.request-id") == "1\n");
  auto again = sign(*signer, csr, "cba-ca");  // still held: the same request, not a new one
  BOOST_TEST(!again.ok());
  BOOST_TEST(!test::fs::exists(remote / "requests" / "2"));

  test::fs::remove(remote / "hold");  // approved
  auto issued = sign(*signer, csr, "cba-ca");
  BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
  BOOST_TEST(!test::fs::exists(remote / "requests" / "2"));  // retrieved, not submitted again
  BOOST_TEST(!test::fs::exists(state / "rec-1.request-id"));
  BOOST_TEST_REQUIRE(issued->chain.size() == 1u);  // from the signer's "chain"
  auto st =
      validate_for_upload(issued->certificate, issued->chain, csr, *pki::find_profile("cba-ca"),
                          ca.trust(), std::chrono::system_clock::now(), "record rec-1");
  BOOST_TEST(st.ok(), test::why(st));
}

BOOST_AUTO_TEST_CASE(a_command_signer_configuration_is_checked_field_by_field) {
  auto parse = [](const std::string& signer) {
    return parse_config(R"({"signers": {"corp": )" + signer + "}}", "/etc/pkiflow/pkiflow.json");
  };
  auto ok = parse(R"({"type": "command", "command": ["/bin/true", "{csr}", "{cert}"],
                      "timeout_seconds": 30, "environment": {"STEPPATH": "/etc/step"},
                      "pass_environment": ["HTTPS_PROXY"], "chain": "chain.pem"})");
  BOOST_TEST_REQUIRE(ok.ok(), test::why(ok));
  BOOST_TEST(ok->signers[0].timeout.count() == 30);
  BOOST_TEST(ok->signers[0].chain == "/etc/pkiflow/chain.pem");
  struct Case {
    const char* signer;
    const char* says;
  };
  for (auto c :
       {Case{R"({"type": "command", "command": ["/bin/true", "{cdr}"]})",
             "unknown placeholder {cdr}"},
        Case{R"({"type": "command", "command": ["/bin/true", "{cert}"]})",
             "put {csr} (the CSR file) in one of its items"},
        Case{R"({"type": "command"})", "\"command\" is required for a command signer"},
        Case{R"({"type": "command", "command": "/bin/true {csr}"})",
             "\"command\" must be an array of strings"},
        Case{R"({"type": "command", "command": ["/bin/true", "{csr}"], "key": "ca.key"})",
             "\"key\" is not a field of a command signer"},
        Case{R"({"certificate": "ca.pem", "key": "ca.key", "command": ["x", "{csr}"]})",
             "\"command\" is not a field of a local-ca signer"},
        Case{R"({"type": "command", "command": ["/bin/true", "{csr}"],
                          "timeout_seconds": 0})",
             "\"timeout_seconds\" must be an integer from 1 to 86400"},
        Case{R"({"type": "command", "command": ["/bin/true", "{csr}"],
                          "pass_environment": ["NOT A NAME"]})",
             "\"NOT A NAME\" is not an environment variable name"},
        Case{R"({"type": "hsm"})", "unknown type \"hsm\" (local-ca, command or offline"}}) {
    BOOST_TEST_CONTEXT(c.signer) {
      auto r = parse(c.signer);
      BOOST_TEST_REQUIRE(!r.ok());
      BOOST_TEST(r.error().what().find("signers.corp") != std::string::npos, r.error().what());
      BOOST_TEST(r.error().what().find(c.says) != std::string::npos, r.error().what());
    }
  }
  // The file checks: a program that is not there, named by field.
  auto missing = parse(R"({"type": "command", "command": ["no-such-signing-tool", "{csr}"]})");
  BOOST_TEST_REQUIRE(missing.ok(), test::why(missing));
  auto problems = check_config_files(*missing);
  BOOST_TEST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].error.what().find("signers.corp.command: no-such-signing-tool is not "
                                           "found on the PATH it runs with") != std::string::npos,
             problems[0].error.what());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace command_signer_test

// No secret in anything pkiflow writes (issue 15, part 3): the three families driven end to end
// with both credential types, a dry run, a plan, the read verbs with --json, a failed sign-in;
// then every byte pkiflow printed or left on disk (logs, --json output, the metrics file, the
// state database and its WAL, dry-run output, the keys it made) and the emulator's request log
// (each request line and client-request-id) is searched for every secret
// the run handled: the client secret, the key passphrase, every access token the emulator
// issued and every client assertion it received, and the private keys pkiflow made (their
// unencrypted PKCS#8, line by line). A second case does the same for the secrets that open keys:
// a CA key file's passphrase, a PKCS#11 token's PIN and the app's key passphrase, right and
// wrong.
#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/pkcs8.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include "tests/graph/e2e_support.hpp"
#include "tests/support/softhsm.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace secret_scan_test {

using namespace pkiflow;
using namespace pkiflow::test;
using namespace pkiflow::test::e2e;

namespace {

constexpr const char* kKeysPassphrase = "lab-keys-passphrase";

// The base64 lines of a PEM body (64 characters each): a key's bytes as they would appear.
std::vector<std::string> pem_lines(const std::string& pem) {
  std::vector<std::string> out;
  std::istringstream in(pem);
  std::string line;
  while (std::getline(in, line))
    if (line.size() >= 40 && line.rfind("-----", 0) != 0) out.push_back(line);
  return out;
}

// The lines of a private key's PEM that hold private bytes: a PKCS#8 EC key ends with its public
// point, which the certificate and CSR carry too, so a line made only of public bytes is no
// finding.
std::vector<std::string> private_lines(const std::string& key_pem) {
  Botan::DataSource_Memory in(key_pem);
  const auto key = Botan::PKCS8::load_key(in);
  const auto spki = key->subject_public_key();
  std::vector<std::string> out;
  for (auto& line : pem_lines(key_pem)) {
    const auto bytes = Botan::base64_decode(line);
    if (std::search(spki.begin(), spki.end(), bytes.begin(), bytes.end()) == spki.end())
      out.push_back(line);
  }
  return out;
}

// Everything written under `dir` (recursively), except the files the test itself wrote with a
// secret in them on purpose (`inputs`, by name) and a SoftHSM2 token's own store (hsm/tokens).
std::map<std::string, std::string> written_files(const fs::path& dir,
                                                 std::set<std::string> inputs = {}) {
  inputs.insert({"secret.txt", "keys-pass", "root.key", "app.key", "wrong-secret.txt"});
  std::map<std::string, std::string> out;
  for (auto e = fs::recursive_directory_iterator(dir); e != fs::recursive_directory_iterator();
       ++e) {
    if (e->is_directory() && e->path().filename() == "tokens") e.disable_recursion_pending();
    if (!e->is_regular_file() || inputs.count(e->path().filename().string())) continue;
    out[e->path().string()] = read_file(e->path());
  }
  return out;
}

// Searches every place (a file, or what a command printed) for every secret.
void expect_no_secret(const std::map<std::string, std::string>& places,
                      const std::vector<std::string>& secrets) {
  for (const auto& [where, text] : places)
    for (const auto& s : secrets) {
      const auto at = text.find(s);
      BOOST_TEST(at == std::string::npos,
                 "a secret (" << s.substr(0, 6) << "…) in " << where << " at byte " << at);
      if (at != std::string::npos)  // what precedes it says which output wrote it
        BOOST_TEST_MESSAGE(
            "before it: " << text.substr(at > 200 ? at - 200 : 0, std::min<std::size_t>(at, 200)));
    }
}

// The private lines of every key pkiflow made under `dir` (*.key other than the test's own
// `inputs`), decrypted with openssl and the lab's key passphrase; how many keys there were.
std::size_t made_key_lines(const fs::path& dir, const std::set<std::string>& inputs,
                           std::vector<std::string>& secrets) {
  std::size_t keys = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (!e.is_regular_file() || e.path().extension() != ".key" || inputs.count(name)) continue;
    auto plain =
        run("openssl pkcs8 -in " + quote(e.path()) + " -passin file:" + quote(dir / "keys-pass"));
    BOOST_TEST_REQUIRE(plain.exit_code == 0, e.path() << ": " << plain.err);
    const auto lines = private_lines(plain.out);
    BOOST_TEST(lines.size() >= 2u);  // the private scalar spans two lines of a P-256 key
    secrets.insert(secrets.end(), lines.begin(), lines.end());
    ++keys;
  }
  return keys;
}

// The emulator's request log as one text: what pkiflow put in each request line and its
// client-request-id (a secret in a URL would show here).
std::string request_log(const emulator::GraphEmulator& emu) {
  std::string out;
  for (const auto& e : emu.log())
    out += e.method + " " + e.target + " " + e.client_request_id + "\n";
  return out;
}

// `secret` in a 0600 file under `dir`.
void write_secret(const fs::path& file, const std::string& secret) {
  write_file(file, secret + "\n");
  ::chmod(file.c_str(), 0600);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secret_scan)

BOOST_AUTO_TEST_CASE(no_secret_in_any_output_log_file_or_the_state) {
  for (const std::string auth : {"secret", "certificate"}) {
    BOOST_TEST_CONTEXT("auth " << auth) {
      // The lab makes the app's certificate (certificate auth); the emulator registers it, then
      // the configuration is pointed at the emulator.
      Lab lab({"http://127.0.0.1:1", "", auth, kSecret});
      auto opt = emulator_options();
      if (auth == "certificate") opt.client_certificate_pem = read_file(lab.dir() / "app.pem");
      LiveEmulator live(opt, 31);
      lab.configure([&](json& cfg) {
        cfg["tenants"]["lab"]["graph_url"] = live.base() + "/beta";
        cfg["tenants"]["lab"]["token_url"] = live.base() + "/contoso/oauth2/v2.0/token";
      });
      std::map<std::string, std::string> said;  // what each command printed
      auto cli = [&](const std::string& verb, const std::string& rest = "") {
        auto r = lab.cli(verb, rest);
        said[verb + " " + rest] = r.out + r.err;
        return r;
      };
      const std::string gsa = lab.request("tls");
      lab.request_kind("cba-ca", "user-ca", "CN=User CA,O=Lab");
      lab.request_kind("intune-codesigning", "apps", "CN=Lab Apps,O=Lab");
      auto dry = cli("run", "--dry-run --json");
      BOOST_TEST(dry.exit_code == 0, dry.out + dry.err);
      cli("plan", "--json");
      auto ran = cli(
          "run", "--json --log-format json -v --metrics-file " + quote(lab.dir() / "pkiflow.prom"));
      BOOST_TEST(ran.exit_code == 0, ran.out + ran.err);
      cli("status", "--all --json");
      cli("history", gsa + " --json");
      cli("show", gsa + " --json");
      cli("verify", "--json");
      cli("graph login-test", "--json");
      cli("graph login-test", "--dry-run --json");
      cli("config check", "--json");
      if (auth == "secret") {  // a failed sign-in: its error must name the cause, not the value
        write_secret(lab.dir() / "wrong-secret.txt", "not-the-secret-value");
        lab.configure([](json& cfg) {
          cfg["tenants"]["lab"]["auth"]["client_secret_file"] = "wrong-secret.txt";
        });
        lab.request_kind("cba-ca", "second", "CN=Second CA,O=Lab");
        auto failed = cli("run", "--json --log-format json -v");
        BOOST_TEST(failed.exit_code != 0);
        BOOST_TEST(said["run --json --log-format json -v"].find("invalid_client") !=
                   std::string::npos);
      }

      std::vector<std::string> secrets{kSecret, kKeysPassphrase, "not-the-secret-value"};
      const auto seen = live.emu().secrets_seen();
      BOOST_TEST(seen.size() >= 1u);  // tokens were issued (and assertions received)
      secrets.insert(secrets.end(), seen.begin(), seen.end());
      // The keys pkiflow made (CBA and Intune), decrypted here with openssl, line by line; the
      // app's own key (certificate auth) too.
      const std::size_t keys = made_key_lines(lab.dir(), {"root.key", "app.key"}, secrets);
      BOOST_TEST(keys >= 2u);  // the CBA CA's and the code-signing key
      if (auth == "certificate")
        for (auto& l : private_lines(read_file(lab.dir() / "app.key")))
          secrets.push_back(l);

      auto places = written_files(lab.dir());
      for (const auto& [what, text] : said)
        places["output of `pkiflow " + what + "`"] = text;
      places["the emulator's request log"] = request_log(live.emu());
      BOOST_TEST(places.count((lab.dir() / "state.db").string()) == 1u);
      BOOST_TEST(places.count((lab.dir() / "pkiflow.prom").string()) == 1u);
      expect_no_secret(places, secrets);
    }
  }
}

// The secrets that open keys: the CA key's passphrase (a local CA whose key file is encrypted), a
// PKCS#11 token's PIN (a CA whose key is in SoftHSM2), the app's key passphrase (certificate
// sign-in with an encrypted key), and wrong values of each tried in a failing run. CBA and Intune
// records are signed by each of the two CAs, the GSA one (one per tenant) by the key file.
BOOST_AUTO_TEST_CASE(no_key_passphrase_or_pin_in_any_output_log_file_or_the_state) {
  const std::string ca_pass = "ca-pass-Vq3rT9x", app_pass = "app-key-pass-Wm8sK2y",
                    pin = "pin-Hx4nB7z", wrong_ca_pass = "ca-wrong-Jd6pL0q",
                    wrong_pin = "pin-wrong-Zr5cF1";
  const std::set<std::string> inputs{"ca-pass", "app-key-pass", "root-enc.key", "app-enc.key",
                                     "token-pin"};
  Lab lab({"http://127.0.0.1:1", "", "certificate", kSecret});
  auto opt = emulator_options();
  opt.client_certificate_pem = read_file(lab.dir() / "app.pem");
  LiveEmulator live(opt, 37);
  write_secret(lab.dir() / "ca-pass", ca_pass);
  write_secret(lab.dir() / "app-key-pass", app_pass);
  for (const auto& [plain, enc, pass] : {std::tuple{"root.key", "root-enc.key", "ca-pass"},
                                         std::tuple{"app.key", "app-enc.key", "app-key-pass"}}) {
    auto r = run("openssl pkcs8 -topk8 -v2 aes-256-cbc -in " + quote(lab.dir() / plain) + " -out " +
                 quote(lab.dir() / enc) + " -passout file:" + quote(lab.dir() / pass));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    ::chmod((lab.dir() / enc).c_str(), 0600);
  }
  fs::create_directories(lab.dir() / "hsm");
  test::SoftHsm hsm(lab.dir() / "hsm", "scan-hsm", pin);
  const std::string uri = hsm.uri("root");
  auto root = test::run_cli("ca new-root --subject 'CN=HSM Root,O=Lab' --alg p256 --cert-out " +
                            quote(lab.dir() / "hsm-root.pem") + " --key " + quote(uri));
  BOOST_TEST_REQUIRE(root.exit_code == 0, root.out + root.err);
  write_file(lab.dir() / "anchors.pem",
             read_file(lab.dir() / "root.pem") + read_file(lab.dir() / "hsm-root.pem"));
  lab.configure([&](json& cfg) {
    cfg["tenants"]["lab"]["graph_url"] = live.base() + "/beta";
    cfg["tenants"]["lab"]["token_url"] = live.base() + "/contoso/oauth2/v2.0/token";
    cfg["tenants"]["lab"]["auth"]["key"] = "app-enc.key";
    cfg["tenants"]["lab"]["auth"]["key_passphrase_file"] = "app-key-pass";
    cfg["signers"]["enc"] = {
        {"certificate", "root.pem"}, {"key", "root-enc.key"}, {"passphrase_file", "ca-pass"}};
    cfg["signers"]["hsm"] = {{"certificate", "hsm-root.pem"}, {"key", uri}};
    cfg["trust_anchors"] = "anchors.pem";
  });
  std::map<std::string, std::string> said;
  auto cli = [&](const std::string& verb, const std::string& rest = "") {
    auto r = lab.cli(verb, rest);
    said[verb + " " + rest] = r.out + r.err;
    return r;
  };
  auto request = [&](const std::string& kind, const std::string& name, const std::string& signer) {
    auto r =
        cli("request", "--kind " + kind + " --name " + name + " --tenant lab --subject 'CN=Lab " +
                           name + ",O=Lab' --signer " + signer +
                           (kind == "gsa-tls-ca" ? "" : " --key-alg p256") + " --json");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.out + r.err);
    return json::parse(r.out)[0]["id"].get<std::string>();
  };
  std::vector<std::string> ids{request("gsa-tls-ca", "tls", "enc")};
  for (const std::string signer : {"enc", "hsm"})
    for (const auto& [kind, name] :
         {std::pair{"cba-ca", "users"}, std::pair{"intune-codesigning", "apps"}})
      ids.push_back(request(kind, std::string(name) + "-" + signer, signer));
  auto check = cli("config check", "--json");
  BOOST_TEST(check.exit_code == 0, check.out + check.err);
  auto dry = cli("run", "--dry-run --json");
  BOOST_TEST(dry.exit_code == 0, dry.out + dry.err);
  cli("plan", "--json");
  auto ran =
      cli("run", "--json --log-format json -v --metrics-file " + quote(lab.dir() / "pkiflow.prom"));
  BOOST_TEST(ran.exit_code == 0, ran.out + ran.err);
  for (const auto& id : ids)
    BOOST_TEST(lab.record(id)["state"] == "active", id);
  cli("status", "--all --json");
  cli("verify", "--json");
  cli("graph login-test", "--json");
  // Wrong values: each run fails and says which key could not be opened, not with what.
  write_secret(lab.dir() / "ca-pass", wrong_ca_pass);
  write_secret(hsm.pin_file(), wrong_pin);
  request("cba-ca", "second-enc", "enc");
  request("cba-ca", "second-hsm", "hsm");
  auto wrong = cli("run", "--json --log-format json -v");
  BOOST_TEST(wrong.exit_code != 0, wrong.out + wrong.err);
  auto wrong_dry = cli("run", "--dry-run --json");
  BOOST_TEST(wrong_dry.exit_code != 0, wrong_dry.out + wrong_dry.err);
  write_secret(lab.dir() / "app-key-pass", "app-wrong-Ty2mQ4");
  auto wrong_app = cli("graph login-test", "--json");
  BOOST_TEST(wrong_app.exit_code != 0, wrong_app.out + wrong_app.err);

  std::vector<std::string> secrets{ca_pass,   app_pass,           pin,    wrong_ca_pass,
                                   wrong_pin, "app-wrong-Ty2mQ4", kSecret};
  const auto seen = live.emu().secrets_seen();
  BOOST_TEST(seen.size() >= 1u);
  secrets.insert(secrets.end(), seen.begin(), seen.end());
  for (const auto* key : {"root.key", "app.key"})  // the CA's and the app's keys, in the clear
    for (auto& l : private_lines(read_file(lab.dir() / key)))
      secrets.push_back(l);
  std::set<std::string> not_made = inputs;
  not_made.insert({"root.key", "app.key"});
  BOOST_TEST(made_key_lines(lab.dir(), not_made, secrets) >= 4u);  // CBA and Intune, per signer
  auto places = written_files(lab.dir(), inputs);
  for (const auto& [what, text] : said)
    places["output of `pkiflow " + what + "`"] = text;
  places["the emulator's request log"] = request_log(live.emu());
  BOOST_TEST(places.count((lab.dir() / "state.db").string()) == 1u);
  expect_no_secret(places, secrets);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace secret_scan_test

// No secret in anything pkiflow writes (issue 15, part 3): the three families driven end to end
// with both credential types, a dry run, a plan, the read verbs with --json, a failed sign-in;
// then every byte pkiflow printed or left on disk (logs, --json output, the metrics file, the
// state database and its WAL, dry-run output, the keys it made) is searched for every secret
// the run handled: the client secret, the key passphrase, every access token the emulator
// issued and every client assertion it received, and the private keys pkiflow made (their
// unencrypted PKCS#8, line by line).
#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/pkcs8.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "tests/graph/e2e_support.hpp"

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
// secret in them on purpose.
std::map<std::string, std::string> written_files(const fs::path& dir) {
  static const std::set<std::string> test_inputs{"secret.txt", "keys-pass", "root.key", "app.key",
                                                 "wrong-secret.txt"};
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || test_inputs.count(e.path().filename().string())) continue;
    out[e.path().string()] = read_file(e.path());
  }
  return out;
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
        write_file(lab.dir() / "wrong-secret.txt", "not-the-secret-value\n");
        ::chmod((lab.dir() / "wrong-secret.txt").c_str(), 0600);
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
      std::size_t keys = 0;
      for (const auto& e : fs::recursive_directory_iterator(lab.dir())) {
        const auto name = e.path().filename().string();
        if (!e.is_regular_file() || e.path().extension() != ".key" || name == "root.key" ||
            name == "app.key")
          continue;
        auto plain = run("openssl pkcs8 -in " + quote(e.path()) +
                         " -passin file:" + quote(lab.dir() / "keys-pass"));
        BOOST_TEST_REQUIRE(plain.exit_code == 0, e.path() << ": " << plain.err);
        const auto lines = private_lines(plain.out);
        BOOST_TEST(lines.size() >= 2u);  // the private scalar spans two lines of a P-256 key
        secrets.insert(secrets.end(), lines.begin(), lines.end());
        ++keys;
      }
      BOOST_TEST(keys >= 2u);  // the CBA CA's and the code-signing key
      if (auth == "certificate")
        for (auto& l : private_lines(read_file(lab.dir() / "app.key")))
          secrets.push_back(l);

      auto places = written_files(lab.dir());
      for (const auto& [what, text] : said)
        places["output of `pkiflow " + what + "`"] = text;
      BOOST_TEST(places.count((lab.dir() / "state.db").string()) == 1u);
      BOOST_TEST(places.count((lab.dir() / "pkiflow.prom").string()) == 1u);
      for (const auto& [where, text] : places)
        for (const auto& s : secrets) {
          const auto at = text.find(s);
          BOOST_TEST(at == std::string::npos,
                     "a secret (" << s.substr(0, 6) << "…) in " << where << " at byte " << at);
          if (at != std::string::npos)  // what precedes it says which output wrote it
            BOOST_TEST_MESSAGE("before it: " << text.substr(at > 200 ? at - 200 : 0,
                                                            std::min<std::size_t>(at, 200)));
        }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

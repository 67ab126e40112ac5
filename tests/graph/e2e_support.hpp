// Shared by the end-to-end tests: the emulator served from a thread of the test process (so a
// test can read its state directly), and a lab directory with a root CA, a secret, a
// configuration pointing at the emulator and a state store, driven through the CLI.
#pragma once
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/test_support.hpp"
#include "tools/graph-emulator/server.hpp"

extern char** environ;

namespace pkiflow::test::e2e {

using json = nlohmann::json;

constexpr const char* kSecret = "e2e-secret-value";
constexpr const char* kClientId = "00000000-0000-4000-8000-00000000c11e";

// The emulator served from a thread of this process, so a test can read its state directly.
class LiveEmulator {
 public:
  LiveEmulator(emulator::Options opt, std::uint64_t seed,
               const emulator::TlsIdentity* tls = nullptr)
      : emu_(
            std::move(opt), [] { return std::chrono::system_clock::now(); }, seed) {
    auto s = emulator::EmulatorServer::bind(emu_, "127.0.0.1", 0, false, tls);
    BOOST_TEST_REQUIRE(s.ok(), pkiflow::test::why(s));
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~LiveEmulator() {
    server_->stop();
    thread_.join();
  }
  emulator::GraphEmulator& emu() { return emu_; }
  std::string base() const { return server_->base_url(); }

 private:
  emulator::GraphEmulator emu_;
  std::unique_ptr<emulator::EmulatorServer> server_;
  std::thread thread_;
};

inline emulator::Options emulator_options() {
  emulator::Options o;
  o.client_secret = kSecret;
  o.client_id = kClientId;
  o.activation_delay = std::chrono::milliseconds(150);
  o.rsa_service_keys = false;  // P-256 service keys: the same flow, much faster
  return o;
}

// What every lab's configuration holds in `dir`: its state store, the root that signs
// ("lab-root"), the passphrase of the keys pkiflow makes and the trust anchors.
inline json lab_base_config(const test::fs::path& dir) {
  return json{{"state_url", "sqlite://" + (dir / "state.db").string()},
              {"signers",
               {{"lab-root",
                 {{"certificate", "root.pem"},
                  {"key", "root.key"},
                  {"crl_urls", {"http://crl.lab.test/root.crl"}}}}}},
              {"keys", {{"passphrase_file", "keys-pass"}}},
              {"trust_anchors", "root.pem"}};
}

// A working directory: a root CA that signs, a secret file, a configuration, a state store.
class Lab {
 public:
  struct Settings {
    std::string base;              // emulator URL
    std::string tls_ca_file;       // trust for HTTPS ("" = system store)
    std::string auth = "secret";   // "secret", or "certificate" (PS256), "certificate-rs256"
    std::string secret = kSecret;  // what the secret file holds
  };

  explicit Lab(const Settings& s) {
    auto root =
        run_cli("ca new-root --subject 'CN=E2E Root,O=Lab' --alg p256 --no-encrypt --key-out " +
                quote(dir_ / "root.key") + " --cert-out " + quote(dir_ / "root.pem"));
    BOOST_TEST_REQUIRE(root.exit_code == 0, root.err);
    write_file(dir_ / "secret.txt", s.secret + "\n");
    write_file(dir_ / "keys-pass", "lab-keys-passphrase\n");
    ::chmod((dir_ / "keys-pass").c_str(), 0600);
    ::chmod((dir_ / "secret.txt").c_str(), 0600);
    json auth;
    if (s.auth == "secret") {
      auth = {{"client_secret_file", "secret.txt"}};
    } else {
      auto app = run_cli(
          "ca new-root --subject 'CN=pkiflow app' --alg rsa2048 --no-encrypt "
          "--key-out " +
          quote(dir_ / "app.key") + " --cert-out " + quote(dir_ / "app.pem"));
      BOOST_TEST_REQUIRE(app.exit_code == 0, app.err);
      auth = {{"certificate", "app.pem"},
              {"key", "app.key"},
              {"algorithm", s.auth == "certificate-rs256" ? "RS256" : "PS256"}};
    }
    json tenant{{"tenant_id", "contoso"},
                {"client_id", kClientId},
                {"graph_url", s.base + "/beta"},
                {"token_url", s.base + "/contoso/oauth2/v2.0/token"},
                {"auth", auth}};
    if (!s.tls_ca_file.empty()) tenant["tls_ca_file"] = s.tls_ca_file;
    json config = lab_base_config(dir_.path());
    config["tenants"] = {{"lab", tenant}};
    config["run"] = {{"poll_interval_ms", 50},
                     {"confirm_wait_seconds", 20},
                     {"retry_base_seconds", 0},
                     {"concurrency", 4}};
    write_file(dir_ / "pkiflow.json", config.dump(2));
  }

  // Runs `pkiflow <verb> --config … <rest>`.
  test::CommandResult cli(const std::string& verb, const std::string& rest = "") const {
    return run_cli(verb + " --config " + quote(dir_ / "pkiflow.json") + " " + rest);
  }
  std::string request(const std::string& name) const {
    auto r = cli("request", "--kind gsa-tls-ca --name " + name +
                                " --tenant lab --subject 'CN=E2E Inspection,O=Lab' --signer "
                                "lab-root --json");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return json::parse(r.out)[0]["id"];
  }
  // A record of any kind, signed by the lab's root.
  std::string request_kind(const std::string& kind, const std::string& name,
                           const std::string& subject, bool with_signer = true) const {
    auto r = cli("request", "--kind " + kind + " --name " + name + " --tenant lab --subject '" +
                                subject + "' --key-alg p256 --json" +
                                (with_signer ? " --signer lab-root" : ""));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return json::parse(r.out)[0]["id"];
  }
  // A column of the record's row, straight from the store (what status --json leaves out).
  std::string column(const std::string& id, const std::string& name) const {
    return column_of("records", name, "id = '" + id + "'");
  }
  // A value of the store's `table` (SQLite labs), where `where` holds.
  std::string column_of(const std::string& table, const std::string& name,
                        const std::string& where) const {
    auto r = run("sqlite3 " + quote(dir_ / "state.db") + " \"SELECT " + name + " FROM " + table +
                 " WHERE " + where + "\"");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::string v = r.out;
    while (!v.empty() && v.back() == '\n')
      v.pop_back();
    return v;
  }
  json records() const {
    auto r = cli("status", "--all --json");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return json::parse(r.out);
  }
  json record(const std::string& id) const {
    for (const auto& r : records())
      if (r["id"] == id) return r;
    BOOST_FAIL("no record " + id);
    return {};
  }
  const test::fs::path& dir() const { return dir_.path(); }
  // Edits the lab's configuration file in place.
  template <class F>
  void configure(F edit) const {
    auto cfg = json::parse(read_file(dir_ / "pkiflow.json"));
    edit(cfg);
    write_file(dir_ / "pkiflow.json", cfg.dump(2));
  }

 private:
  TempDir dir_;
};

// The configured CBA CA most labs manage: "user-ca" of tenant "lab", a P-256 key, signed by
// the lab's root.
inline json user_ca_entry(const std::string& subject) {
  return {{"kind", "cba-ca"},   {"name", "user-ca"},       {"tenant", "lab"},
          {"subject", subject}, {"key_algorithm", "p256"}, {"signer", "lab-root"}};
}

inline std::string prefix_of(const std::string& record_id) {
  return "pf" + record_id.substr(0, 9);
}

// Runs until every record is active, retired or failed (a fault can leave one waiting for the
// next run, as a nightly timer would); at most `runs` runs.
inline void run_until_settled(const Lab& lab, int runs) {
  for (int i = 0; i < runs; ++i) {
    auto r = lab.cli("run");
    BOOST_TEST_INFO("run " << i << ": " << r.out << r.err);
    BOOST_TEST_REQUIRE((r.exit_code == 0 || r.exit_code == 5));
    bool settled = true;
    for (const auto& rec : lab.records()) {
      const std::string s = rec["state"];
      if (s != "active" && s != "retired" && s != "failed" && s != "superseded") settled = false;
    }
    if (settled) return;
  }
}

// An administrator in the portal: Graph calls with a token of their own, straight to the
// emulator (in this process), that pkiflow knows nothing of.
class Admin {
 public:
  explicit Admin(emulator::GraphEmulator& emu) : emu_(emu) {
    emulator::Request r;
    r.method = "POST";
    r.target = "/contoso/oauth2/v2.0/token";
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    r.body = std::string("grant_type=client_credentials&client_id=") + kClientId +
             "&client_secret=" + kSecret + "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    auto res = emu_.handle(r);
    BOOST_TEST_REQUIRE(res.status == 200, res.body);
    token_ = json::parse(res.body)["access_token"];
  }
  json call(const std::string& method, const std::string& path, const json& body = nullptr,
            int expect = 0) {
    emulator::Request r;
    r.method = method;
    r.target = "/beta" + path;
    r.headers = {{"Authorization", "Bearer " + token_},
                 {"Content-Type", "application/json"},
                 {"Prefer", "include-unknown-enum-members"}};
    if (!body.is_null()) r.body = body.dump();
    auto res = emu_.handle(r);
    if (expect) BOOST_TEST_REQUIRE(res.status == expect, method << " " << path << ": " << res.body);
    return res.body.empty() ? json(nullptr) : json::parse(res.body);
  }

 private:
  emulator::GraphEmulator& emu_;
  std::string token_;
};

// `pkiflow ARGS…` started in the background, its stdout and stderr to `log`.
inline pid_t spawn_cli(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), PKIFLOW_CLI_PATH);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  BOOST_TEST_REQUIRE(rc == 0);
  return pid;
}

// Waits up to `timeout` for `pid`: its exit code, 128 + the signal that ended it, or -1 when it
// still runs.
inline int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace pkiflow::test::e2e

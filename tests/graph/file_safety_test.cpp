// The files pkiflow reads and writes (issue 15, part 3): a secret file that is a link, belongs
// to another user or is open to others is refused by name (only the last can be lifted, with a
// warning); what pkiflow writes is private even under umask 0; oversized inputs are refused
// before they are read, with the limit named; and there is no way to send Graph traffic without
// verified TLS to a host that is not this machine.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace file_safety_test {

using namespace pkiflow;
using namespace pkiflow::test;
using namespace pkiflow::test::e2e;

namespace {

// The mode bits of a file (not following a link).
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p.string());
  return static_cast<unsigned>(st.st_mode & 07777);
}

// Replaces `file` by a symbolic link to a copy of it; undone by the destructor.
class LinkedInstead {
 public:
  explicit LinkedInstead(fs::path file) : file_(std::move(file)), real_(file_.string() + ".real") {
    fs::rename(file_, real_);
    fs::create_symlink(real_, file_);
  }
  ~LinkedInstead() {
    fs::remove(file_);
    fs::rename(real_, file_);
  }
  LinkedInstead(const LinkedInstead&) = delete;
  LinkedInstead& operator=(const LinkedInstead&) = delete;

 private:
  fs::path file_, real_;
};

// Every way a secret file is named in the lab's configuration, with its file.
struct SecretFile {
  const char* field;
  const char* file;
};
constexpr SecretFile kSecretFiles[] = {
    {"signers.lab-root.key", "root.key"},
    {"tenants.lab.auth.client_secret_file", "secret.txt"},
    {"keys.passphrase_file", "keys-pass"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(file_safety)

BOOST_AUTO_TEST_CASE(a_secret_file_that_is_a_link_or_another_users_is_refused_by_name) {
  Lab lab({"http://127.0.0.1:9", "", "secret", kSecret});
  ::chmod((lab.dir() / "root.key").c_str(), 0600);
  auto fine = lab.cli("config check");
  BOOST_TEST_REQUIRE(fine.exit_code == 0, fine.out + fine.err);
  for (const auto& s : kSecretFiles) {
    BOOST_TEST_CONTEXT(s.field) {
      const fs::path file = lab.dir() / s.file;
      {
        LinkedInstead link(file);
        for (const std::string flag : {"", "--allow-insecure-permissions"}) {
          auto r = lab.cli("config check", flag);
          BOOST_TEST(r.exit_code == 2, r.out + r.err);
          BOOST_TEST((r.out + r.err).find(std::string(s.field) + " is a symbolic link") !=
                         std::string::npos,
                     r.out + r.err);
          // A verb that uses the configuration refuses before it opens anything.
          auto run = lab.cli("run", flag);
          BOOST_TEST(run.exit_code == 2, run.out + run.err);
          BOOST_TEST(
              run.err.find(std::string(s.field) + " is a symbolic link") != std::string::npos,
              run.err);
        }
      }
      // Another user's file (pkiflow runs as root here, which may read it: it still refuses).
      BOOST_TEST_REQUIRE(::geteuid() == 0u, "this case needs root to give a file away");
      BOOST_TEST_REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
      for (const std::string flag : {"", "--allow-insecure-permissions"}) {
        auto r = lab.cli("config check", flag);
        BOOST_TEST(r.exit_code == 2, r.out + r.err);
        BOOST_TEST((r.out + r.err).find(std::string(s.field) + " is owned by user 65534") !=
                       std::string::npos,
                   r.out + r.err);
      }
      BOOST_TEST_REQUIRE(::chown(file.c_str(), 0, 0) == 0);
      // Open to the group: refused, or read with a warning naming it when the admin says so.
      ::chmod(file.c_str(), 0640);
      auto open = lab.cli("config check");
      BOOST_TEST(open.exit_code == 2, open.out + open.err);
      BOOST_TEST(
          (open.out + open.err).find(std::string(s.field) + " has mode 0640") != std::string::npos,
          open.out + open.err);
      auto allowed = lab.cli("config check", "--allow-insecure-permissions --json");
      BOOST_TEST(allowed.exit_code == 0, allowed.out + allowed.err);
      BOOST_TEST(allowed.out.find(std::string(s.field) + " has mode 0640") != std::string::npos,
                 allowed.out);
      ::chmod(file.c_str(), 0600);
    }
  }
  auto again = lab.cli("config check");
  BOOST_TEST(again.exit_code == 0, again.out + again.err);
}

BOOST_AUTO_TEST_CASE(what_pkiflow_writes_is_private_even_under_umask_0) {
  const mode_t old = ::umask(0);  // inherited by every pkiflow started from here
  LiveEmulator live(emulator_options(), 57);
  Lab lab({live.base(), "", "secret", kSecret});
  const std::string id = lab.request_kind("cba-ca", "user-ca", "CN=Lab User CA,O=Lab");
  auto r = lab.cli("run");
  BOOST_TEST(r.exit_code == 0, r.out + r.err);
  BOOST_TEST(lab.record(id)["state"] == "active");
  auto key = run_cli("key new --alg p256 --no-encrypt --out " + quote(lab.dir() / "new.key"));
  BOOST_TEST(key.exit_code == 0, key.err);
  auto ca = run_cli("ca new-root --subject 'CN=Umask Root' --alg p256 --no-encrypt --key-out " +
                    quote(lab.dir() / "umask-root.key") + " --cert-out " +
                    quote(lab.dir() / "umask-root.pem"));
  BOOST_TEST(ca.exit_code == 0, ca.err);
  ::umask(old);

  std::vector<fs::path> secrets{lab.dir() / "state.db", lab.dir() / "new.key",
                                lab.dir() / "umask-root.key", lab.dir() / "keys" / (id + ".key")};
  for (const char* side : {"state.db-wal", "state.db-shm"})
    if (fs::exists(lab.dir() / side)) secrets.push_back(lab.dir() / side);
  for (const auto& f : secrets) {
    BOOST_TEST_CONTEXT(f.filename().string()) {
      BOOST_TEST_REQUIRE(fs::exists(f));
      BOOST_TEST(mode_of(f) == 0600u);
    }
  }
  // The directory of the keys pkiflow makes is its own, too.
  BOOST_TEST((mode_of(lab.dir() / "keys") & 077u) == 0u);
  // The certificate is public: it keeps what the umask gives (nothing is taken away from it).
  BOOST_TEST((mode_of(lab.dir() / "umask-root.pem") & 0444u) == 0444u);
}

BOOST_AUTO_TEST_CASE(oversized_inputs_are_refused_before_they_are_read_with_the_limit_named) {
  Lab lab({"http://127.0.0.1:9", "", "secret", kSecret});
  // A sparse file of a terabyte: read whole, the test would not end.
  const fs::path huge = lab.dir() / "huge";
  { std::ofstream(huge).put('x'); }
  fs::resize_file(huge, std::uintmax_t{1} << 40);

  auto validate = run_cli("validate --trust system --cert " + quote(huge));
  BOOST_TEST(validate.exit_code == 2, validate.out + validate.err);
  BOOST_TEST(validate.err.find(huge.string() + ": is larger than 64 MiB") != std::string::npos,
             validate.err);
  // An endless input that has no size: read until the limit, then refused the same way.
  auto endless = run_cli("validate --trust system --cert /dev/zero");
  BOOST_TEST(endless.exit_code == 2, endless.out + endless.err);
  BOOST_TEST(endless.err.find("/dev/zero: is larger than 64 MiB") != std::string::npos,
             endless.err);
  // The configuration has the same limit (a managed-service provider's 10,000 tenants with a
  // certificate each are 4-8 MiB); a secret file (64 KiB) has one of its own.
  auto config = run_cli("config check --config " + quote(huge));
  BOOST_TEST(config.exit_code == 2, config.out + config.err);
  BOOST_TEST(config.err.find(huge.string() + ": is larger than 64 MiB") != std::string::npos,
             config.err);
  fs::resize_file(lab.dir() / "secret.txt", 65 * 1024);
  auto secret = lab.cli("graph login-test", "--tenant lab");
  BOOST_TEST(secret.exit_code != 0, secret.out + secret.err);
  BOOST_TEST(
      (secret.out + secret.err).find("secret.txt: is larger than 64 KiB") != std::string::npos,
      secret.out + secret.err);
}

BOOST_AUTO_TEST_CASE(tls_to_graph_cannot_be_switched_off_for_a_host_that_is_not_loopback) {
  Lab lab({"http://127.0.0.1:9", "", "secret", kSecret});
  const auto original = read_file(lab.dir() / "pkiflow.json");
  auto expect_refused = [&](const std::string& what, const std::string& message) {
    auto r = lab.cli("config check");
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(r.exit_code == 2, r.out + r.err);
      BOOST_TEST(r.err.find(message) != std::string::npos, r.err);
    }
    write_file(lab.dir() / "pkiflow.json", original);
  };
  // Plain http to anything but loopback, for Graph and for sign-in.
  lab.configure(
      [](json& c) { c["tenants"]["lab"]["graph_url"] = "http://graph.example.com/beta"; });
  expect_refused("graph_url", "plain http is allowed only to loopback addresses");
  lab.configure([](json& c) { c["tenants"]["lab"]["token_url"] = "http://10.0.0.8/t/token"; });
  expect_refused("token_url", "plain http is allowed only to loopback addresses");
  lab.configure(
      [](json& c) { c["tenants"]["lab"]["graph_url"] = "http://localhost.example.com:80/beta"; });
  expect_refused("a name that starts like loopback", "plain http is allowed only to loopback");
  // No setting turns verification off: each name a user might try is an unknown field.
  for (const char* key : {"tls_verify", "insecure", "verify_tls", "insecure_skip_verify"}) {
    lab.configure([&](json& c) { c["tenants"]["lab"][key] = false; });
    expect_refused(key, std::string("unknown field \"") + key + "\"");
    lab.configure([&](json& c) { c["run"][key] = false; });
    expect_refused(key, std::string("unknown field \"") + key + "\"");
  }
  // Loopback over plain http stays allowed: that is the emulator.
  auto fine = lab.cli("config check");
  BOOST_TEST(fine.exit_code == 0, fine.out + fine.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace file_safety_test

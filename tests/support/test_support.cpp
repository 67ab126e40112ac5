#include "tests/support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pkiflow::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "pkiflow-test.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string quote(const fs::path& p) {
  std::string s = p.string(), out = "'";
  for (char c : s)
    out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CommandResult run(const std::string& command) {
  TempDir tmp;
  auto out = tmp / "out", err = tmp / "err";
  std::string full = "( " + command + " ) >" + quote(out) + " 2>" + quote(err) + " </dev/null";
  int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

CommandResult run_cli(const std::string& args) {
  return run(quote(PKIFLOW_CLI_PATH) + " " + args);
}

const fs::path& openssl_fixtures() {
  static TempDir dir;
  static bool made = false;
  if (!made) {
    auto script = fs::path(PKIFLOW_SOURCE_DIR) / "tests/fixtures/make-openssl-chains.sh";
    auto r = run(quote(script) + " " + quote(dir.path()));
    if (r.exit_code != 0) throw std::runtime_error("fixture script failed: " + r.err);
    made = true;
  }
  return dir.path();
}

void make_openssl_ca_dir(const fs::path& dir, const fs::path& ca_pem, const fs::path& ca_key) {
  auto r = run("set -e; mkdir -p " + quote(dir / "private") + " " + quote(dir / "issued") +
               "; touch " + quote(dir / "index.txt") + "; cp " +
               quote(fs::path(PKIFLOW_SOURCE_DIR) / "samples" / "signers" / "openssl-ca.cnf") +
               " " + quote(dir) + "; cp " + quote(ca_pem) + " " + quote(dir / "ca.pem") + "; cp " +
               quote(ca_pem) + " " + quote(dir / "chain.pem") + "; cp " + quote(ca_key) + " " +
               quote(dir / "private" / "ca.key"));
  if (r.exit_code != 0) throw std::runtime_error("make_openssl_ca_dir: " + r.out + r.err);
}

}  // namespace pkiflow::test

// Helpers shared by the tests: temporary directories, running commands (the CLI, openssl), and
// the openssl-made chain fixtures (tests/fixtures/make-openssl-chains.sh), built once per run.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "engine/pki/result.hpp"

namespace pkiflow {
inline std::ostream& operator<<(std::ostream& os, ErrorKind k) {
  return os << to_string(k);
}
}  // namespace pkiflow

namespace pkiflow::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh; captures stdout and stderr separately.
CommandResult run(const std::string& command);
// Runs the pkiflow CLI with `args` (a shell-quoted string).
CommandResult run_cli(const std::string& args);
std::string quote(const fs::path& p);

void write_file(const fs::path& p, const std::string& content);
std::string read_file(const fs::path& p);

// An `openssl ca` directory for samples/signers/openssl-ca.sh: the sample configuration, the
// CA's certificate (also its chain) and key copied in, an empty database.
void make_openssl_ca_dir(const fs::path& dir, const fs::path& ca_pem, const fs::path& ca_key);

// The openssl fixtures, generated on first use into a directory that lives for the process.
const fs::path& openssl_fixtures();

// The error of a failed Result, for test messages ("" when it succeeded).
template <class R>
std::string why(const R& r) {
  return r.ok() ? std::string() : r.error().what();
}

}  // namespace pkiflow::test

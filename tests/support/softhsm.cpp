#include "tests/support/softhsm.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <stdexcept>

namespace pkiflow::test {

SoftHsm::SoftHsm(const fs::path& dir, const std::string& label)
    : label_(label), pin_file_(dir / "token-pin") {
  if (!fs::exists(kModule))
    throw std::runtime_error(std::string(kModule) +
                             " is missing: install softhsm2 (tools/setup-deps.sh does for tests)");
  fs::create_directories(dir / "tokens");
  write_file(dir / "softhsm2.conf", "directories.tokendir = " + (dir / "tokens").string() +
                                        "\nobjectstore.backend = file\nlog.level = ERROR\n");
  ::setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  auto r = run("softhsm2-util --init-token --free --label " + quote(label) + " --so-pin " + kSoPin +
               " --pin " + kPin);
  if (r.exit_code != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + r.err);
  write_file(pin_file_, std::string(kPin) + "\n");
  ::chmod(pin_file_.c_str(), 0600);
}

std::string SoftHsm::uri(const std::string& object) const {
  return "pkcs11:token=" + label_ + ";object=" + object + "?module-path=" + kModule +
         "&pin-source=file:" + pin_file_.string();
}

CommandResult SoftHsm::tool(const std::string& args) const {
  return run(std::string("pkcs11-tool --module ") + kModule + " --token-label " + quote(label_) +
             " --login --pin " + kPin + " " + args);
}

}  // namespace pkiflow::test

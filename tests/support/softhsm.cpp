#include "tests/support/softhsm.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <stdexcept>

namespace pkiflow::test {

SoftHsm::SoftHsm(const fs::path& dir, const std::string& label, const std::string& pin)
    : label_(label), pin_(pin), pin_file_(dir / "token-pin") {
  if (!fs::exists(kModule))
    throw std::runtime_error(std::string(kModule) +
                             " is missing: install softhsm2 (tools/setup-deps.sh does for tests)");
  fs::create_directories(dir / "tokens");
  write_file(dir / "softhsm2.conf", "directories.tokendir = " + (dir / "tokens").string() +
                                        "\nobjectstore.backend = file\nlog.level = ERROR\n");
  ::setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  auto r = run("softhsm2-util --init-token --free --label " + quote(label) + " --so-pin " + kSoPin +
               " --pin " + quote(pin_));
  if (r.exit_code != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + r.err);
  write_file(pin_file_, pin_ + "\n");
  ::chmod(pin_file_.c_str(), 0600);
}

std::string SoftHsm::uri(const std::string& object) const {
  return uri(object, kModule);
}

std::string SoftHsm::uri(const std::string& object, const std::string& module) const {
  return "pkcs11:token=" + label_ + ";object=" + object + "?module-path=" + module +
         "&pin-source=file:" + pin_file_.string();
}

CommandResult SoftHsm::tool(const std::string& args) const {
  return run(std::string("pkcs11-tool --module ") + kModule + " --token-label " + quote(label_) +
             " --login --pin " + quote(pin_) + " " + args);
}

void SoftHsm::import_key(const fs::path& key_file, const std::string& label) const {
  const fs::path pub = key_file.string() + ".pub.der";
  auto r = run("openssl pkey -in " + quote(key_file) + " -pubout -outform DER -out " + quote(pub));
  if (r.exit_code != 0) throw std::runtime_error("openssl pkey -pubout failed: " + r.err);
  for (const std::string& object : {"--write-object " + quote(key_file) + " --type privkey",
                                    "--write-object " + quote(pub) + " --type pubkey"}) {
    r = tool(object + " --label " + quote(label) + " --id 01");
    if (r.exit_code != 0) throw std::runtime_error("pkcs11-tool " + object + " failed: " + r.err);
  }
}

}  // namespace pkiflow::test

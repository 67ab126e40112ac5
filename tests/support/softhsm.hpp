// A SoftHSM2 token (Debian's softhsm2) in a test's temporary directory: its own configuration,
// selected through SOFTHSM2_CONF for this process and the commands it starts, one initialised
// token, and its user PIN in a 0600 file. OpenSC's pkcs11-tool looks at it from outside pkiflow.
#pragma once

#include <string>

#include "tests/support/test_support.hpp"

namespace pkiflow::test {

class SoftHsm {
 public:
  static constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr const char* kPin = "246810";
  static constexpr const char* kSoPin = "13579135";

  // Initialises a token labelled `label` under `dir` (which must exist and outlive this), its
  // user PIN `pin`.
  explicit SoftHsm(const fs::path& dir, const std::string& label = "pkiflow-test",
                   const std::string& pin = kPin);

  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const fs::path& pin_file() const { return pin_file_; }
  // "pkcs11:token=LABEL;object=OBJECT?module-path=…&pin-source=file:…"
  std::string uri(const std::string& object) const;
  // The same through another module (pkcs11-spy in front of SoftHSM2, or a broken one).
  std::string uri(const std::string& object, const std::string& module) const;
  // pkcs11-tool on this token, logged in with the user PIN: `args` as a shell string.
  CommandResult tool(const std::string& args) const;
  // Moves an existing key file (unencrypted PEM) into the token as `label` (CKA_ID 01), its
  // public half beside it, with pkcs11-tool: as an admin moves a CA key into an HSM.
  void import_key(const fs::path& key_file, const std::string& label) const;

 private:
  std::string label_;
  std::string pin_;
  fs::path pin_file_;
};

}  // namespace pkiflow::test

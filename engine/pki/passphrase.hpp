// Passphrases for private keys come from a file or an environment variable, never from the
// command line (where `ps` and shell history would show them).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

inline constexpr const char* kPassphraseEnv = "PKIFLOW_PASSPHRASE";

// Holds a secret; wipes it on destruction. Never printed.
class Passphrase {
 public:
  explicit Passphrase(std::string value) : value_(std::move(value)) {}
  Passphrase(const Passphrase&) = default;
  Passphrase& operator=(const Passphrase&) = default;
  ~Passphrase();
  const std::string& reveal() const { return value_; }

 private:
  std::string value_;
};

// The passphrase from `file` when given (first line, trailing newline removed), else from the
// environment variable `env_name`; nullopt when neither is set. An empty passphrase is an error.
Result<std::optional<Passphrase>> find_passphrase(const std::optional<std::filesystem::path>& file,
                                                  const char* env_name = kPassphraseEnv);

}  // namespace pkiflow::pki

#include "engine/pki/passphrase.hpp"

#include <botan/mem_ops.h>
#include <cstdlib>

#include "engine/pki/encoded_file.hpp"

namespace pkiflow::pki {

Passphrase::~Passphrase() {
  if (!value_.empty()) Botan::secure_scrub_memory(value_.data(), value_.size());
}

Result<std::optional<Passphrase>> find_passphrase(const std::optional<std::filesystem::path>& file,
                                                  const char* env_name) {
  if (file) {
    auto bytes = read_file_bytes(*file, 64 * 1024);
    if (!bytes) return bytes.error();
    std::string value(bytes->begin(), bytes->end());
    Botan::secure_scrub_memory(bytes->data(), bytes->size());
    auto eol = value.find_first_of("\r\n");
    if (eol != std::string::npos) value.resize(eol);
    if (value.empty())
      return Error(ErrorKind::passphrase, file->string(), "passphrase file is empty");
    return std::optional<Passphrase>(Passphrase(std::move(value)));
  }
  if (const char* env = std::getenv(env_name)) {
    if (*env == '\0')
      return Error(ErrorKind::passphrase, env_name, "environment variable is set but empty");
    return std::optional<Passphrase>(Passphrase(env));
  }
  return std::optional<Passphrase>();
}

}  // namespace pkiflow::pki

// The checks of a configuration that need the file system (`pkiflow config check`, and the
// same checks before every verb that reads the configuration): every file it names exists, and
// every file that holds a secret (keys, passphrases, client secrets) is private to its owner.
// What parse_config checks (known keys, references, ranges) has already passed.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/pki/result.hpp"

namespace pkiflow::engine {

struct ConfigProblem {
  Error error;
  // Only a secret file's mode is too open: --allow-insecure-permissions reads it with a warning.
  // A link, a file of another user or not a file at all is refused even then.
  bool permissions = false;
};

std::vector<ConfigProblem> check_config_files(const Config& c);

// The same checks as a verb takes them: the first problem that refuses the configuration is the
// error; with `allow_insecure_permissions`, a secret file whose only problem is its mode is read
// anyway and handed to `read_anyway` (in file order, as it is found) for a warning.
Status accept_config_files(const Config& c, bool allow_insecure_permissions,
                           const std::function<void(const Error&)>& read_anyway);

}  // namespace pkiflow::engine

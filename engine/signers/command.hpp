// The `command` signer (config "type": "command"): an external program signs each CSR.
//   argv items may hold {csr} (the CSR file, PEM), {cert} (where it writes the certificate,
//   PEM; without it, its standard output is read), {chain} (where it may write the chain up to
//   the root), {profile} (the signing profile's name), {days}, {subject} (the CSR's subject DN)
//   and {record} (the record id: a key for a CA that answers "pending" first). Each item stays
//   one argument: no shell ever sees them.
//   It runs with a clean environment (PATH, PKIFLOW_SIGN_DIR and what the configuration names),
//   stdin from /dev/null, in its own process group that a timeout ends as a whole.
//   Exit 0: signed. Exit 75 (EX_TEMPFAIL): pending, asked again on a later run. Anything else:
//   refused, with the last lines of its stderr in the record's error.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/signer.hpp"

namespace pkiflow::engine::signers {

inline constexpr std::size_t kMaxCertificateFile = 1 << 20;

struct CommandSettings {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> environment;  // the child's whole environment (+ PATH)
  std::filesystem::path working_directory;
  std::filesystem::path chain;  // used when the program gives no chain
  std::chrono::milliseconds timeout{120'000};
};

// The command's shape: a program, known placeholders only, and {csr} somewhere.
Status check_command(const std::vector<std::string>& command);

Result<std::unique_ptr<Signer>> make_command_signer(CommandSettings settings);

}  // namespace pkiflow::engine::signers

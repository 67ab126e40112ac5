// Runs an external program for a signer: argv as given (no shell), a clean environment, a
// timeout after which the whole process group is killed, stdout bounded and the last lines of
// stderr kept for the record's error.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::engine::signers {

struct ProcessSpec {
  std::vector<std::string> argv;            // argv[0]: an absolute path or a name on PATH
  std::map<std::string, std::string> env;   // the complete environment of the child
  std::filesystem::path working_directory;  // empty: the caller's
  std::chrono::milliseconds timeout{120'000};
  std::size_t max_stdout = 1 << 20;  // more is an error (a runaway program)
  std::size_t stderr_tail = 4096;    // the last bytes of stderr that are kept
};

struct ProcessResult {
  int exit_code = -1;      // -1 when it ended by a signal or was killed
  int signal = 0;          // the signal that ended it, if any
  bool timed_out = false;  // killed at the timeout
  std::string out;         // stdout (at most max_stdout bytes)
  std::string err_tail;    // the last stderr_tail bytes of stderr
  bool out_truncated = false;
};

// The PATH a command runs with unless its configuration sets one.
inline constexpr const char* kCommandPath = "/usr/local/bin:/usr/bin:/bin";

// `name` itself when it holds a '/' and is executable, else the first executable match on
// `path`; "" when there is none.
std::string find_program(const std::string& name, const std::string& path);

// Starts the program and waits for it. An error only when it could not be started at all.
Result<ProcessResult> run_process(const ProcessSpec& spec);

// The last `lines` non-empty lines of `text`, joined with " | " (for one-line error messages).
std::string last_lines(const std::string& text, std::size_t lines);

}  // namespace pkiflow::engine::signers

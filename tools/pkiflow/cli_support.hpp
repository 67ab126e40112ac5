// Shared pieces of the pkiflow command line: exit codes, error printing, passphrase options,
// JSON renderings of PKI facts. The library knows no command line; this folder only parses,
// calls and prints.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/setup.hpp"
#include "engine/config.hpp"
#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/result.hpp"
#include "pkiflow/engine.hpp"
#include "state/store.hpp"

namespace pkiflow::cli {

// Documented in the README ("Exit codes").
enum ExitCode : int {
  kOk = 0,
  kInvalid = 1,           // validate: the chain is invalid
  kBadInput = 2,          // unusable input: unreadable or malformed file, bad argument, passphrase
  kCannotWrite = 3,       // an output file could not be written
  kInternal = 4,          // a bug: an unexpected exception
  kRecordsFailed = 5,     // run: the run went through, some records failed (see the report)
  kCannotRun = 6,         // run, graph: no run happened (store busy or unreadable, sign-in failed)
  kInterrupted = 7,       // run: stopped by SIGTERM/SIGINT; steps in flight finished, leases freed
  kHeldByAnotherRun = 8,  // run: due records were left alone because a live run holds them;
                          // cancel/enable: the record is held by a live run
  kDrift = 9,             // run, verify: a live object differs from its record (see repair)
};

// What an exit code means, for `pkiflow help exit-codes` and the "kind" of an error document.
struct ExitCodeInfo {
  int code;
  const char* kind;     // the error kind a failure with this code reports under --json
  const char* meaning;  // one line
};
const std::vector<ExitCodeInfo>& exit_codes();

// Thrown by verbs to end with a message and an exit code; main() prints and exits. An Error
// keeps its kind and subject for the JSON error document.
struct Exit {
  Exit(int c, std::string m) : code(c), message(std::move(m)) {}
  Exit(int c, const Error& e)
      : code(c),
        message(e.what()),
        kind(to_string(e.kind())),
        subject(e.subject()),
        detail(e.message()) {}
  int code;
  std::string message;  // what stderr says ("" when the verb has said it already)
  std::string kind;     // "" = the kind of `code`
  std::string subject;  // the file, field, record or certificate concerned
  std::string detail;   // the message without its subject
};

// The output contract (README, "Output and exit codes"): with --json anywhere on the command
// line, stdout carries exactly one JSON document (JSON lines where the README says so), an
// error included, and nothing else; messages for people go to stderr.
void set_json_output(bool on);
bool json_output();
// Every writer of a JSON document says so; an error after it goes to stderr only.
void document_written();
bool has_written_document();
// Ends the process's output for `e`: its message to stderr and, under --json when no document
// was written, the error document {"error": {"kind", "subject", "message"}, "exit": N} to
// stdout. Returns the exit code.
int report_exit(const Exit& e);

// The exit code an error of this kind ends a verb with: 8 when a live run holds the record, 6
// when a service or the store could not be used (try again), else 2 (the input is unusable).
int exit_code_of(const Error& e);
inline constexpr int kByKind = -1;

[[noreturn]] void fail(const Error& e, int code = kByKind);
[[noreturn]] void fail(int code, std::string message);

template <class T>
T take(Result<T> r, int code = kByKind) {
  if (!r) fail(r.error(), code);
  return std::move(*r);
}

// --passphrase-file, falling back to PKIFLOW_PASSPHRASE.
struct PassphraseOption {
  std::string file;
  void add_to(CLI::App& cmd);
  std::optional<pki::Passphrase> get() const;
};

// Refuses to overwrite an existing file unless `force`.
void check_new_file(const std::filesystem::path& p, bool force);
void write_output(const std::filesystem::path& p, const std::string& content, unsigned mode);

nlohmann::ordered_json to_json(const pki::PublicKeyInfo& k);
nlohmann::ordered_json to_json(const pki::CertFacts& f, const pki::Certificate& c);
nlohmann::ordered_json to_json(const pki::CsrFacts& f);
void print_json(const nlohmann::ordered_json& j);

// Where the records live: --state-url, else the config's state_url, else the default file.
struct StoreOptions {
  std::string config;
  std::string state_url;
  bool allow_insecure_permissions = false;
  void add_to(CLI::App& cmd);
  // Reads the configuration and runs `pkiflow config check`'s checks on it: the first problem
  // ends the verb with exit 2 before it touches the store or the network.
  engine::Config load() const;
  // Exit 2 for a store that is not there or not pkiflow's, 6 for one that cannot be used now.
  std::unique_ptr<state::StateStore> open(const engine::Config& c,
                                          state::OpenMode mode = state::OpenMode::read_write) const;
  // The store's URL: --state-url, else the config's, else the default file.
  std::string url(const engine::Config& c) const;
  // The lifecycle verbs' Engine (pkiflow/engine.hpp) on these options, with load()'s checks,
  // notices and exit codes; history names actor().
  pkiflow::Engine engine() const;
};

using engine::open_state;  // engine/api/setup.hpp

// "a, b, c", and " (did you mean \"b\"?)" when `got` is close to one of `names` (else "").
std::string joined(const std::vector<std::string>& names);
std::string did_you_mean(const std::string& got, const std::vector<std::string>& names);

// An RFC 3339 time, or "-" when there is none (tables).
std::string time_or_dash(const std::optional<state::TimePoint>& t);

// "cli:USER@HOST pid N": who a transition made from the command line is attributed to.
std::string actor();

// Verb groups.
void add_key_commands(CLI::App& app);
void add_csr_commands(CLI::App& app);
void add_ca_commands(CLI::App& app);
void add_cert_commands(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_record_commands(CLI::App& app);
void add_run_commands(CLI::App& app);  // run, import, graph login-test
void add_config_commands(CLI::App& app);
void add_tenant_commands(CLI::App& app);  // verify, repair, discover, adopt  // config check
void add_help_command(CLI::App& app);     // help [TOPIC]
void add_bundle_commands(CLI::App& app);  // bundle export, bundle import, sign --bundle
void add_state_commands(CLI::App& app);   // state migrate

// One example per verb: the footer of its --help and the example of `pkiflow help verbs`.
void example(CLI::App* cmd, const std::string& command_line);

}  // namespace pkiflow::cli

// What the verbs that talk to Graph share: an I/O context, where dry-run request lines go, the
// session built from the configuration, the trust anchors and where keys made here are kept.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/clock.hpp"
#include "engine/config.hpp"
#include "engine/graph_session.hpp"
#include "engine/local_keys.hpp"
#include "engine/pki/validate/validator.hpp"
#include "pkiflow/engine.hpp"

namespace pkiflow::cli {

// Where dry-run request lines go: a file (--dry-run-out), the JSON report, or stdout.
struct DryRunOutput {
  std::string path;
  std::ofstream file;
  nlohmann::ordered_json collected = nlohmann::ordered_json::array();
  bool collect = false;

  // Where the lines go: `path` (--dry-run-out), else collected under --json, else stdout.
  explicit DryRunOutput(std::string out = "");
  void open();
  std::function<void(const std::string&)> sink();
  // The end of a dry run that stopped at its first request: under --json, `about` with the
  // requests it would have sent; otherwise the "would send" lines have said it all.
  void done(nlohmann::ordered_json about) const;
};

// An Engine action (cancel, enable, verify, repair) as the verb's --dry-run says: its requests
// go to `dry`, which is opened for them.
ActionOptions action_options(bool dry_run, DryRunOutput& dry);

// What a verb that talks to Graph needs: an I/O context, where dry-run lines go, and the
// session (transports, clients, providers, signers) built from the configuration.
struct GraphContext {
  boost::asio::io_context ioc{1};
  DryRunOutput dry;
  std::unique_ptr<engine::GraphSession> session;

  // `read_only` (pkiflow plan): reads reach the tenant, writes are shown as with dry_run.
  GraphContext(const engine::Config& config, const engine::Clock& clock, bool dry_run,
               std::function<void(const std::string&)> trace = nullptr, std::string dry_path = "",
               bool read_only = false,
               std::optional<std::chrono::steady_clock::time_point> run_deadline = std::nullopt);

  // The end of a dry run that stopped at its first request: under --json, `about` with the
  // requests it would have sent; otherwise the "would send" lines have said it all.
  void dry_run_done(nlohmann::ordered_json about) const;
};

// Where keys made on this host go: keys.dir, else "keys" next to the SQLite database; their
// passphrase from keys.passphrase_file or keys.passphrase_env (else $PKIFLOW_PASSPHRASE).
engine::LocalKeys keys_of(const engine::Config& c, const std::string& state_url);
std::shared_ptr<const pki::TrustStore> trust_of(const engine::Config& c);

}  // namespace pkiflow::cli

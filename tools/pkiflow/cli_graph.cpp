#include "tools/pkiflow/cli_graph.hpp"

#include <iostream>

#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

void DryRunOutput::open() {
  if (path.empty()) return;
  file.open(path, std::ios::trunc);
  if (!file) fail(kCannotWrite, path + ": cannot open for writing (--dry-run-out)");
}

std::function<void(const std::string&)> DryRunOutput::sink() {
  return [this](const std::string& line) {
    if (file.is_open())
      file << line << "\n";
    else if (collect)
      collected.push_back(nlohmann::ordered_json::parse(line));
    else
      std::cout << "would send " << line << "\n";
  };
}

GraphContext::GraphContext(const engine::Config& config, const engine::Clock& clock, bool dry_run,
                           std::function<void(const std::string&)> trace, std::string dry_path,
                           bool read_only,
                           std::optional<std::chrono::steady_clock::time_point> run_deadline) {
  dry.path = std::move(dry_path);
  dry.collect = json_output();  // the requests go in the one JSON document
  if (dry_run || read_only) dry.open();
  engine::GraphSession::Options so;
  so.dry_run = dry_run && !read_only;
  so.read_only = read_only;
  so.dry_run_sink = dry.sink();
  so.trace = std::move(trace);
  so.run_deadline = run_deadline;
  session = std::make_unique<engine::GraphSession>(ioc.get_executor(), config, clock, so);
}

void GraphContext::dry_run_done(nlohmann::ordered_json about) const {
  if (!json_output()) return;
  about["dry_run"] = true;
  about["requests"] = dry.collected;
  print_json(about);
}

engine::LocalKeys keys_of(const engine::Config& c, const std::string& state_url) {
  engine::LocalKeys k;
  if (!c.keys.dir.empty()) {
    k.dir = c.keys.dir;
  } else {
    // Beside the SQLite store; a PostgreSQL store is elsewhere, and the keys stay on this host,
    // beside where its own store would be.
    std::string path =
        state::is_postgres_url(state_url) ? take(engine::default_state_url()) : state_url;
    if (path.rfind("sqlite://", 0) == 0) path = path.substr(9);
    k.dir = std::filesystem::path(path).parent_path() / "keys";
  }
  std::optional<std::filesystem::path> file;
  if (!c.keys.passphrase_file.empty()) file = c.keys.passphrase_file;
  auto pass = pki::find_passphrase(
      file, c.keys.passphrase_env.empty() ? pki::kPassphraseEnv : c.keys.passphrase_env.c_str());
  if (!pass) fail(pass.error().about("keys"), kBadInput);
  k.passphrase = std::move(*pass);
  return k;
}

std::shared_ptr<const pki::TrustStore> trust_of(const engine::Config& c) {
  if (c.trust_anchors.empty()) return nullptr;
  return std::make_shared<const pki::TrustStore>(take(pki::TrustStore::load(c.trust_anchors)));
}

}  // namespace pkiflow::cli

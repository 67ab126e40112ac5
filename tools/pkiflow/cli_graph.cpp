#include "tools/pkiflow/cli_graph.hpp"

#include <iostream>

#include "engine/api/setup.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

DryRunOutput::DryRunOutput(std::string out) : path(std::move(out)), collect(json_output()) {}

void DryRunOutput::done(nlohmann::ordered_json about) const {
  if (!json_output()) return;
  about["dry_run"] = true;
  about["requests"] = collected;
  print_json(about);
}

ActionOptions action_options(bool dry_run, DryRunOutput& dry) {
  if (dry_run) dry.open();
  ActionOptions o;
  o.dry_run = dry_run;
  o.on_dry_run_request = dry.sink();
  return o;
}

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
  dry.done(std::move(about));
}

engine::LocalKeys keys_of(const engine::Config& c, const std::string& state_url) {
  return take(engine::local_keys(c, state_url), kBadInput);
}

std::shared_ptr<const pki::TrustStore> trust_of(const engine::Config& c) {
  return take(engine::trust_anchors(c));
}

}  // namespace pkiflow::cli

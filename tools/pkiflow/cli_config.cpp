// pkiflow config check: the whole configuration validated in one pass (what every verb that
// reads it checks first), then the plan it resolves to: each certificate with its tenant,
// signer, profile, key and validity.
#include <iostream>
#include <map>

#include "engine/config_check.hpp"
#include "engine/graph_session.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

struct ConfigCheck {
  std::string config, state_url;
  bool allow_insecure = false, json = false;

  // What each configured certificate's newest live record was planned with, when it differs:
  // an edit is applied at the record's next renewal, never silently dropped.
  std::map<std::size_t, std::pair<std::string, std::vector<std::string>>> differences(
      const engine::Config& c) const {
    std::map<std::size_t, std::pair<std::string, std::vector<std::string>>> out;
    std::string url = !state_url.empty() ? state_url : c.state_url;
    if (url.empty()) return out;  // the default store is looked at only when named
    auto st = open_state(c, url, state::OpenMode::read_only);
    if (!st) return out;  // nothing requested yet, or not readable: nothing to compare
    auto records = (*st)->list({});
    if (!records) return out;
    for (std::size_t i = 0; i < c.certificates.size(); ++i) {
      const auto& spec = c.certificates[i];
      const state::Record* newest = nullptr;
      for (const auto& r : *records)
        if (r.kind == spec.kind && r.name == spec.name && r.tenant == spec.tenant &&
            r.state != state::RecordState::retired &&
            (!newest || r.created_at >= newest->created_at))
          newest = &r;
      if (!newest) continue;
      auto changes = engine::profile_changes(newest->profile_json, spec);
      if (!changes.empty()) out[i] = {newest->id, std::move(changes)};
    }
    return out;
  }

  void run() const {
    std::optional<std::filesystem::path> p;
    if (!config.empty()) p = config;
    auto c = take(engine::load_config(p));
    if (c.file.empty())
      fail(kBadInput, "no configuration found (--config, $PKIFLOW_CONFIG or ./pkiflow.json)");
    auto problems = engine::check_config_files(c);
    nlohmann::ordered_json errors = nlohmann::ordered_json::array();
    nlohmann::ordered_json warnings = nlohmann::ordered_json::array();
    for (const auto& n : c.notices)
      warnings.push_back(n);
    for (const auto& pr : problems)
      (pr.permissions && allow_insecure ? warnings : errors).push_back(pr.error.what());
    const auto diffs = differences(c);
    nlohmann::ordered_json plan = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < c.certificates.size(); ++i) {
      const auto& spec = c.certificates[i];
      const auto& profile = engine::profile_for(spec.kind);
      const bool service_key = spec.kind == state::RecordKind::gsa_tls_ca;
      plan.push_back(
          {{"kind", state::to_string(spec.kind)},
           {"name", spec.name},
           {"tenant", spec.tenant},
           {"signer", spec.signer.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(spec.signer)},
           {"profile", profile.name},
           {"subject", spec.subject},
           {"key", service_key ? std::string("made by the service") : spec.key_algorithm},
           {"validity_days", spec.validity_days > 0 ? spec.validity_days : profile.default_days}});
      if (auto d = diffs.find(i); d != diffs.end()) {
        plan.back()["record"] = d->second.first;
        plan.back()["profile_changes"] = d->second.second;
        warnings.push_back(c.file.string() + ": certificates[" + std::to_string(i) + "] (" +
                           spec.name + ") differs from record " + d->second.first + ": " +
                           joined(d->second.second) +
                           "; its next renewal takes it (pkiflow renew " + d->second.first + ")");
      }
    }
    if (json) {
      print_json({{"file", c.file.string()},
                  {"ok", errors.empty()},
                  {"errors", errors},
                  {"warnings", warnings},
                  {"certificates", plan}});
    } else {
      for (const auto& w : warnings)
        std::cout << "warning: " << w.get<std::string>() << "\n";
      for (const auto& e : errors)
        std::cout << "error: " << e.get<std::string>() << "\n";
      std::cout << c.file.string() << ": " << c.tenants.size() << " tenant(s), " << c.signers.size()
                << " signer(s), " << c.certificates.size() << " certificate(s)"
                << (errors.empty() ? "; ok" : "") << "\n";
      for (const auto& e : plan)
        std::cout << "  " << e["kind"].get<std::string>() << "  " << e["name"].get<std::string>()
                  << "  tenant " << e["tenant"].get<std::string>() << ", signer "
                  << (e["signer"].is_null() ? std::string("none (offline: pkiflow import)")
                                            : e["signer"].get<std::string>())
                  << ", profile " << e["profile"].get<std::string>() << ", key "
                  << e["key"].get<std::string>() << ", " << e["validity_days"].get<int>()
                  << " days, subject \"" << e["subject"].get<std::string>() << "\"\n";
    }
    if (!errors.empty()) throw Exit(kBadInput, "");
  }
};

}  // namespace

void add_config_commands(CLI::App& app) {
  auto* group = app.add_subcommand("config", "the configuration file");
  group->require_subcommand(1);
  auto c = std::make_shared<ConfigCheck>();
  auto* check = group->add_subcommand(
      "check",
      "validate the whole configuration (keys, references, files, secret file modes) and print "
      "the plan it resolves to; exit 2 on the first problem");
  check->add_option("--config", c->config,
                    "configuration file (else $PKIFLOW_CONFIG or ./pkiflow.json)");
  check->add_option("--state-url", c->state_url,
                    "state store to compare the certificates with (else the config's state_url)");
  check->add_flag("--allow-insecure-permissions", c->allow_insecure,
                  "report secret files that group or others can access as warnings");
  check->add_flag("--json", c->json, "machine-readable output");
  check->callback([c] { c->run(); });
  example(check, "pkiflow config check --config /etc/pkiflow/pkiflow.json");
}

}  // namespace pkiflow::cli

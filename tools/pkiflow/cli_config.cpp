// pkiflow config check: the whole configuration validated in one pass (what every verb that
// reads it checks first), then the plan it resolves to: each certificate with its tenant,
// signer, profile, key and validity.
#include <iostream>

#include "engine/config_check.hpp"
#include "engine/graph_session.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

struct ConfigCheck {
  std::string config;
  bool allow_insecure = false, json = false;

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
    nlohmann::ordered_json plan = nlohmann::ordered_json::array();
    for (const auto& spec : c.certificates) {
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
  check->add_flag("--allow-insecure-permissions", c->allow_insecure,
                  "report secret files that group or others can access as warnings");
  check->add_flag("--json", c->json, "machine-readable output");
  check->callback([c] { c->run(); });
  example(check, "pkiflow config check --config /etc/pkiflow/pkiflow.json");
}

}  // namespace pkiflow::cli

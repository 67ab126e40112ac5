// pkiflow help [TOPIC]: what the README's reference says, from the same tables the program
// uses (verbs and their examples, exit codes, the state machine, configuration keys).
#include <iostream>
#include <map>

#include "engine/config_keys.hpp"
#include "engine/lifecycle.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

std::map<const CLI::App*, std::string>& examples() {
  static std::map<const CLI::App*, std::string> all;
  return all;
}

struct Verb {
  std::string path, purpose, example;
};

void collect(const CLI::App& group, const std::string& prefix, std::vector<Verb>& out) {
  for (const auto* sub : group.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string path = prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name();
    if (sub->get_subcommands([](const CLI::App*) { return true; }).empty()) {
      auto it = examples().find(sub);
      out.push_back({path, sub->get_description(), it == examples().end() ? "" : it->second});
    } else {
      collect(*sub, path, out);
    }
  }
}

const std::vector<std::pair<const char*, const char*>> kTopics{
    {"verbs", "every verb with its purpose and an example"},
    {"exit-codes", "what each exit code means (the same for every verb)"},
    {"states", "the lifecycle: each state and where it can go"},
    {"config", "every configuration key, its type, default and meaning"},
};

struct Help {
  const CLI::App* root = nullptr;
  std::string topic;
  bool json = false;

  void run() const {
    if (topic.empty()) return overview();
    if (topic == "verbs") return verbs();
    if (topic == "exit-codes") return exit_code_table();
    if (topic == "states") return states();
    if (topic == "config") return config();
    std::vector<std::string> names;
    names.reserve(std::size(kTopics));
    for (const auto& [n, d] : kTopics)
      names.emplace_back(n);
    fail(Error(ErrorKind::invalid_input, "help",
               "unknown topic \"" + topic + "\"" + did_you_mean(topic, names) +
                   "; the topics are " + joined(names)));
  }

  void overview() const {
    if (json) {
      auto t = nlohmann::ordered_json::array();
      for (const auto& [n, d] : kTopics)
        t.push_back({{"topic", n}, {"about", d}});
      return print_json({{"topics", t}});
    }
    std::cout << "pkiflow help TOPIC, with TOPIC one of:\n";
    for (const auto& [n, d] : kTopics)
      std::cout << "  " << n << std::string(12 - std::string(n).size(), ' ') << d << "\n";
    std::cout << "and pkiflow VERB --help for one verb's options.\n";
  }

  void verbs() const {
    std::vector<Verb> all;
    collect(*root, "", all);
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& v : all)
        arr.push_back({{"verb", v.path}, {"purpose", v.purpose}, {"example", v.example}});
      return print_json(arr);
    }
    for (const auto& v : all)
      std::cout << v.path << "\n    " << v.purpose << "\n    e.g. " << v.example << "\n";
  }

  void exit_code_table() const {
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& c : exit_codes())
        arr.push_back({{"exit", c.code}, {"kind", c.kind}, {"meaning", c.meaning}});
      return print_json(arr);
    }
    for (const auto& c : exit_codes())
      std::cout << c.code << "  " << c.kind << ": " << c.meaning << "\n";
  }

  void states() const {
    auto arr = nlohmann::ordered_json::array();
    for (auto s : state::kAllStates) {
      auto to = nlohmann::ordered_json::array();
      for (auto t : engine::legal_targets(s))
        to.push_back(state::to_string(t));
      arr.push_back({{"state", state::to_string(s)}, {"to", to}});
    }
    if (json) return print_json(arr);
    std::cout << "planned -> csrGenerated -> signed -> uploaded -> active -> superseded -> "
                 "retired; a permanent error moves a record to failed, `pkiflow retry` sends it "
                 "back.\n";
    for (const auto& e : arr) {
      std::cout << "  " << e["state"].get<std::string>() << " ->";
      if (e["to"].empty()) std::cout << " (final)";
      for (const auto& t : e["to"])
        std::cout << " " << t.get<std::string>();
      std::cout << "\n";
    }
  }

  void config() const {
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& k : engine::config_keys())
        arr.push_back({{"section", k.section}, {"key", k.key}, {"meaning", k.meaning}});
      return print_json(arr);
    }
    std::string section = "-";
    for (const auto& k : engine::config_keys()) {
      if (section != k.section) {
        section = k.section;
        std::cout << (section.empty() ? "top level" : section) << ":\n";
      }
      std::cout << "  " << k.key << ": " << k.meaning << "\n";
    }
  }
};

}  // namespace

void example(CLI::App* cmd, const std::string& command_line) {
  examples()[cmd] = command_line;
  cmd->footer("Example:\n  " + command_line);
}

void add_help_command(CLI::App& app) {
  auto h = std::make_shared<Help>();
  h->root = &app;
  auto* cmd = app.add_subcommand(
      "help", "reference: verbs and examples, exit codes, the lifecycle, configuration keys");
  cmd->add_option("topic", h->topic, "verbs, exit-codes, states or config");
  cmd->add_flag("--json", h->json, "machine-readable output");
  example(cmd, "pkiflow help exit-codes");
  cmd->callback([h] { h->run(); });
}

}  // namespace pkiflow::cli

// pkiflow: the command-line front end of libpkiflow.
#include <cstring>
#include <iostream>

#include "tools/pkiflow/cli_support.hpp"

namespace {

using namespace pkiflow::cli;

// --json anywhere before a "--" asks for the JSON output contract, error documents included:
// known before parsing, so a command line CLI11 refuses gets one too.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

std::vector<std::string> verb_names(CLI::App& group) {
  std::vector<std::string> names;
  for (auto* sub : group.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

// "pkiflow frobnicate" and "pkiflow cba uplod": the verb is named with the closest one and the
// list, rather than CLI11's "A subcommand is required".
void check_verbs(CLI::App& app, int argc, char** argv) {
  CLI::App* group = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return;
    const auto names = verb_names(*group);
    if (names.empty()) return;  // a verb's own arguments
    CLI::App* next = nullptr;
    for (auto* sub : group->get_subcommands([](CLI::App*) { return true; }))
      if (sub->check_name(word)) next = sub;
    if (!next) {
      throw Exit(kBadInput,
                 pkiflow::Error(pkiflow::ErrorKind::invalid_input, path,
                                "unknown verb \"" + word + "\"" + did_you_mean(word, names) +
                                    "; the verbs are " + joined(names) + " (see: pkiflow" +
                                    (path.empty() ? "" : " " + path) + " --help)"));
    }
    group = next;
    path += (path.empty() ? "" : " ") + word;
  }
}

// The verb a parse error is about ("cba upload"), for "see: pkiflow VERB --help".
std::string verb_path(CLI::App& app) {
  std::string path;
  CLI::App* at = &app;
  for (;;) {
    auto used = at->get_subcommands();
    if (used.empty()) return path;
    at = used.front();
    path += (path.empty() ? "" : " ") + at->get_name();
  }
}

}  // namespace

namespace {

int run_verb(int argc, char** argv) {
  CLI::App app{
      "pkiflow: CSR -> sign -> upload lifecycle of CA and signing certificates for "
      "Microsoft Graph",
      "pkiflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pkiflow " PKIFLOW_VERSION);
  add_key_commands(app);
  add_csr_commands(app);
  add_ca_commands(app);
  add_cert_commands(app);
  add_validate_command(app);
  add_record_commands(app);
  add_run_commands(app);
  add_config_commands(app);
  add_tenant_commands(app);
  add_bundle_commands(app);
  add_state_commands(app);
  add_help_command(app);
  set_json_output(wants_json(argc, argv));
  try {
    check_verbs(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string path = verb_path(app);
    return report_exit(
        Exit(kBadInput, pkiflow::Error(pkiflow::ErrorKind::invalid_input, path,
                                       std::string(e.what()) + " (see: pkiflow" +
                                           (path.empty() ? "" : " " + path) + " --help)")));
  } catch (const Exit& e) {
    return report_exit(e);
  } catch (const std::exception& e) {
    return report_exit(Exit(kInternal, std::string("internal error: ") + e.what()));
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_verb(argc, argv);
  } catch (const std::exception& e) {  // outside the verb (setting the CLI up, reporting)
    std::cerr << "pkiflow: internal error: " << e.what() << "\n";
    return kInternal;
  }
}

// pkiflow: the command-line front end of libpkiflow.
#include <iostream>

#include "tools/pkiflow/cli_support.hpp"

int main(int argc, char** argv) {
  using namespace pkiflow::cli;
  CLI::App app{
      "pkiflow: CSR -> sign -> upload lifecycle of CA and signing certificates for "
      "Microsoft Graph"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pkiflow 0.1.0");
  add_key_commands(app);
  add_csr_commands(app);
  add_ca_commands(app);
  add_cert_commands(app);
  add_validate_command(app);
  add_record_commands(app);
  add_run_commands(app);
  add_config_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kBadInput;
  } catch (const Exit& e) {
    if (!e.message.empty()) std::cerr << "pkiflow: " << e.message << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "pkiflow: internal error: " << e.what() << "\n";
    return kInternal;
  }
  return kOk;
}

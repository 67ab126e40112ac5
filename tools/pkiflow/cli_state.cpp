// `pkiflow state migrate`: the records, their history and the journal from one store to
// another (SQLite to PostgreSQL when a second worker host comes, and back).
#include <iostream>

#include "state/migrate.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

nlohmann::ordered_json to_json(const state::StoreCounts& c) {
  return {{"records", c.records}, {"history", c.history}, {"journal", c.journal}};
}

struct Migrate {
  StoreOptions store;  // --config: state_password_file for a PostgreSQL end
  std::string from, to;
  bool into_non_empty = false, json = false;

  void run() const {
    const auto config = store.load();
    // The source is only read, and must be of this pkiflow's schema (a run upgrades it).
    auto source = take(open_state(config, from, state::OpenMode::read_only));
    auto target = take(open_state(config, to, state::OpenMode::read_write));
    state::MigrateOptions options;
    options.into_non_empty = into_non_empty;
    auto report =
        take(state::migrate_store(*source, *target, std::chrono::system_clock::now(), options));
    if (json) {
      print_json({{"from", state::redact_url(from)},
                  {"to", state::redact_url(to)},
                  {"copied", to_json(report.source)},
                  {"target_before", to_json(report.target_before)},
                  {"target_after", to_json(report.target_after)},
                  {"records_checked", report.records_checked}});
      return;
    }
    std::cout << "copied " << report.source.records << " records, " << report.source.history
              << " history rows and " << report.source.journal << " journal entries from "
              << state::redact_url(from) << " to " << state::redact_url(to) << "\n"
              << "the target holds " << report.target_after.records << " records; "
              << report.records_checked << " read back and compared\n";
  }
};

}  // namespace

void add_state_commands(CLI::App& app) {
  auto* group = app.add_subcommand("state", "the state store as a whole");
  group->require_subcommand(1);
  auto m = std::make_shared<Migrate>();
  auto* cmd = group->add_subcommand(
      "migrate",
      "copy every record, its history and the journal to another store (SQLite <-> PostgreSQL), "
      "in one transaction of the target, and check the copy");
  cmd->add_option("--config", m->store.config,
                  "configuration file, for state_password_file (else $PKIFLOW_CONFIG or "
                  "./pkiflow.json)");
  cmd->add_flag("--allow-insecure-permissions", m->store.allow_insecure_permissions,
                "read secret files that group or others can access (with a warning)");
  cmd->add_option("--from", m->from, "the store to copy (read only; no run may be using it)")
      ->required();
  cmd->add_option("--to", m->to, "the store to copy into (created if it does not exist)")
      ->required();
  cmd->add_flag("--into-non-empty", m->into_non_empty,
                "add to a target that already holds records (an id it holds is refused)");
  cmd->add_flag("--json", m->json, "machine-readable output");
  cmd->callback([m] { m->run(); });
  example(cmd,
          "pkiflow state migrate --from sqlite:///var/lib/pkiflow/state.db "
          "--to 'postgresql://pkiflow@db.example.com/pkiflow?sslmode=verify-full'");
}

}  // namespace pkiflow::cli

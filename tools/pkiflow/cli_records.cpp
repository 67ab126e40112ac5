// pkiflow request | status | history | retry | cancel: the records in the state store.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "engine/api/record_json.hpp"
#include "engine/api/setup.hpp"
#include "engine/bundle/records.hpp"
#include "engine/config.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/run/renewals.hpp"
#include "state/store.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

// Prints rows as an aligned table on a terminal, tab-separated otherwise (for scripts).
void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (::isatty(STDOUT_FILENO) == 0) {
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i)
        std::cout << (i ? "\t" : "") << row[i];
      std::cout << "\n";
    }
    return;
  }
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i)
      std::cout << (i ? "  " : "") << std::left
                << std::setw(static_cast<int>(i + 1 < row.size() ? width[i] : 0)) << row[i];
    std::cout << "\n";
  }
}

// The command line's names for what the Engine calls "state" and "kind".
[[noreturn]] void fail_filter(const Error& e) {
  if (e.subject() == "state" || e.subject() == "kind")
    fail(Error(e.kind(), "--" + e.subject(), e.message()));
  fail(e);
}

struct Request {
  StoreOptions store;
  std::string kind, name, tenant, subject, key_alg;
  int days = 0;
  std::string signer;
  bool from_config = false, json = false;

  void run() const {
    if (!from_config && (kind.empty() || name.empty() || tenant.empty()))
      fail(kBadInput, "give --kind, --name and --tenant (or --from-config)");
    auto engine = store.engine();
    std::vector<RequestResult> results;
    if (from_config) {
      results = take(engine.request_configured());
    } else {
      // The same checks as a configured certificate (name, subject, key, validity, references).
      nlohmann::json entry{{"kind", kind}, {"name", name}, {"tenant", tenant}};
      if (!key_alg.empty()) entry["key_algorithm"] = key_alg;
      if (!subject.empty()) entry["subject"] = subject;
      if (days > 0) entry["validity_days"] = days;
      if (!signer.empty()) entry["signer"] = signer;
      results.push_back(take(engine.request(entry.dump(), "the command line")));
    }
    auto out = nlohmann::ordered_json::array();
    for (const auto& r : results) {
      if (!r.created) {
        if (!json) {
          std::cout << "exists   " << r.id << "  " << r.name << " (" << r.state << ")\n";
          if (!r.profile_changes.empty())
            std::cout << "  the configuration differs: " << joined(r.profile_changes)
                      << "; its next renewal takes it (pkiflow renew " << r.id << ")\n";
        }
        out.push_back({{"id", r.id},
                       {"name", r.name},
                       {"created", false},
                       {"profile_changes", r.profile_changes}});
        continue;
      }
      if (!json) std::cout << "planned  " << r.id << "  " << r.name << "\n";
      out.push_back({{"id", r.id}, {"name", r.name}, {"created", true}});
    }
    if (json) print_json(out);
  }
};

struct Status {
  StoreOptions store;
  std::string state_filter, kind_filter;
  int expiring_within = -1;
  bool json = false, all = false;

  void run() const {
    StatusFilter f;
    f.state = state_filter;
    f.kind = kind_filter;
    f.include_retired = all;
    if (expiring_within >= 0)
      f.expiring_before = std::chrono::system_clock::now() + std::chrono::days(expiring_within);
    auto engine = store.engine();
    auto records = engine.status(f);
    if (!records) fail_filter(records.error());
    if (json) {
      // One compact record per line inside the array: valid JSON, greppable, and it streams.
      std::string out = "[";
      for (std::size_t i = 0; i < records->size(); ++i)
        out += (i ? ",\n " : "\n ") + (*records)[i].json;
      out += records->empty() ? "]\n" : "\n]\n";
      std::cout << out;
      document_written();
      return;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "KIND", "NAME", "TENANT", "STATE",
                                                "NOT AFTER", "RENEW AT", "DRIFT", "ATTEMPTS",
                                                "NEXT ATTEMPT", "LAST ERROR"}};
    auto dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
    for (const auto& r : *records)
      rows.push_back({r.id, r.kind, r.name, r.tenant, r.state, dash(r.not_after), dash(r.renew_at),
                      dash(r.drift), std::to_string(r.attempts), dash(r.next_attempt_at), r.note});
    print_table(rows);
  }
};

// One record whole: what status shows, plus its CSR, certificate, chain and key file, or just
// one of those as PEM (--csr, --certificate, --chain), e.g. to sign the CSR offline.
struct Show {
  StoreOptions store;
  std::string id;
  bool json = false, csr = false, certificate = false, chain = false;

  void run() const {
    auto r = take(store.engine().show(id));
    if (csr || certificate || chain) {
      // The parts asked for, in this order, each as PEM (or as fields of one JSON object).
      const struct {
        bool wanted;
        const char* what;
        const char* field;
        const std::string& pem;
      } parts[] = {{csr, "CSR", "csr_pem", r.csr_pem},
                   {certificate, "certificate", "certificate_pem", r.certificate_pem},
                   {chain, "chain", "chain_pem", r.chain_pem}};
      nlohmann::ordered_json j{{"id", r.id}, {"state", r.state}};
      std::string text;
      for (const auto& p : parts) {
        if (!p.wanted) continue;
        if (p.pem.empty())
          fail(Error(ErrorKind::invalid_input, "record " + id,
                     std::string("has no ") + p.what + " yet (" + r.state + ")"));
        j[p.field] = p.pem;
        text += p.pem;
      }
      if (json) return print_json(j);
      std::cout << text;
      return;
    }
    auto j = nlohmann::ordered_json::parse(r.json);
    if (json) return print_json(j);
    for (auto it = j.begin(); it != j.end(); ++it)
      std::cout << it.key() << ": "
                << (it.value().is_string() ? it.value().get<std::string>() : it.value().dump())
                << "\n";
  }
};

struct History {
  StoreOptions store;
  std::string id;
  bool json = false;

  void run() const {
    auto rows = take(store.engine().history(id));
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& h : rows)
        arr.push_back({{"seq", h.seq},
                       {"at", h.at},
                       {"from", h.from.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(h.from)},
                       {"to", h.to},
                       {"actor", h.actor},
                       {"reason", h.reason},
                       {"details", nlohmann::ordered_json::parse(h.details_json, nullptr, false)}});
      print_json(arr);
      return;
    }
    std::vector<std::vector<std::string>> table{{"AT", "FROM", "TO", "ACTOR", "REASON"}};
    for (const auto& h : rows)
      table.push_back({h.at, h.from.empty() ? "-" : h.from, h.to, h.actor, h.reason});
    print_table(table);
  }
};

// step's `needs-renewal` contract, for scripts: exit 0 due, 1 not due, 2 unknown record (or
// unusable input), 255 any other error.
struct NeedsRenewal {
  StoreOptions store;
  std::string id, within;
  bool all = false, json = false;

  void run() const {
    try {
      check();
    } catch (Exit& e) {
      if (e.code != kOk && e.code != kInvalid && e.code != kBadInput) e.code = 255;
      throw;
    }
  }

  void check() const {
    if (id.empty() == !all) fail(kBadInput, "give a record id or --all");
    std::chrono::seconds ahead{0};
    if (!within.empty()) ahead = take(engine::parse_duration(within));
    auto engine = store.engine();
    std::vector<RecordInfo> records;
    if (all) {
      StatusFilter f;
      f.state = "active";
      records = take(engine.status(f));
    } else {
      records.push_back(take(engine.show(id)));
    }
    const auto horizon = std::chrono::system_clock::now() + ahead;
    std::size_t due_count = 0;
    auto arr = nlohmann::ordered_json::array();
    for (const auto& r : records) {
      const bool renews = !r.renew_at.empty();
      const bool due = renews && take(pki::parse_rfc3339(r.renew_at)) <= horizon;
      due_count += due;
      arr.push_back({{"id", r.id},
                     {"name", r.name},
                     {"state", r.state},
                     {"renew_at", renews ? nlohmann::ordered_json(r.renew_at)
                                         : nlohmann::ordered_json(nullptr)},
                     {"reason", renews ? r.renew_reason : "not active: nothing to renew"},
                     {"due", due}});
      if (!json)
        std::cout << r.id << "  " << r.name << "  "
                  << (due      ? "due since " + r.renew_at + " (" + r.renew_reason + ")"
                      : renews ? "not due until " + r.renew_at + " (" + r.renew_reason + ")"
                               : "not active (" + r.state + "): nothing to renew")
                  << "\n";
    }
    const int code = due_count > 0 ? kOk : 1;
    if (json) print_json({{"records", arr}, {"due", due_count}, {"exit", code}});
    if (code != kOk) throw Exit(code, "");
  }
};

struct Operator {
  enum class Action { retry, renew };
  StoreOptions store;
  std::string id;
  bool json = false;
  Action action = Action::retry;

  void run() const {
    auto engine = store.engine();
    // A renewal takes the configuration as it is now: a subject or key algorithm edited since
    // the record was planned goes to the successor, and its history says so.
    std::vector<std::string> changes;
    RecordInfo r;
    if (action == Action::renew) {
      auto renewed = take(engine.renew(id));
      r = std::move(renewed.successor);
      changes = std::move(renewed.profile_changes);
    } else {
      r = take(engine.retry(id));
    }
    if (json) {
      auto j = nlohmann::ordered_json::parse(r.json);
      if (action == Action::renew) j["profile_changes"] = changes;
      return print_json(j);
    }
    if (action == Action::renew) {
      std::cout << "planned  " << r.id << "  " << r.name << "  (renews " << id << ")\n";
      if (!changes.empty()) std::cout << "  with the configuration's " << joined(changes) << "\n";
    } else {
      std::cout << r.id << ": " << r.state << "\n";
    }
  }
};

}  // namespace

void add_record_commands(CLI::App& app) {
  auto rq = std::make_shared<Request>();
  auto* request = app.add_subcommand(
      "request", "add certificates to manage (from the command line or the config file)");
  rq->store.add_to(*request);
  request->add_option("--kind", rq->kind, "gsa-tls-ca, cba-ca or intune-codesigning");
  request->add_option("--name", rq->name, "a name for the certificate");
  request->add_option("--tenant", rq->tenant, "the Entra tenant (id or domain)");
  request->add_option("--subject", rq->subject,
                      "subject for locally generated CSRs, e.g. \"CN=Contoso User CA,O=Contoso\"");
  request->add_option("--key-alg", rq->key_alg,
                      "key algorithm of the key made here: rsa2048, rsa3072 (default), rsa4096, "
                      "p256 or p384 (not for gsa-tls-ca: the service makes that key)");
  request->add_option("--days", rq->days, "validity in days (default: the profile's)")
      ->check(CLI::Range(engine::kValidityDaysBounds.min, engine::kValidityDaysBounds.max));
  request->add_option("--signer", rq->signer,
                      "a signer from the configuration (else sign offline and import)");
  request->add_flag("--from-config", rq->from_config,
                    "request every certificate of the config file not yet managed");
  request->add_flag("--json", rq->json, "machine-readable output");
  request->callback([rq] { rq->run(); });
  example(request,
          "pkiflow request --kind cba-ca --name user-ca --tenant contoso "
          "--subject 'CN=Contoso User CA,O=Contoso' --signer contoso-root   (or: --from-config)");

  auto s = std::make_shared<Status>();
  auto* status = app.add_subcommand("status", "list the managed certificates and their states");
  s->store.add_to(*status);
  status->add_option("--state", s->state_filter, "only records in this state");
  status->add_option("--kind", s->kind_filter, "only records of this kind");
  status
      ->add_option("--expiring-within", s->expiring_within,
                   "only certificates expiring within this many days")
      ->check(
          CLI::Range(engine::kExpiringWithinDaysBounds.min, engine::kExpiringWithinDaysBounds.max));
  status->add_flag("--all", s->all, "include retired records");
  status->add_flag("--json", s->json, "machine-readable output");
  status->callback([s] { s->run(); });
  example(status, "pkiflow status --expiring-within 30 --json");

  auto sh = std::make_shared<Show>();
  auto* show = app.add_subcommand("show", "one record whole, or its CSR / certificate / chain");
  sh->store.add_to(*show);
  show->add_option("id", sh->id, "record id")->required();
  show->add_flag("--csr", sh->csr, "print only its CSR (PEM), e.g. to sign it offline");
  show->add_flag("--certificate", sh->certificate, "print only its certificate (PEM)");
  show->add_flag("--chain", sh->chain, "print only its chain (PEM)");
  show->add_flag("--json", sh->json, "machine-readable output");
  show->callback([sh] { sh->run(); });
  example(show, "pkiflow show 01J0Z8K4M2N6P8R0 --csr > request.csr");

  auto h = std::make_shared<History>();
  auto* history = app.add_subcommand("history", "the transitions of one record");
  h->store.add_to(*history);
  history->add_option("id", h->id, "record id")->required();
  history->add_flag("--json", h->json, "machine-readable output");
  history->callback([h] { h->run(); });
  example(history, "pkiflow history 01J0Z8K4M2N6P8R0");

  auto nr = std::make_shared<NeedsRenewal>();
  auto* needs = app.add_subcommand(
      "needs-renewal",
      "whether a record (or any, --all) is due for renewal: exit 0 due, 1 not due, 2 unknown "
      "record, 255 error");
  nr->store.add_to(*needs);
  needs->add_option("id", nr->id, "record id");
  needs->add_flag("--all", nr->all, "every active record: exit 0 when any is due");
  needs->add_option("--within", nr->within,
                    "count as due what comes due within this duration (30d, 12h)");
  needs->add_flag("--json", nr->json, "machine-readable output");
  needs->callback([nr] { nr->run(); });
  example(needs, "pkiflow needs-renewal --all --within 7d && echo 'renewals this week'");

  using A = Operator::Action;
  for (A action : {A::retry, A::renew}) {  // cancel is with the Graph verbs (cli_run.cpp)
    auto o = std::make_shared<Operator>();
    o->action = action;
    auto* cmd = app.add_subcommand(
        action == A::renew ? "renew" : "retry",
        action == A::renew
            ? "plan the successor of an active record (the next run stages it; the old one is "
              "retired once the successor is active)"
            : "send a failed record back to the state it failed in");
    o->store.add_to(*cmd);
    cmd->add_option("id", o->id, "record id")->required();
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->callback([o] { o->run(); });
    example(cmd, std::string("pkiflow ") + cmd->get_name() + " 01J0Z8K4M2N6P8R0");
  }
}

}  // namespace pkiflow::cli

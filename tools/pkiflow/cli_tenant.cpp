// pkiflow verify | repair | discover | adopt: the verbs that look at what is in the tenant.
// `verify` reads live objects back and records drift, as each run does once per
// verify_interval; `repair` acts on it; `discover` lists the objects no record manages; `adopt`
// makes a live record of one of them.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <iostream>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/run/adoption.hpp"
#include "engine/run/renewals.hpp"
#include "engine/workflow.hpp"
#include "tools/pkiflow/cli_graph.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

nlohmann::ordered_json outcome_json(const Transition& t) {
  return {{"id", t.record_id},
          {"name", t.name},
          {"kind", t.kind},
          {"from", t.from},
          {"to", t.to},
          {"drift",
           t.drift.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(t.drift)},
          {"result", t.result},
          {"note", t.message}};
}

void print_outcome(const Transition& t) {
  std::cout << t.record_id << "  " << t.name << "  " << (t.drift.empty() ? "ok" : t.drift) << "  "
            << t.message << "\n";
}

// verify and repair, on the embedding API's Engine (pkiflow/engine.hpp).
struct DriftVerb {
  StoreOptions store;
  std::string id;
  bool dry_run = false, json = false;

  ActionOptions options(DryRunOutput& dry) const { return action_options(dry_run, dry); }
};

struct Verify : DriftVerb {
  void run() const {
    auto engine = store.engine();
    DryRunOutput dry;
    const auto o = options(dry);
    VerifyResult found;
    if (id.empty()) {
      found = take(engine.verify_all(o));
    } else {
      found.ids.push_back(id);
      auto t = engine.verify(id, o);
      if (t)
        found.records.push_back(*t);
      else if (t.error().kind() != ErrorKind::not_sent)  // dry run: the GET was shown
        fail(t.error());
    }
    const auto& ids = found.ids;
    const auto& outs = found.records;
    const auto& errors = found.errors;
    if (dry_run) return dry.done({{"ids", ids}});
    const bool drift =
        std::any_of(outs.begin(), outs.end(), [](const auto& t) { return !t.drift.empty(); });
    const int code = !errors.empty() ? exit_code_of(errors.front()) : drift ? kDrift : kOk;
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& t : outs)
        arr.push_back(outcome_json(t));
      auto errs = nlohmann::ordered_json::array();
      for (const auto& e : errors)
        errs.push_back({{"subject", e.subject()}, {"message", e.message()}});
      print_json({{"records", arr}, {"errors", errs}, {"exit", code}});
    } else {
      for (const auto& t : outs)
        print_outcome(t);
      for (const auto& e : errors)
        std::cerr << "pkiflow: " << e.what() << "\n";
      if (ids.empty()) std::cout << "no active records\n";
    }
    if (code != kOk) throw Exit(code, "");
  }
};

struct Repair : DriftVerb {
  void run() const {
    auto engine = store.engine();
    DryRunOutput dry;
    auto t = engine.repair(id, options(dry));
    if (!t) {
      if (t.error().kind() == ErrorKind::not_sent) return dry.done({{"id", id}});
      fail(t.error());
    }
    if (json)
      print_json(outcome_json(*t));
    else
      print_outcome(*t);
  }
};

// A provider by kind and tenant, from the session (which finds them by a record's).
engine::ProviderFor providers_of(engine::GraphSession& session) {
  return [&session](state::RecordKind kind, const std::string& tenant) {
    state::Record probe;
    probe.kind = kind;
    probe.tenant = tenant;
    return session.provider(probe);
  };
}

struct Discover {
  StoreOptions store;
  std::string tenant;
  bool all = false, json = false;

  void run() const {
    auto config = store.load();
    // Read-write: on a host that has no store yet (the first thing an operator runs), it is
    // made empty rather than refused.
    auto st = store.open(config);
    engine::SystemClock clock;
    GraphContext g(config, clock, false);
    std::vector<std::string> tenants;
    for (const auto& t : config.tenants)
      if (tenant.empty() || t.name == tenant) tenants.push_back(t.name);
    if (tenants.empty())
      fail(kBadInput,
           "--tenant " + tenant + ": not a configured tenant" + did_you_mean(tenant, [&] {
             std::vector<std::string> names;
             for (const auto& t : config.tenants)
               names.push_back(t.name);
             return names;
           }()));
    auto found = take(engine::discover(g.ioc, *st, providers_of(*g.session), tenants));
    std::erase_if(found.objects, [&](const auto& d) { return !all && !d.managed_by.empty(); });
    const int code = found.errors.empty() ? kOk : kCannotRun;
    if (json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& d : found.objects) {
        const auto& o = d.object;
        arr.push_back(
            {{"tenant", d.tenant},
             {"kind", state::to_string(d.kind)},
             {"remote_id", o.id},
             {"name", o.name},
             {"status", o.status},
             {"subject", o.subject},
             {"issuer", o.issuer},
             {"not_after", o.not_after ? nlohmann::ordered_json(pki::format_rfc3339(*o.not_after))
                                       : nlohmann::ordered_json(nullptr)},
             {"thumbprint_sha1", o.thumbprint_sha1},
             {"managed_by", d.managed_by.empty() ? nlohmann::ordered_json(nullptr)
                                                 : nlohmann::ordered_json(d.managed_by)},
             {"note", o.note}});
      }
      auto errs = nlohmann::ordered_json::array();
      for (const auto& e : found.errors)
        errs.push_back({{"subject", e.subject()}, {"message", e.message()}});
      print_json({{"objects", arr}, {"errors", errs}, {"exit", code}});
    } else {
      for (const auto& d : found.objects) {
        const auto& o = d.object;
        std::cout << d.tenant << "  " << state::to_string(d.kind) << "  " << o.id << "  \""
                  << o.name << "\"  " << o.status << "  " << o.subject << "  expires "
                  << time_or_dash(o.not_after) << "  "
                  << (o.thumbprint_sha1.empty() ? "-" : o.thumbprint_sha1);
        if (!d.managed_by.empty()) std::cout << "  managed by " << d.managed_by;
        if (!o.note.empty()) std::cout << "  (" << o.note << ")";
        std::cout << "\n";
      }
      if (found.objects.empty()) std::cout << "no unmanaged objects\n";
      for (const auto& e : found.errors)
        std::cerr << "pkiflow: " << e.what() << "\n";
    }
    if (code != kOk) throw Exit(code, "");
  }
};

struct Adopt {
  StoreOptions store;
  engine::AdoptRequest req;
  std::string kind, certificate;
  bool json = false;

  void run() {
    auto config = store.load();
    if (!config.tenant(req.tenant))
      fail(kBadInput, "--tenant " + req.tenant + ": not a configured tenant");
    if (!req.signer.empty() && !config.signer(req.signer))
      fail(kBadInput, "--signer " + req.signer + ": not a configured signer");
    if (!kind.empty()) {
      req.kind = state::parse_kind(kind);
      if (!req.kind)
        fail(kBadInput, "--kind " + kind + ": gsa-tls-ca, cba-ca or intune-codesigning");
    }
    if (!certificate.empty()) {
      auto bytes = take(pki::read_file_bytes(certificate, 1024 * 1024));
      auto cert = take(pki::Certificate::decode_all(bytes));
      if (cert.empty()) fail(kBadInput, certificate + ": no certificate in it");
      req.certificate_pem = cert.front().pem();
    }
    auto st = store.open(config);
    engine::SystemClock clock;
    GraphContext g(config, clock, false);
    engine::Lifecycle life(*st, clock, "pkiflow adopt (" + actor() + ")");
    auto rng = pki::Rng::system();
    auto rec = take(engine::adopt(g.ioc, *st, life, clock, providers_of(*g.session), req,
                                  engine::new_record_id(rng)));
    if (json) {
      print_json({{"id", rec.id},
                  {"kind", state::to_string(rec.kind)},
                  {"name", rec.name},
                  {"state", state::to_string(rec.state)},
                  {"remote_id", rec.remote_id},
                  {"not_after", time_or_dash(rec.not_after)}});
      return;
    }
    std::cout << "adopted  " << rec.id << "  " << rec.name << "  (" << state::to_string(rec.kind)
              << " " << rec.remote_id << ", expires " << time_or_dash(rec.not_after) << ")\n";
  }
};

}  // namespace

void add_tenant_commands(CLI::App& app) {
  auto v = std::make_shared<Verify>();
  auto* ver = app.add_subcommand(
      "verify", "read live objects back now and record drift (gone, switched off, replaced, …)");
  v->store.add_to(*ver);
  ver->add_option("id", v->id, "record id (default: every active record)");
  ver->add_flag("--dry-run", v->dry_run, "show the GETs, send and store nothing");
  ver->add_flag("--json", v->json, "machine-readable output");
  ver->callback([v] { v->run(); });
  example(ver, "pkiflow verify --json   (exit 9 when a live object drifted)");

  auto r = std::make_shared<Repair>();
  auto* rep = app.add_subcommand(
      "repair", "put a drifted record right: upload again, switch on again, or renew");
  r->store.add_to(*rep);
  rep->add_option("id", r->id, "record id")->required();
  rep->add_flag("--dry-run", r->dry_run, "show the first request, send and store nothing");
  rep->add_flag("--json", r->json, "machine-readable output");
  rep->callback([r] { r->run(); });
  example(rep, "pkiflow repair 01J0Z8K4M2N6P8R0");

  auto d = std::make_shared<Discover>();
  auto* dis = app.add_subcommand(
      "discover", "list the objects of the three families in the tenant that no record manages");
  d->store.add_to(*dis);
  dis->add_option("--tenant", d->tenant, "one configured tenant (default: every one)");
  dis->add_flag("--all", d->all, "also the objects records manage (with their record)");
  dis->add_flag("--json", d->json, "machine-readable output");
  dis->callback([d] { d->run(); });
  example(dis, "pkiflow discover --tenant contoso --json");

  auto a = std::make_shared<Adopt>();
  auto* ad = app.add_subcommand(
      "adopt", "make a live record of an object uploaded by hand, so pkiflow renews it when due");
  a->store.add_to(*ad);
  ad->add_option("--tenant", a->req.tenant, "the configured tenant it is in")->required();
  ad->add_option("--remote-id", a->req.remote_id, "its id, as `pkiflow discover` lists it")
      ->required();
  ad->add_option("--kind", a->kind, "gsa-tls-ca, cba-ca or intune-codesigning (default: any)");
  ad->add_option("--name", a->req.name, "the record's name (default: the object's)");
  ad->add_option("--signer", a->req.signer,
                 "the configured signer of its renewals (default: none, sign offline)");
  ad->add_option("--certificate", a->certificate,
                 "its certificate (PEM or DER): for a code-signing object whose content the "
                 "service dropped");
  ad->add_flag("--json", a->json, "machine-readable output");
  ad->callback([a] { a->run(); });
  example(ad, "pkiflow adopt --tenant contoso --remote-id 6d1c… --signer corp-issuing");
}

}  // namespace pkiflow::cli

// Air-gap bundles: `pkiflow bundle export DIR` and `pkiflow bundle import DIR` on the online
// host, `pkiflow sign --bundle DIR` on the offline one (no configuration, no store, no network).
#include <unistd.h>

#include <iostream>

#include "engine/bundle/records.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/signers/local_ca.hpp"
#include "tools/pkiflow/cli_graph.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

namespace bundle = engine::bundle;

struct Export {
  StoreOptions store;
  std::string dir, tenant, kind;
  bool again = false, json = false;

  void run() const {
    auto config = store.load();
    auto st = store.open(config);
    bundle::ExportOptions opt;
    if (!tenant.empty()) opt.tenant = tenant;
    if (!kind.empty()) {
      opt.kind = state::parse_kind(kind);
      if (!opt.kind)
        fail(kBadInput,
             "--kind: unknown kind '" + kind + "' (gsa-tls-ca, cba-ca, intune-codesigning)");
    }
    opt.again = again;
    engine::SystemClock clock;
    auto report = take(bundle::export_bundle(*st, config, clock, dir, opt, actor()));
    if (json) {
      nlohmann::ordered_json j{
          {"bundle_id", nullptr}, {"dir", dir}, {"records", nlohmann::json::array()}};
      if (report.manifest) {
        j["bundle_id"] = report.manifest->bundle_id;
        for (const auto& e : report.manifest->records)
          j["records"].push_back({{"id", e.record_id},
                                  {"name", e.name},
                                  {"kind", e.kind},
                                  {"profile", e.profile},
                                  {"subject", e.subject},
                                  {"validity_days", e.validity_days}});
      }
      j["already_exported"] = nlohmann::json::array();
      for (const auto& r : report.already_out)
        j["already_exported"].push_back({{"id", r.id}, {"bundle_id", r.bundle_id}});
      print_json(j);
      return;
    }
    for (const auto& r : report.already_out)
      std::cerr << "not exported: " << r.id << " (" << r.name << ") is in bundle " << r.bundle_id
                << " already; --again exports it anew\n";
    if (!report.manifest) {
      std::cout << "no record is waiting for an offline signature\n";
      return;
    }
    for (const auto& e : report.manifest->records)
      std::cout << "exported " << e.record_id << "  " << e.name << "  " << e.profile << "  "
                << e.subject << "\n";
    std::cout << "bundle " << report.manifest->bundle_id << " in " << dir << ": "
              << report.manifest->records.size()
              << " CSR(s); sign it on the offline host with `pkiflow sign --bundle DIR --ca-cert "
                 "… --ca-key …`, then `pkiflow bundle import DIR` here\n";
  }
};

struct BundleImport {
  StoreOptions store;
  std::string dir;
  bool json = false;

  void run() const {
    auto config = store.load();
    auto st = store.open(config);
    engine::SystemClock clock;
    auto report = take(bundle::import_bundle(*st, config, trust_of(config), clock, dir, actor()));
    if (json) {
      nlohmann::ordered_json j{{"bundle_id", report.bundle_id},
                               {"ca", report.ca_subject},
                               {"records", nlohmann::json::array()}};
      for (const auto& r : report.signed_records)
        j["records"].push_back({{"id", r.id},
                                {"name", r.name},
                                {"state", state::to_string(r.state)},
                                {"thumbprint", r.thumbprint_sha1}});
      print_json(j);
      return;
    }
    for (const auto& r : report.signed_records)
      std::cout << "signed   " << r.id << "  " << r.name << "  (valid until "
                << (r.not_after ? pki::format_rfc3339(*r.not_after) : std::string("?")) << ")\n";
    std::cout << "bundle " << report.bundle_id << ": " << report.signed_records.size()
              << " record(s) signed by " << report.ca_subject
              << "; the next `pkiflow run` uploads them\n";
  }
};

// On the offline host: no configuration, no state store, no network.
struct SignBundle {
  std::string dir, ca_cert, ca_key, ca_chain;
  std::vector<std::string> crl_urls;
  bool yes = false, json = false;
  PassphraseOption pass;

  void run() const {
    auto outbound = take(bundle::read_bundle(dir));
    auto cert = take(pki::Certificate::load(ca_cert));
    auto passphrase = pass.get();
    auto key = take(pki::PrivateKey::open(ca_key, passphrase ? &*passphrase : nullptr));
    engine::signers::LocalCaSettings ls;
    ls.name = "offline CA";
    ls.certificate = ca_cert;
    ls.key = ca_key;
    if (!ca_chain.empty()) ls.chain = ca_chain;
    ls.passphrase = passphrase;
    ls.crl_urls = crl_urls;
    auto signer = take(engine::signers::make_local_ca_signer(ls, key));
    // What is about to be signed, before anything is.
    std::ostream& out = json ? std::cerr : std::cout;
    out << "bundle " << outbound.manifest.bundle_id << " (created "
        << pki::format_rfc3339(outbound.manifest.created_at) << "), to be signed by "
        << cert.subject() << ":\n";
    for (const auto& e : outbound.manifest.records)
      out << "  " << e.record_id << "  " << e.kind << " " << e.name << " (tenant " << e.tenant
          << ")\n      subject " << e.subject << "\n      key " << e.key << ", profile "
          << e.profile << ", " << e.validity_days << " days\n";
    if (!yes) {
      if (!::isatty(0))
        fail(kBadInput, "not signing without confirmation: run it at a terminal, or pass --yes");
      out << "sign these " << outbound.manifest.records.size() << " certificate(s)? [y/N] "
          << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes")
        fail(kBadInput, "not signed: the answer was not yes; the bundle is unchanged");
    }
    auto rng = pki::Rng::system();
    auto signed_manifest = take(bundle::sign_bundle(dir, outbound, *signer, cert, key,
                                                    std::chrono::system_clock::now(), rng));
    if (json) {
      nlohmann::ordered_json j{{"bundle_id", signed_manifest.bundle_id},
                               {"ca", signed_manifest.ca_subject},
                               {"certificates", nlohmann::json::array()}};
      for (const auto& c : signed_manifest.certificates)
        j["certificates"].push_back(
            {{"id", c.record_id}, {"certificate", c.certificate_file}, {"chain", c.chain_file}});
      print_json(j);
      return;
    }
    std::cout << "signed " << signed_manifest.certificates.size() << " certificate(s) into " << dir
              << "; take the directory back and run `pkiflow bundle import " << dir << "`\n";
  }
};

}  // namespace

void add_bundle_commands(CLI::App& app) {
  auto* b = app.add_subcommand("bundle", "air-gap bundles: CSRs out to an offline CA and back");
  b->require_subcommand(1);
  auto e = std::make_shared<Export>();
  auto* ex = b->add_subcommand(
      "export", "write the CSRs of records waiting for an offline signature into a new bundle");
  e->store.add_to(*ex);
  ex->add_option("dir", e->dir, "a new or empty directory (removable media)")->required();
  ex->add_option("--tenant", e->tenant, "only this tenant's records");
  ex->add_option("--kind", e->kind,
                 "only records of this kind (gsa-tls-ca, cba-ca, intune-codesigning)");
  ex->add_flag("--again", e->again, "also records already sent out in an earlier bundle");
  ex->add_flag("--json", e->json, "machine-readable output");
  ex->callback([e] { e->run(); });
  example(ex, "pkiflow bundle export /media/usb/bundle-2026-11");

  auto i = std::make_shared<BundleImport>();
  auto* im = b->add_subcommand(
      "import", "check a signed bundle whole and move its records to signed, all or none");
  i->store.add_to(*im);
  im->add_option("dir", i->dir, "the bundle, signed on the offline host")->required();
  im->add_flag("--json", i->json, "machine-readable output");
  im->callback([i] { i->run(); });
  example(im, "pkiflow bundle import /media/usb/bundle-2026-11");

  auto s = std::make_shared<SignBundle>();
  auto* sign = app.add_subcommand(
      "sign", "on the offline host: sign a bundle's CSRs with the CA key (no config, no store)");
  sign->add_option("--bundle", s->dir, "the bundle directory")->required();
  sign->add_option("--ca-cert", s->ca_cert, "the CA certificate")->required();
  sign->add_option("--ca-key", s->ca_key, "the CA private key")->required();
  sign->add_option("--ca-chain", s->ca_chain, "the CA's own chain up to the root (PEM)");
  sign->add_option("--crl-url", s->crl_urls, "CRL distribution point to embed (repeatable)");
  sign->add_flag("--yes", s->yes, "sign without asking (the list is still printed)");
  sign->add_flag("--json", s->json, "machine-readable output (the list goes to stderr)");
  s->pass.add_to(*sign);
  sign->callback([s] { s->run(); });
  example(sign,
          "pkiflow sign --bundle /media/usb/bundle-2026-11 --ca-cert root.pem --ca-key root.key "
          "--passphrase-file ca-passphrase");
}

}  // namespace pkiflow::cli

// pkiflow-graph-emulator: a local stand-in for the Microsoft Graph endpoints pkiflow drives,
// for tests and for trying pkiflow without a tenant. Prints its base URL on start.
//
//   PKIFLOW_EMULATOR_SECRET=s3cret pkiflow-graph-emulator [--port 0] [--tenant contoso]
//       [--client-id ID] [--client-secret-file FILE] [--activation-delay-ms 2000]
//       [--log requests.jsonl] [--seed N] [--listen 127.0.0.1] [--allow-remote]
//       [--client-certificate app.pem] [--faults 429=0.2,lost=0.1,...] [--state emu.json]
//       [--tls --tls-ca-out ca.pem | --tls-cert chain.pem --tls-key key.pem]
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "engine/pki/encoded_file.hpp"
#include "tools/graph-emulator/server.hpp"

namespace {

int emulator_main(int argc, char** argv) {
  using namespace pkiflow;
  CLI::App app{"pkiflow-graph-emulator: local Microsoft Graph endpoints for pkiflow"};
  emulator::Options opt;
  std::string listen = "127.0.0.1", secret_file, log_file, client_cert, faults, tls_ca_out,
              tls_cert, tls_key;
  bool tls = false;
  std::uint16_t port = 0;
  std::uint64_t seed = 1;
  long delay_ms = 2000;
  bool allow_remote = false, rsa = true;
  app.add_option("--listen", listen, "address to listen on (loopback unless --allow-remote)")
      ->capture_default_str();
  app.add_option("--port", port, "port (0 = a free one)")->capture_default_str();
  app.add_option("--tenant", opt.tenant, "tenant served at /{tenant}/oauth2/v2.0/token")
      ->capture_default_str();
  app.add_flag("--multi-tenant", opt.multi_tenant,
               "serve any tenant at /{tenant}/oauth2/v2.0/token, each with objects of its own "
               "(the tenant of the request's access token)");
  app.add_option("--client-id", opt.client_id, "the app's client id")->capture_default_str();
  app.add_option("--client-secret-file", secret_file,
                 "file holding the client secret (else $PKIFLOW_EMULATOR_SECRET)");
  app.add_option("--activation-delay-ms", delay_ms, "enrolling -> active after an upload")
      ->capture_default_str();
  app.add_option("--log", log_file, "append a JSON line per request to this file");
  app.add_option("--seed", seed, "seed of the emulator's randomness (ids, keys)")
      ->capture_default_str();
  app.add_flag("--allow-remote", allow_remote, "allow a non-loopback --listen address");
  app.add_option("--client-certificate", client_cert,
                 "the app's certificate (PEM): client assertions signed by its key are accepted");
  app.add_option("--faults", faults,
                 "inject faults, e.g. 429=0.2,500=0.1,503=0.1,drop=0.05,lost=0.1,latency=20,"
                 "retry-after=0.3 (rates 0..1, drawn from --seed)");
  app.add_option("--state", opt.state_file,
                 "keep the tenant's objects in this file (0600) across restarts");
  app.add_option("--deny", opt.denied,
                 "answer 403 for these families (gsa, cba, intune): the app lacks the permission")
      ->delimiter(',');
  app.add_flag("--require-enable", opt.require_enable,
               "keep uploads staged until PATCH {\"status\":\"enabled\"} (some tenants do)");
  app.add_flag("--staged-flow", opt.staged_flow,
               "GSA as the service works today: an upload is staged (disabled) until PATCH "
               "{\"status\":\"enabled\"}, then enrolling -> active; the old one -> disabled");
  app.add_flag("--gsa-managed-ca", opt.gsa_managed_ca,
               "the tenant has a Microsoft-managed TLS-inspection CA (listed, read-only)");
  app.add_flag("--ignore-filter", opt.ignore_filter,
               "answer GSA lists whole, ignoring $filter (as a proxy or an SDK may)");
  app.add_option("--foreign", opt.foreign,
                 "start with N GSA objects made by someone else (half named like pkiflow's)")
      ->check(CLI::Range(0, 1000));
  app.add_flag("--gsa-404-when-empty", opt.gsa_404_when_empty,
               "answer 404 for the GSA collection of a tenant without TLS settings");
  app.add_option("--gsa-page-size", opt.gsa_page_size, "GSA list page size (@odata.nextLink)")
      ->check(CLI::Range(1, 999))
      ->capture_default_str();
  app.add_flag("--tls", tls, "serve HTTPS with a certificate made at start (see --tls-ca-out)");
  app.add_option("--tls-ca-out", tls_ca_out, "with --tls: write the CA that clients must trust");
  app.add_option("--tls-cert", tls_cert, "serve HTTPS with this certificate chain (PEM)");
  app.add_option("--tls-key", tls_key, "the key of --tls-cert (PEM, unencrypted)");
  app.add_flag("!--p256-service-keys", rsa,
               "make service-side keys P-256 instead of RSA-2048 (faster)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (opt.multi_tenant && !opt.state_file.empty()) {
    std::cerr << "pkiflow-graph-emulator: --state keeps one tenant; it cannot be used with "
                 "--multi-tenant\n";
    return 2;
  }
  opt.rsa_service_keys = rsa;
  opt.activation_delay = std::chrono::milliseconds(delay_ms);
  if (!secret_file.empty()) {
    auto bytes = pki::read_file_bytes(secret_file, 64 * 1024);
    if (!bytes) {
      std::cerr << "pkiflow-graph-emulator: " << bytes.error().what() << "\n";
      return 2;
    }
    opt.client_secret.assign(bytes->begin(), bytes->end());
    opt.client_secret = opt.client_secret.substr(0, opt.client_secret.find_first_of("\r\n"));
  } else if (const char* env = std::getenv("PKIFLOW_EMULATOR_SECRET")) {
    opt.client_secret = env;
  }
  if (opt.client_secret.empty()) {
    std::cerr << "pkiflow-graph-emulator: no client secret: set PKIFLOW_EMULATOR_SECRET or "
                 "--client-secret-file\n";
    return 2;
  }
  if (!faults.empty()) {
    std::string why;
    if (!emulator::parse_faults(faults, opt.faults, why)) {
      std::cerr << "pkiflow-graph-emulator: --faults: " << why << "\n";
      return 2;
    }
  }
  if (!client_cert.empty()) {
    auto bytes = pki::read_file_bytes(client_cert, 1024 * 1024);
    if (!bytes) {
      std::cerr << "pkiflow-graph-emulator: " << bytes.error().what() << "\n";
      return 2;
    }
    opt.client_certificate_pem.assign(bytes->begin(), bytes->end());
  }
  std::optional<emulator::TlsIdentity> identity;
  if (tls || !tls_cert.empty()) {
    auto id = tls_cert.empty() ? emulator::make_tls_identity()
                               : emulator::load_tls_identity(tls_cert, tls_key);
    if (!id) {
      std::cerr << "pkiflow-graph-emulator: " << id.error().what() << "\n";
      return 2;
    }
    identity = std::move(*id);
    if (!tls_ca_out.empty()) {
      if (auto st = pki::write_file_atomic(tls_ca_out, identity->ca_pem, 0644); !st) {
        std::cerr << "pkiflow-graph-emulator: " << st.error().what() << "\n";
        return 3;
      }
    }
  }
  emulator::GraphEmulator emu(
      opt, [] { return std::chrono::system_clock::now(); }, seed);
  if (!emu.load_error().empty()) {
    std::cerr << "pkiflow-graph-emulator: --state: " << emu.load_error() << "\n";
    return 2;
  }
  auto server = emulator::EmulatorServer::bind(emu, listen, port, allow_remote,
                                               identity ? &*identity : nullptr);
  if (!server) {
    std::cerr << "pkiflow-graph-emulator: " << server.error().what() << "\n";
    return 2;
  }
  std::ofstream log;
  if (!log_file.empty()) {
    log.open(log_file, std::ios::app);
    if (!log) {
      std::cerr << "pkiflow-graph-emulator: " << log_file << ": cannot open for appending\n";
      return 2;
    }
    (*server)->on_request(
        [&log](const emulator::LogEntry& e) { log << emulator::log_line_json(e) << std::endl; });
  }
  const std::string base = (*server)->base_url();
  std::cout << "pkiflow-graph-emulator listening on " << base << "  graph " << base
            << "/beta  token " << base << "/" << (opt.multi_tenant ? "{tenant}" : opt.tenant)
            << "/oauth2/v2.0/token" << std::endl;
  (*server)->run(true);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return emulator_main(argc, argv);
  } catch (const std::exception& e) {  // a fault of the emulator's own: said, not aborted on
    std::cerr << "pkiflow-graph-emulator: internal error: " << e.what() << "\n";
    return 70;
  }
}

// pkiflow-graph-emulator's request handling (graph-api.md 7), separate from any I/O: a
// request in, a response out, against an in-memory tenant and an injected clock. It shares no
// code with providers/ (an emulator built from the client's code would agree with the client's
// mistakes); it uses engine/pki to make the service-side keys and CSRs and to inspect uploads.
//
// It covers the token endpoint (client secret, or a client assertion verified against a
// registered certificate) and the Global Secure Access TLS-inspection CA endpoint, with faults
// injected deterministically from a seed. The CBA and Intune families come with issue 6.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pkiflow::emulator {

using TimePoint = std::chrono::system_clock::time_point;

struct Request {
  std::string method;
  std::string target;  // path and query, as on the request line
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive; "" when absent
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;
  // What the server does with it: send it, or close the connection without a response
  // (the "drop" and "lost response" faults); and how long to wait first.
  bool drop_connection = false;
  std::chrono::milliseconds delay{0};
};

// Faults, drawn per Graph request from a generator seeded by the emulator's seed, so a run with
// the same requests in the same order meets the same faults. Rates are probabilities in [0, 1].
struct Faults {
  double throttle = 0;                   // 429 with Retry-After, not applied
  double server_error = 0;               // 500, not applied
  double unavailable = 0;                // 503 with Retry-After, not applied
  double drop = 0;                       // connection closed without a response, not applied
  double lost = 0;                       // applied, then the connection closed without a response
  std::chrono::milliseconds latency{0};  // added to every Graph response
  std::string retry_after = "0.5";       // seconds; fractional like Microsoft's sample
  // Deterministic on top of the rates: the first `first_count` changes (POST, PATCH, DELETE
  // under /beta) meet `first_kind` (429, 500, 503, drop or lost), whatever the timing.
  int first_count = 0;
  std::string first_kind;
};
// Parses "429=0.2,500=0.1,503=0.1,drop=0.05,lost=0.2,latency=20,retry-after=0.3,first=lost:2".
bool parse_faults(const std::string& spec, Faults& out, std::string& error);

struct Options {
  std::string tenant = "contoso";
  // Any tenant: /{tenant}/oauth2/v2.0/token for any name, each tenant with objects of its own,
  // chosen per Graph request by the tenant its access token was issued for (a managed-service
  // provider's thousands of tenants, for the scale benchmarks and the multi-worker tests).
  bool multi_tenant = false;
  std::string client_id = "00000000-0000-4000-8000-00000000c11e";
  std::string client_secret;                         // from an environment variable or file
  std::chrono::milliseconds activation_delay{2000};  // enrolling -> active after an upload
  std::chrono::seconds token_lifetime{3599};
  bool csr_in_get = false;  // whether a GET still returns the CSR (a field report says no)
  bool name_rules = true;   // <= 12 characters, no spaces, unique, never reused
  bool code_signing_content_nulled = true;  // Intune nulls `content` once it is parsed
  std::vector<std::string> denied;  // families the app lacks permission for: gsa, cba, intune
  bool require_enable = false;      // an upload stays staged until PATCH {"status":"enabled"}
  // The service today (graph-api.md 0): an upload is staged as "disabled"; PATCH
  // {"status":"enabled"} -> enrolling -> active, and the previously live one -> disabled.
  bool staged_flow = false;
  bool ignore_filter = false;       // answer GSA lists whole, as if $filter were not supported
  int foreign = 0;                  // GSA objects made by someone else (half named like pkiflow's)
  bool gsa_404_when_empty = false;  // "Tenant TLS Tenant Settings does not exist" on an empty list
  std::size_t gsa_page_size = 100;  // GSA lists are paged with @odata.nextLink
  bool rsa_service_keys = true;     // RSA-2048 service keys, else P-256 (faster, for tests)
  // The tenant has a Microsoft-managed TLS-inspection CA (preview): listed, read-only. Without
  // it the collection answers 404, as a tenant without the preview does.
  bool gsa_managed_ca = false;
  std::string client_certificate_pem;  // registered for client assertions (PS256/RS256)
  Faults faults;
  std::string state_file;  // when set: loaded at start, rewritten (0600) after every change
};

// One line of the request log (JSON lines when written out).
struct LogEntry {
  TimePoint at;
  std::string method;
  std::string target;
  int status = 0;
  std::string request_id;
  std::string client_request_id;
  std::string fault;  // the injected fault, if any: 429, 500, 503, drop, lost
};

// One GSA object as the service holds it, for tests that check what a client touched.
struct TlsObjectView {
  std::string tenant;
  std::string id;
  std::string name;
  std::string status;
  std::string certificate;
  bool foreign = false;  // made by someone else (Options::foreign)
};

class GraphEmulator {
 public:
  GraphEmulator(Options options, std::function<TimePoint()> clock, std::uint64_t seed);
  ~GraphEmulator();
  GraphEmulator(const GraphEmulator&) = delete;
  GraphEmulator& operator=(const GraphEmulator&) = delete;

  // Thread-safe: the server thread handles while tests read the state.
  Response handle(const Request& request, LogEntry* logged = nullptr);

  std::vector<LogEntry> log() const;
  // The access tokens issued and the client assertions received (in memory only, never in the
  // log): what a test looks for in everything pkiflow wrote.
  std::vector<std::string> secrets_seen() const;
  // Over every tenant (Options::multi_tenant): live GSA objects, for exactly-once checks.
  std::size_t tls_object_count() const;
  std::vector<std::string> tls_object_names() const;
  std::vector<TlsObjectView> tls_objects() const;
  // CBA: the CAs of every PKI container (thumbprints); Intune: code-signing objects.
  std::vector<std::string> cba_thumbprints() const;
  std::size_t code_signing_count() const;
  std::size_t cba_container_count() const;  // live PKI containers
  // The tenants that have been signed in to (the default tenant first).
  std::vector<std::string> tenants() const;
  // Where clients reach it (for @odata.nextLink); the server sets it when it binds.
  void set_base_url(const std::string& url);
  // Empty, or why the state file could not be loaded (the emulator then refuses to start).
  const std::string& load_error() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

std::string log_line_json(const LogEntry& e);

}  // namespace pkiflow::emulator

// pkiflow-graph-emulator's request handling (graph-api.md 7), separate from any I/O: a
// request in, a response out, against an in-memory tenant and an injected clock. It shares no
// code with providers/ (an emulator built from the client's code would agree with the client's
// mistakes); it uses engine/pki to make the service-side keys and CSRs and to inspect uploads.
//
// This step covers the token endpoint (client secret) and the Global Secure Access
// TLS-inspection CA endpoint. Client assertions, the CBA and Intune families, fault injection,
// the socket server and HTTPS come in the next steps of issue 5.
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
};

struct Options {
  std::string tenant = "contoso";
  std::string client_id = "00000000-0000-4000-8000-00000000c11e";
  std::string client_secret;                         // from an environment variable or file
  std::chrono::milliseconds activation_delay{2000};  // enrolling -> active after an upload
  std::chrono::seconds token_lifetime{3599};
  bool csr_in_get = false;       // whether a GET still returns the CSR (a field report says no)
  bool name_rules = true;        // <= 12 characters, no spaces, unique, never reused
  bool rsa_service_keys = true;  // RSA-2048 service keys, else P-256 (faster, for tests)
};

// One line of the request log (JSON lines when written out).
struct LogEntry {
  TimePoint at;
  std::string method;
  std::string target;
  int status = 0;
  std::string request_id;
  std::string client_request_id;
};

class GraphEmulator {
 public:
  GraphEmulator(Options options, std::function<TimePoint()> clock, std::uint64_t seed);
  ~GraphEmulator();
  GraphEmulator(const GraphEmulator&) = delete;
  GraphEmulator& operator=(const GraphEmulator&) = delete;

  Response handle(const Request& request);

  const std::vector<LogEntry>& log() const;
  std::size_t tls_object_count() const;  // live GSA objects, for exactly-once checks

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

std::string log_line_json(const LogEntry& e);

}  // namespace pkiflow::emulator

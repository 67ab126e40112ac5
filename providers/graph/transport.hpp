// How Graph requests travel: the HTTPS transport (Boost.Beast over Asio with OpenSSL; keep-alive
// connections reused per host; TLS always verified; plain http:// only to loopback; one deadline
// per request; a bound on the requests in flight across a run), and the dry-run recorder that
// writes each request, redacted, and sends nothing.
//
// Both run on one Asio executor (one I/O thread); callers co_await send() from coroutines on it.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/pki/result.hpp"
#include "providers/graph/http_message.hpp"

namespace pkiflow::graph {

class AsyncSemaphore;

// What became of one attempt: a response (any status), or none and why.
struct Exchange {
  std::optional<HttpResponse> response;
  std::string error;             // no response: what failed, naming the host and the step
  bool maybe_delivered = false;  // no response, but the request may have reached the server
  bool not_sent = false;         // the dry-run recorder took it
  bool permanent = false;        // retrying cannot help (an untrusted certificate, a bad URL)
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual boost::asio::awaitable<Exchange> send(const HttpRequest& request) = 0;
  // Whether requests really leave the host (false for the dry-run recorder).
  virtual bool sends() const { return true; }
};

struct HttpsOptions {
  std::string ca_file;  // PEM trust anchors for Graph's TLS; empty = the system store
  std::chrono::milliseconds timeout{30'000};  // per request: connect, TLS, write and read
  std::size_t max_in_flight = 8;              // across every request of the transport
  // Kept for reuse per host. A run works up to 64 records at once (--concurrency), whose
  // requests come and go: with 8 kept, one request in nine opened a new connection (a TLS
  // handshake against Graph); 32 cut a 1,000-record run's connects from 781 to 121.
  std::size_t max_idle_per_host = 32;
  std::chrono::seconds max_idle{20};  // an idle connection older than this is not reused
  std::size_t max_response_bytes = std::size_t{16} * 1024 * 1024;
  // The run's deadline: no request outlasts it, and none starts after it.
  std::optional<std::chrono::steady_clock::time_point> run_deadline;
  // Shared by several transports (one per TLS trust setting) so the bound holds across a run;
  // when null the transport makes its own with max_in_flight slots.
  std::shared_ptr<AsyncSemaphore> slots;
};

// Checks the options (the CA file must load) and makes the transport.
Result<std::unique_ptr<Transport>> make_https_transport(
    const boost::asio::any_io_executor& executor, const HttpsOptions& options);

// Writes every request as one JSON line (dry_run_json: the token and secrets redacted) and
// answers "not sent".
class DryRunTransport : public Transport {
 public:
  explicit DryRunTransport(std::function<void(const std::string& line)> sink)
      : sink_(std::move(sink)) {}
  boost::asio::awaitable<Exchange> send(const HttpRequest& request) override;
  bool sends() const override { return false; }

 private:
  std::function<void(const std::string&)> sink_;
};

// `pkiflow plan`: reads go out (GET, and the sign-in requests `may_send` allows), every write is
// written as a dry-run line and answered "not sent" — the tenant is read, never changed.
class ReadOnlyTransport : public Transport {
 public:
  ReadOnlyTransport(Transport& inner, std::function<bool(const HttpRequest&)> may_send,
                    std::function<void(const std::string& line)> sink)
      : inner_(inner), may_send_(std::move(may_send)), recorder_(std::move(sink)) {}
  boost::asio::awaitable<Exchange> send(const HttpRequest& request) override;

 private:
  Transport& inner_;
  std::function<bool(const HttpRequest&)> may_send_;
  DryRunTransport recorder_;
};

// The answers of every request that left, by HTTP status ("none": no response), for the
// pkiflow_graph_requests_total metric. One executor, so no lock.
using RequestCounts = std::map<std::string, std::uint64_t>;
class CountingTransport : public Transport {
 public:
  CountingTransport(Transport& inner, std::shared_ptr<RequestCounts> counts)
      : inner_(inner), counts_(std::move(counts)) {}
  boost::asio::awaitable<Exchange> send(const HttpRequest& request) override;
  bool sends() const override { return inner_.sends(); }

 private:
  Transport& inner_;
  std::shared_ptr<RequestCounts> counts_;
};

}  // namespace pkiflow::graph

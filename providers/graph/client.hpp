// The Microsoft Graph client: app-only tokens (cached until shortly before expiry, fetched one
// at a time, refreshed once on a 401), retries by retry_policy (Retry-After honoured, back-off
// with jitter, a per-request and a per-run attempt cap), and replies a user can act on. It
// knows no lifecycle; providers build the requests and read the replies.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/pki/result.hpp"
#include "providers/graph/graph_error.hpp"
#include "providers/graph/retry_policy.hpp"
#include "providers/graph/token.hpp"
#include "providers/graph/transport.hpp"

namespace pkiflow::graph {

struct ClientConfig {
  std::string graph_base;  // e.g. https://graph.microsoft.com/beta (no trailing slash)
  std::string token_url;   // e.g. https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
  std::string scope;       // e.g. https://graph.microsoft.com/.default
  std::string tenant;      // for messages
  std::string client_id;
  // Makes the credential of one token request: the secret, or a freshly signed assertion.
  std::function<Result<ClientCredential>()> credential;
  RetryPolicy retry;
  int max_attempts_per_run = 500;  // every attempt of every request of the run
  // The run's deadline: no retry is waited for past it (run.deadline_seconds).
  std::optional<std::chrono::steady_clock::time_point> run_deadline;
  // Throttling shared with the other runs of a fleet (through the state store): before each
  // attempt the client waits out the tenant's "not before" that any run recorded, and a
  // Retry-After it meets on a 429 or 503 is recorded for the others. Unset: this run alone.
  std::function<std::optional<std::chrono::system_clock::time_point>()> shared_not_before;
  std::function<void(std::chrono::system_clock::time_point)> share_not_before;
};

// How a call ended.
enum class Outcome {
  ok,               // a 2xx response
  refused,          // a final non-2xx response that retrying will not change (4xx, or 401 twice)
  unavailable,      // no usable answer: transport failures, 5xx or throttling past the retry budget
  not_sent,         // dry run
  unauthenticated,  // no token (the credential was refused), or 403: the app lacks a permission
};

struct Reply {
  Outcome outcome = Outcome::unavailable;
  HttpResponse response;            // the last response received (status 0 when none)
  std::optional<GraphError> error;  // refused/unavailable with a Graph error body
  std::string message;              // what happened, for the operator (never a secret)
  bool maybe_applied = false;       // a mutating request may have taken effect anyway
  // With `Resend::after_read_back`: a 429/503 (not applied) handed back to the caller, which
  // reads the remote object again before it sends once more, after `retry_after` if given.
  bool throttled = false;
  std::optional<Millis> retry_after;
  int attempts = 0;
  bool ok() const { return outcome == Outcome::ok; }
  // The reply as an Error: remote (refused), unavailable, or not_sent; `what` names the call.
  Error to_error(const std::string& what) const;
};

class GraphClient {
 public:
  using Now = std::function<std::chrono::system_clock::time_point()>;
  // `jitter` returns values in [0, 1); `trace` receives one redacted line per attempt.
  GraphClient(const boost::asio::any_io_executor& ex, Transport& transport, ClientConfig config,
              Now now, std::function<double()> jitter,
              std::function<void(const std::string&)> trace = nullptr);
  ~GraphClient();

  const std::string& base() const { return config_.graph_base; }
  const ClientConfig& config() const { return config_; }
  bool sends() const { return transport_.sends(); }

  // A usable token (cached); an error from the token endpoint names error, description and
  // trace id. The token itself is never logged.
  boost::asio::awaitable<Result<AccessToken>> token();

  // Sends with retries. A `mutating` request (one that creates something) is not resent after
  // an ambiguous failure (no response after it may have been delivered, or a 500/502/504):
  // the reply says maybe_applied and the caller reads back before trying again (graph-api.md 5).
  // `resend`: by the client (the default), or only after the caller looked again: a create
  // that another worker may have made meanwhile is read back before it is sent once more.
  enum class Resend { by_client, after_read_back };
  boost::asio::awaitable<Reply> call(HttpRequest request, bool mutating,
                                     Resend resend = Resend::by_client);

  int attempts_used() const { return attempts_used_; }

 private:
  boost::asio::awaitable<void> sleep(Millis delay);
  std::optional<std::string> deadline_first(Millis delay) const;
  boost::asio::awaitable<Result<AccessToken>> fetch_token();
  double jitter() { return jitter_ ? jitter_() : 0.5; }
  void note(const std::string& line) {
    if (trace_) trace_(line);
  }

  boost::asio::any_io_executor ex_;
  Transport& transport_;
  ClientConfig config_;
  Now now_;
  std::function<double()> jitter_;
  std::function<void(const std::string&)> trace_;
  std::optional<AccessToken> token_;
  struct TokenLock;
  std::unique_ptr<TokenLock> token_lock_;
  int attempts_used_ = 0;
};

}  // namespace pkiflow::graph

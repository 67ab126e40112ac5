// When to retry a Graph or token request (graph-api.md 5): 429, 503 and 504 honour Retry-After
// (seconds, possibly fractional, or an HTTP-date); other 5xx, 408, timeouts and resets back off
// exponentially with jitter; other 4xx are never retried; a per-run attempt cap ends it all.
// Pure functions of their inputs, so tests pin every case.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pkiflow::graph {

using Millis = std::chrono::milliseconds;

// Parses a Retry-After value at `now`. nullopt when absent or malformed (then the caller backs
// off instead). A date in the past gives zero.
std::optional<Millis> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now);

struct RetryPolicy {
  int max_attempts = 6;             // attempts per request, the first included
  Millis base{500};                 // first back-off
  Millis cap{30'000};               // longest back-off
  Millis max_retry_after{300'000};  // the longest Retry-After the run will wait for
};

struct RetryDecision {
  bool retry = false;
  Millis delay{0};
  std::string reason;  // why it retries or gives up, for the log and the error
};

// `status` is the HTTP status of the attempt that just ended, or 0 for a transport failure
// (timeout, reset, refused). `attempt` counts from 1. `jitter` in [0, 1).
RetryDecision decide_retry(const RetryPolicy& policy, int attempt, int status,
                           std::optional<Millis> retry_after, double jitter);

}  // namespace pkiflow::graph

#include "providers/graph/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine/pki/time_format.hpp"

namespace pkiflow::graph {

namespace {

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view v) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Www, DD Mon YYYY HH:MM:SS GMT": 29 characters, each where it belongs.
  if (v.size() != 29 || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
      v[19] != ':' || v[22] != ':' || v.substr(25) != " GMT")
    return std::nullopt;
  const int day = pki::fixed_digits(v, 5, 2), year = pki::fixed_digits(v, 12, 4),
            h = pki::fixed_digits(v, 17, 2), m = pki::fixed_digits(v, 20, 2),
            s = pki::fixed_digits(v, 23, 2);
  int month = -1;
  for (int i = 0; i < 12; ++i)
    if (v.substr(8, 3) == kMonths[i]) month = i;
  if (month < 0 || day < 1 || day > 31 || year < 0 || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 ||
      s > 60)
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month + 1)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return pki::clamped_time_point(sys_days{ymd} + hours{h} + minutes{m} + seconds{s});
}

}  // namespace

std::optional<Millis> parse_retry_after(std::string_view value,
                                        std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    // delta-seconds; Graph also sends fractions ("2.128").
    std::string text(value);
    char* end = nullptr;
    double secs = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(secs) || secs < 0) return std::nullopt;
    // Years: still "wait longer than any run", never ignored (that would mean retrying now).
    secs = std::min(secs, 86'400.0 * 365);
    return Millis(static_cast<std::int64_t>(std::ceil(secs * 1000.0)));
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return Millis(0);
  return std::chrono::duration_cast<Millis>(*when - now);
}

RetryDecision decide_retry(const RetryPolicy& policy, int attempt, int status,
                           std::optional<Millis> retry_after, double jitter) {
  RetryDecision d;
  const bool throttled = status == 429 || status == 503 || status == 504;
  const bool transient = status == 0 || status == 408 || (status >= 500 && status <= 599);
  if (status >= 200 && status < 400) {
    d.reason = "success";
    return d;
  }
  if (!throttled && !transient) {
    d.reason = "HTTP " + std::to_string(status) + " is not retried";
    return d;
  }
  if (attempt >= policy.max_attempts) {
    d.reason = "gave up after " + std::to_string(attempt) + " attempts";
    return d;
  }
  if (throttled && retry_after) {
    if (*retry_after > policy.max_retry_after) {
      d.reason = "the service asked to wait " + std::to_string(retry_after->count() / 1000) +
                 " s, more than this run waits (" +
                 std::to_string(policy.max_retry_after.count() / 1000) + " s)";
      return d;
    }
    d.retry = true;
    d.delay = *retry_after;
    d.reason = "HTTP " + std::to_string(status) + ", Retry-After " +
               std::to_string(retry_after->count()) + " ms";
    return d;
  }
  const double raw =
      static_cast<double>(policy.base.count()) * std::pow(2.0, std::min(attempt - 1, 30));
  const double capped = std::min(raw, static_cast<double>(policy.cap.count()));
  d.retry = true;
  d.delay =
      Millis(static_cast<std::int64_t>(capped * (0.5 + 0.5 * std::clamp(jitter, 0.0, 0.999999))));
  d.reason = (status == 0 ? std::string("transport failure") : "HTTP " + std::to_string(status)) +
             ", backing off " + std::to_string(d.delay.count()) + " ms";
  return d;
}

}  // namespace pkiflow::graph

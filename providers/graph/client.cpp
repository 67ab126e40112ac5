// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/graph/client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "providers/graph/async_semaphore.hpp"

namespace pkiflow::graph {

namespace net = boost::asio;

struct GraphClient::TokenLock {
  explicit TokenLock(net::any_io_executor ex) : sem(std::move(ex), 1) {}
  AsyncSemaphore sem;
};

namespace {

void set_header(HttpRequest& r, const std::string& name, const std::string& value) {
  for (auto& [k, v] : r.headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      v = value;
      return;
    }
  r.headers.emplace_back(name, value);
}

bool ambiguous_status(int status) {  // the change may have been applied before the error
  return status == 500 || status == 502 || status == 504;
}

std::string where(const HttpRequest& r) {
  return r.method + " " + r.url;
}

}  // namespace

Error Reply::to_error(const std::string& what) const {
  switch (outcome) {
    case Outcome::ok:
      return Error(ErrorKind::invalid_input, what, "not an error");
    case Outcome::refused:
      return Error(ErrorKind::remote, what, message);
    case Outcome::not_sent:
      return Error(ErrorKind::not_sent, what, message);
    case Outcome::unauthenticated:
      return Error(ErrorKind::auth, what, message);
    case Outcome::unavailable:
      break;
  }
  return Error(ErrorKind::unavailable, what, message);
}

GraphClient::GraphClient(const net::any_io_executor& ex, Transport& transport, ClientConfig config,
                         Now now, std::function<double()> jitter,
                         std::function<void(const std::string&)> trace)
    : ex_(ex),
      transport_(transport),
      config_(std::move(config)),
      now_(std::move(now)),
      jitter_(std::move(jitter)),
      trace_(std::move(trace)),
      token_lock_(std::make_unique<TokenLock>(ex)) {}

GraphClient::~GraphClient() = default;

// Why a retry after `delay` is not waited for: it would end past the run's deadline.
std::optional<std::string> GraphClient::deadline_first(Millis delay) const {
  if (!config_.run_deadline || std::chrono::steady_clock::now() + delay < *config_.run_deadline)
    return std::nullopt;
  return "not retried: the run's deadline (run.deadline_seconds) comes first";
}

net::awaitable<void> GraphClient::sleep(Millis delay) {
  if (delay.count() <= 0) co_return;
  net::steady_timer t(ex_, delay);
  boost::system::error_code ec;
  co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<Result<AccessToken>> GraphClient::token() {
  if (token_usable(token_, now_())) co_return *token_;
  auto permit = co_await token_lock_->sem.acquire();    // one fetch at a time
  if (token_usable(token_, now_())) co_return *token_;  // another coroutine fetched it
  auto fetched = co_await fetch_token();
  if (fetched) token_ = *fetched;
  co_return fetched;
}

net::awaitable<Result<AccessToken>> GraphClient::fetch_token() {
  const std::string subject =
      "token for tenant " + config_.tenant + ", client " + config_.client_id;
  auto credential =
      config_.credential
          ? config_.credential()
          : Result<ClientCredential>(Error(ErrorKind::invalid_input, subject, "no credential"));
  if (!credential) co_return credential.error();
  auto rng = pki::Rng::system();
  HttpRequest req = token_request(config_.token_url, config_.client_id, config_.scope, *credential,
                                  pki::random_guid(rng));
  for (int attempt = 1;; ++attempt) {
    if (++attempts_used_ > config_.max_attempts_per_run)
      co_return Error(ErrorKind::unavailable, subject,
                      "the run's attempt cap (" + std::to_string(config_.max_attempts_per_run) +
                          ") is used up");
    Exchange ex = co_await transport_.send(req);
    if (ex.not_sent) co_return Error(ErrorKind::not_sent, subject, ex.error);
    if (ex.response) {
      note("POST " + config_.token_url + " -> " + std::to_string(ex.response->status));
      auto parsed = parse_token_response(*ex.response, now_());
      if (parsed.token) co_return *parsed.token;
      const int status = ex.response->status;
      const TokenError te = parsed.error ? *parsed.error : parse_token_error(status, "");
      const auto* ra = ex.response->header("Retry-After");
      auto d = decide_retry(config_.retry, attempt, status,
                            ra ? parse_retry_after(*ra, now_()) : std::nullopt, jitter());
      if (!d.retry) {
        const bool permanent = status >= 400 && status < 500 && status != 408 && status != 429;
        co_return Error(permanent ? ErrorKind::auth : ErrorKind::unavailable, subject,
                        te.describe() + (permanent ? "" : "; " + d.reason));
      }
      if (auto why = deadline_first(d.delay))
        co_return Error(ErrorKind::unavailable, subject, te.describe() + "; " + *why);
      co_await sleep(d.delay);
      continue;
    }
    note("POST " + config_.token_url + " -> no response: " + ex.error);
    if (ex.permanent) co_return Error(ErrorKind::unavailable, subject, ex.error);
    auto d = decide_retry(config_.retry, attempt, 0, std::nullopt, jitter());
    if (!d.retry) co_return Error(ErrorKind::unavailable, subject, ex.error + "; " + d.reason);
    if (auto why = deadline_first(d.delay))
      co_return Error(ErrorKind::unavailable, subject, ex.error + "; " + *why);
    co_await sleep(d.delay);
  }
}

net::awaitable<Reply> GraphClient::call(HttpRequest request, bool mutating, Resend resend) {
  Reply reply;
  set_header(request, "Prefer", "include-unknown-enum-members");
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    if (attempts_used_ >= config_.max_attempts_per_run) {
      reply.outcome = Outcome::unavailable;
      reply.message = "the run's attempt cap (" + std::to_string(config_.max_attempts_per_run) +
                      ") is used up before " + where(request);
      co_return reply;
    }
    if (transport_.sends() && config_.shared_not_before) {
      // Another run of the fleet was told to wait for this tenant: so does this one.
      if (auto nb = config_.shared_not_before(); nb && *nb > now_()) {
        const auto wait = std::chrono::duration_cast<Millis>(*nb - now_());
        std::optional<std::string> why;
        if (wait > config_.retry.max_retry_after)
          why = "longer than run.max_retry_after_seconds";
        else
          why = deadline_first(wait);
        if (why) {
          reply.outcome = Outcome::unavailable;
          reply.message = "Graph throttles tenant " + config_.tenant + " for another " +
                          std::to_string(wait.count() / 1000) + " s (seen by a run of the " +
                          "fleet); not waited for: " + *why;
          co_return reply;
        }
        note(where(request) + ": waits " + std::to_string(wait.count()) +
             " ms: the tenant is throttled (seen by a run of the fleet)");
        co_await sleep(wait);
      }
    }
    if (transport_.sends()) {
      auto tok = co_await token();
      if (!tok) {
        reply.outcome = tok.error().kind() == ErrorKind::unavailable ? Outcome::unavailable
                        : tok.error().kind() == ErrorKind::not_sent  ? Outcome::not_sent
                                                                     : Outcome::unauthenticated;
        reply.message = tok.error().what();
        co_return reply;
      }
      set_header(request, "Authorization", "Bearer " + tok->value);
    } else {
      set_header(request, "Authorization", "Bearer ***");
    }
    ++attempts_used_;
    reply.attempts = attempt;
    Exchange ex = co_await transport_.send(request);
    if (ex.not_sent) {
      reply.outcome = Outcome::not_sent;
      reply.message = ex.error;
      co_return reply;
    }
    if (!ex.response) {
      note(where(request) + " -> no response: " + ex.error);
      if (mutating && ex.maybe_delivered) {
        reply.outcome = Outcome::unavailable;
        reply.maybe_applied = true;
        reply.message = ex.error + " (the request may have been applied)";
        co_return reply;
      }
      if (ex.permanent) {
        reply.outcome = Outcome::unavailable;
        reply.message = ex.error;
        co_return reply;
      }
      auto d = decide_retry(config_.retry, attempt, 0, std::nullopt, jitter());
      if (auto why = d.retry ? deadline_first(d.delay) : std::nullopt) {
        d.retry = false;
        d.reason = *why;
      }
      if (!d.retry) {
        reply.outcome = Outcome::unavailable;
        reply.message = ex.error + "; " + d.reason;
        co_return reply;
      }
      co_await sleep(d.delay);
      continue;
    }
    reply.response = std::move(*ex.response);
    const int status = reply.response.status;
    const auto* rid = reply.response.header("request-id");
    note(where(request) + " -> " + std::to_string(status) +
         (rid ? " (request-id " + *rid + ")" : std::string()));
    if (status >= 200 && status < 300) {
      reply.outcome = Outcome::ok;
      reply.error.reset();
      reply.message.clear();
      co_return reply;
    }
    if (status >= 300 && status < 400) {  // Graph never redirects these calls: a proxy does
      const auto* to = reply.response.header("Location");
      std::string where_to = to ? to->substr(0, 120) : std::string("nowhere");
      for (auto& ch : where_to)  // the server's text goes to logs and the store: printable only
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f)
          ch = '?';
      reply.outcome = Outcome::unavailable;
      reply.message = "Graph answered " + std::to_string(status) + " (a redirect to " + where_to +
                      "); pkiflow follows no redirect, so the token stays with " +
                      config_.graph_base;
      co_return reply;
    }
    reply.error = parse_graph_error(status, reply.response.body, rid ? *rid : "");
    if (status == 401 && !refreshed) {  // the token may have been revoked or rotated: once
      refreshed = true;
      token_.reset();
      --attempt;
      continue;
    }
    reply.message = reply.error->describe();
    if (status == 403) {  // the app may sign in but not do this: a tenant setting, not a record's
      reply.outcome = Outcome::unauthenticated;
      reply.message +=
          "; the app registration lacks the application permission for this endpoint "
          "(NetworkAccess.ReadWrite.All, PublicKeyInfrastructure.ReadWrite.All or "
          "DeviceManagementApps.ReadWrite.All, with admin consent)";
      co_return reply;
    }
    if (mutating && ambiguous_status(status)) {
      reply.outcome = Outcome::unavailable;
      reply.maybe_applied = true;
      reply.message += " (the request may have been applied)";
      co_return reply;
    }
    const auto* ra = reply.response.header("Retry-After");
    if ((status == 429 || status == 503) && ra && config_.share_not_before)
      if (auto wait = parse_retry_after(*ra, now_()); wait && wait->count() > 0)
        config_.share_not_before(now_() + *wait);
    if (resend == Resend::after_read_back && (status == 429 || status == 503)) {
      reply.outcome = Outcome::unavailable;
      reply.throttled = true;
      if (ra) reply.retry_after = parse_retry_after(*ra, now_());
      reply.message += " (throttled; not applied)";
      co_return reply;
    }
    auto d = decide_retry(config_.retry, attempt, status,
                          ra ? parse_retry_after(*ra, now_()) : std::nullopt, jitter());
    if (auto why = d.retry ? deadline_first(d.delay) : std::nullopt) {
      d.retry = false;
      d.reason = *why;
    }
    if (!d.retry) {
      const bool permanent = status < 500 && status != 408 && status != 429;
      reply.outcome = permanent ? Outcome::refused : Outcome::unavailable;
      if (!permanent) reply.message += "; " + d.reason;
      co_return reply;
    }
    note(where(request) + ": " + d.reason);
    co_await sleep(d.delay);
  }
}

}  // namespace pkiflow::graph

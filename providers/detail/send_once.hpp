// A mutating step that is never sent blindly twice (DESIGN.md, "Read back before re-sending"):
// before each attempt `settled` reads the remote object back and says whether the step's effect
// is already there (a value: adopt it) or not (nullopt: send the request, journaled). An
// ambiguous failure (no answer after the request may have been delivered, or 500/502/504) leads
// to another read-back, never straight to a re-send; so does throttling (429/503): the object
// is looked for again after the wait, since another worker may have made it. The same idea in every
// provider, so one helper. Internal to the providers (not installed).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::providers::detail {

template <class T>
struct SendOnce {
  std::string action;   // the journal's name for the step
  std::string what;     // the step, for messages ("upload to 1234")
  std::string subject;  // who is waiting for it ("record ABC")
  int rounds = 3;       // ambiguous failures before the step waits for the next run
  int throttles = 5;    // throttled answers waited out before the same
  std::function<boost::asio::awaitable<Result<std::optional<T>>>()> settled;
  std::function<graph::HttpRequest()> request;
  std::function<boost::asio::awaitable<Result<T>>(const graph::Reply&)> done;  // after a 2xx
  std::function<Error(const graph::Reply&)> refused;  // optional wording of a refusal
  // The object is this record's alone, and the step just read it (GSA upload and enable): with
  // no earlier attempt of `action` in the journal nothing of ours can be there yet, so the
  // first round sends without reading back (one GET less per step). Any attempt since, even one
  // that failed, brings the read back.
  bool read_back_only_after_an_attempt = false;
};

template <class T>
boost::asio::awaitable<Result<T>> send_once(graph::GraphClient& client, Journal& journal,
                                            SendOnce<T> s) {
  int throttled = 0;
  bool read_back = true;
  if (s.read_back_only_after_an_attempt) {
    const auto earlier = journal.earlier();
    read_back = std::any_of(earlier.begin(), earlier.end(),
                            [&](const state::Operation& op) { return op.action == s.action; });
  }
  for (int round = 0; round < s.rounds; ++round) {
    if (read_back) {
      auto there = co_await s.settled();
      if (!there) co_return there.error();
      if (*there) co_return std::move(**there);
    }
    read_back = true;
    auto req = s.request();
    auto op = co_await journal.begin(s.action, req);
    if (!op) co_return op.error();
    auto reply =
        co_await client.call(req, /*mutating=*/true, graph::GraphClient::Resend::after_read_back);
    if (reply.throttled && throttled++ < s.throttles) {
      journal.end(*op, state::OperationState::failed, reply.message);
      const auto wait = std::clamp(reply.retry_after.value_or(std::chrono::milliseconds(1000)),
                                   std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, wait);
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      --round;  // not an ambiguous round: look again, then send again
      continue;
    }
    if (reply.ok()) {
      journal.end(*op, state::OperationState::done, std::to_string(reply.response.status));
      co_return co_await s.done(reply);
    }
    if (reply.outcome == graph::Outcome::not_sent) co_return reply.to_error(s.what);
    if (!reply.maybe_applied) {
      journal.end(*op, state::OperationState::failed, reply.message);
      if (reply.outcome == graph::Outcome::refused && s.refused) co_return s.refused(reply);
      co_return reply.to_error(s.what);
    }
    journal.end(*op, state::OperationState::failed, "ambiguous: read back before anything else");
  }
  co_return Error(ErrorKind::unavailable, s.subject,
                  s.what + " ended without an answer " + std::to_string(s.rounds) +
                      " times; the next run reads the remote object back first");
}

}  // namespace pkiflow::providers::detail

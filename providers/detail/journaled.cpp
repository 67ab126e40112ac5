// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/detail/journaled.hpp"

namespace pkiflow::providers::detail {

boost::asio::awaitable<Result<graph::Reply>> journaled(graph::GraphClient& client,
                                                       graph::HttpRequest request,
                                                       const std::string& action, Journal& journal,
                                                       const std::string& what, bool gone_ok) {
  auto op = co_await journal.begin(action, request);
  if (!op) co_return op.error();
  auto reply = co_await client.call(std::move(request), /*mutating=*/false);
  if (reply.ok() ||
      (gone_ok && reply.outcome == graph::Outcome::refused && reply.response.status == 404)) {
    journal.end(*op, state::OperationState::done, std::to_string(reply.response.status));
    co_return reply;
  }
  if (reply.outcome != graph::Outcome::not_sent)
    journal.end(*op, state::OperationState::failed, reply.message);
  co_return reply.to_error(what);
}

}  // namespace pkiflow::providers::detail

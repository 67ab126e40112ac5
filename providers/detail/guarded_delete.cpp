// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/detail/guarded_delete.hpp"

#include "providers/detail/journaled.hpp"
#include "providers/graph/detail/json_calls.hpp"

namespace pkiflow::providers::detail {

using graph::detail::json_request;

boost::asio::awaitable<Status> guarded_delete(graph::GraphClient& client, const std::string& url,
                                              const std::string& action, Journal& journal,
                                              const std::string& what, const Ownership& ours,
                                              std::function<std::string()> crid) {
  auto read = co_await client.call(json_request("GET", url, "", crid()), false);
  // A dry run reads nothing back: it shows the DELETE that follows when the object proves to
  // be this record's.
  if (read.outcome != graph::Outcome::not_sent) {
    if (read.outcome == graph::Outcome::refused && read.response.status == 404) co_return Ok{};
    if (!read.ok()) co_return read.to_error("read " + what + " before deleting it");
    auto object = nlohmann::ordered_json::parse(read.response.body, nullptr, false);
    if (!object.is_object())
      co_return Error(ErrorKind::parse, what,
                      "the service's answer is not a JSON object; not deleted");
    if (auto st = ours(object); !st)
      co_return Error(ErrorKind::remote, what,
                      st.error().message() +
                          "; pkiflow deletes only objects it can prove are this record's, so it "
                          "was left alone");
  }
  auto done = co_await journaled(client, json_request("DELETE", url, "", crid()), action, journal,
                                 "delete " + what, /*gone_ok=*/true);
  if (!done) co_return done.error();
  co_return Ok{};
}

}  // namespace pkiflow::providers::detail

// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/graph/detail/json_calls.hpp"

#include <set>

namespace pkiflow::graph::detail {

HttpRequest json_request(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& crid) {
  HttpRequest r{method, url, {{"client-request-id", crid}}, body};
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

boost::asio::awaitable<Result<std::vector<json>>> get_all(GraphClient& client, std::string url,
                                                          std::function<std::string()> crid,
                                                          const std::string& what,
                                                          bool missing_is_empty) {
  std::vector<json> out;
  // Every page is read (a partial list would make a record's own object look absent), but not
  // forever: a link back to a page already read, or more pages than any tenant has, is an error.
  constexpr int kMaxPages = 1000;
  std::set<std::string> seen;
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxPages)
      co_return Error(ErrorKind::remote, what,
                      "the service's answer runs past " + std::to_string(kMaxPages) +
                          " pages; the list was not used");
    if (!seen.insert(url).second)
      co_return Error(ErrorKind::remote, what,
                      "the service's @odata.nextLink loops back to a page already read (" +
                          url.substr(0, 80) + "); the list was not used");
    auto reply = co_await client.call(json_request("GET", url, "", crid()), false);
    if (page == 0 && missing_is_empty && reply.outcome == Outcome::refused &&
        reply.response.status == 404)
      co_return out;
    if (!reply.ok()) co_return reply.to_error(what);
    auto next = read_page(reply.response.body, out, what);
    if (!next) co_return next.error();
    url = std::move(*next);
    if (!url.empty() && !same_origin(url, client.base()))
      co_return Error(ErrorKind::remote, what,
                      "the service's @odata.nextLink points to another host (" + url.substr(0, 80) +
                          "); not followed, the token stays here");
  }
  co_return out;
}

}  // namespace pkiflow::graph::detail

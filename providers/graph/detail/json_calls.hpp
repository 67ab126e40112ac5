// Small pieces the providers share for JSON endpoints: building a JSON request and reading every
// page of a collection (the reading itself: json_reading.hpp). Internal (not installed): it
// exposes nlohmann::json.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"
#include "providers/graph/client.hpp"
#include "providers/graph/detail/json_reading.hpp"

namespace pkiflow::graph::detail {

// A request with a JSON body (Content-Type set when there is one) and its client-request-id.
HttpRequest json_request(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& client_request_id);
// GET `url` and every @odata.nextLink after it (on the same origin); the items of every page's
// `value`.
// `missing_is_empty`: a 404 on the first page is an empty collection (GSA on a tenant without
// TLS settings, graph-api.md 0).
boost::asio::awaitable<Result<std::vector<json>>> get_all(GraphClient& client, std::string url,
                                                          std::function<std::string()> crid,
                                                          const std::string& what,
                                                          bool missing_is_empty = false);

}  // namespace pkiflow::graph::detail

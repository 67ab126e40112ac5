// Small pieces the providers share for JSON endpoints: reading a string member safely, building
// a JSON request, the CN of a name, and reading every page of a collection. Internal (not
// installed): it exposes nlohmann::json.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"
#include "providers/graph/client.hpp"

namespace pkiflow::graph::detail {

using json = nlohmann::ordered_json;

// A string member, or "" when it is missing, null or not a string.
std::string str(const json& j, const char* key);
// The CN of an RFC 4514 name ("" when it has none).
std::string common_name(const std::string& dn);
// A request with a JSON body (Content-Type set when there is one) and its client-request-id.
HttpRequest json_request(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& client_request_id);
// Whether `url` has the scheme, host and port of `base` (a nextLink elsewhere would take the
// bearer token with it).
bool same_origin(const std::string& url, const std::string& base);
// GET `url` and every @odata.nextLink after it (on the same origin); the items of every page's
// `value`.
// `missing_is_empty`: a 404 on the first page is an empty collection (GSA on a tenant without
// TLS settings, graph-api.md 0).
boost::asio::awaitable<Result<std::vector<json>>> get_all(GraphClient& client, std::string url,
                                                          std::function<std::string()> crid,
                                                          const std::string& what,
                                                          bool missing_is_empty = false);

}  // namespace pkiflow::graph::detail

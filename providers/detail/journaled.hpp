// A Graph call journaled around: the operation is recorded before the request leaves and closed
// after it (done, or failed with the reason; a dry run leaves nothing open). Internal to the
// providers (not installed).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <string>

#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::providers::detail {

// The reply of a 2xx (or, with `gone_ok`, of a 404: a DELETE of something already gone), else
// the reply's error about `what`. Not for creates: they need the read-back of an ambiguous
// failure, which only their provider knows how to do.
boost::asio::awaitable<Result<graph::Reply>> journaled(graph::GraphClient& client,
                                                       graph::HttpRequest request,
                                                       const std::string& action, Journal& journal,
                                                       const std::string& what,
                                                       bool gone_ok = false);

}  // namespace pkiflow::providers::detail

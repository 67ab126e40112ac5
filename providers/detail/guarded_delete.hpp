// The one path by which a provider deletes a remote object (DESIGN.md, "Touch only what is
// provably ours"). Deleting is the most dangerous thing pkiflow does, so it reads the object
// first and deletes it only when `ours` proves, from what the service holds now, that it is the
// object this record created or uploaded (its journaled name, its thumbprint, its subject,
// issuer and expiry). An object that is already gone counts as deleted. Internal (not
// installed).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::providers::detail {

// Ok when the object proves to be this record's; otherwise the reason it is not (nothing is
// deleted, and the error names the object).
using Ownership = std::function<Status(const nlohmann::ordered_json& object)>;

// GET `url`; 404 -> Ok (already gone); `ours` refuses -> that error, nothing sent; else the
// DELETE, journaled as `action`.
boost::asio::awaitable<Status> guarded_delete(graph::GraphClient& client, const std::string& url,
                                              const std::string& action, Journal& journal,
                                              const std::string& what, const Ownership& ours,
                                              std::function<std::string()> crid);

}  // namespace pkiflow::providers::detail

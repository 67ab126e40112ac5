// Reading what Graph returns, with no I/O: a string member read safely, the CN of a name, whether
// a link stays on Graph's origin, one page of a collection. Internal (not installed): it exposes
// nlohmann::json. The fuzz targets reach it (tests/fuzz/fuzz_graph.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::graph::detail {

using json = nlohmann::ordered_json;

// A string member, or "" when it is missing, null or not a string.
std::string str(const json& j, const char* key);
// The CN of an RFC 4514 name ("" when it has none).
std::string common_name(const std::string& dn);
// Whether `url` has the scheme, host and port of `base` (a nextLink elsewhere would take the
// bearer token with it).
bool same_origin(const std::string& url, const std::string& base);
// One page of a collection: the items of its `value` appended to `out`, and its @odata.nextLink
// ("" on the last page). A body that is not a JSON object is an error naming `what`.
Result<std::string> read_page(std::string_view body, std::vector<json>& out,
                              const std::string& what);

}  // namespace pkiflow::graph::detail

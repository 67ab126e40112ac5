// JSON text for output, request bodies and stored documents. Strings that come from
// certificates, CSRs or the service may hold bytes that are not UTF-8 (a T61String subject, a
// crafted name); nlohmann's dump() throws on them. Here such bytes become U+FFFD, so a report
// or a request is written instead of the program stopping.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pkiflow {

template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pkiflow

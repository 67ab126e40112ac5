// RFC 3339 times, as `--at` takes them and reports print them (always UTC, "Z").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

std::string format_rfc3339(std::chrono::system_clock::time_point t);
// Accepts "2026-11-25T09:00:00Z", fractional seconds, and "+hh:mm"/"-hh:mm" offsets.
Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace pkiflow::pki

// RFC 3339 times, as `--at` takes them and reports print them (always UTC, "Z").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

std::string format_rfc3339(std::chrono::system_clock::time_point t);
// Accepts "2026-11-25T09:00:00Z", fractional seconds, and "+hh:mm"/"-hh:mm" offsets; a year
// outside 1678-2261 (what a time point holds) is refused.
Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// A time in whole seconds as a time point, clamped to the time point's range (1677-2262): a
// certificate "valid until 9999-12-31" is valid until the end of that range, never overflows.
std::chrono::system_clock::time_point clamped_time_point(std::chrono::sys_seconds t);

// The number written by exactly `n` ASCII digits at `pos` of `s`; -1 when any is missing or not a
// digit (no sign, no space: what sscanf's %d would let through).
int fixed_digits(std::string_view s, std::size_t pos, std::size_t n);

}  // namespace pkiflow::pki

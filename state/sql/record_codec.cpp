#include "state/sql/record_codec.hpp"

#include <algorithm>
#include <limits>

namespace pkiflow::state::sql {

std::int64_t to_millis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_millis(std::int64_t ms) {
  // A value edited by hand (or from a damaged file) must not overflow the clock's nanoseconds:
  // it is clamped to what the clock can hold (about the years 1678 to 2262).
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 1'000'000 - 1;
  ms = std::clamp<std::int64_t>(ms, -kLimit, kLimit);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace pkiflow::state::sql

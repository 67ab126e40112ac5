#include "engine/pki/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace pkiflow::pki {

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorKind::invalid_input, "time",
                 "'" + std::string(text) + "' is not an RFC 3339 time (e.g. 2026-11-25T09:00:00Z)");
  };
  int y, mo, d, h, mi, s;
  int consumed = 0;
  std::string str(text);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
          6 ||
      consumed != 19)
    return bad();
  for (std::size_t k : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (!std::isdigit(static_cast<unsigned char>(str[k]))) return bad();
  if (y < 1678 || y > 2261)
    return Error(ErrorKind::invalid_input, "time",
                 "'" + std::string(text) + "' is outside the years pkiflow handles (1678-2261)");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  size_t pos = 19;
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    while (pos < str.size() && std::isdigit(static_cast<unsigned char>(str[pos])))
      ++pos;
  }
  long offset = 0;
  if (pos < str.size() && (str[pos] == 'Z' || str[pos] == 'z')) {
    ++pos;
  } else if (pos < str.size() && (str[pos] == '+' || str[pos] == '-')) {
    int oh, om;
    if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return bad();
    offset = (oh * 3600L + om * 60L) * (str[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != str.size()) return bad();
  using namespace std::chrono;
  auto ymd =
      year_month_day{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad();
  return clamped_time_point(sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} - seconds{offset});
}

std::chrono::system_clock::time_point clamped_time_point(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  using tp = system_clock::time_point;
  constexpr auto hi = time_point_cast<seconds>(tp::max());
  constexpr auto lo = time_point_cast<seconds>(tp::min());
  if (t >= hi) return tp::max();
  if (t <= lo) return tp::min();
  return time_point_cast<system_clock::duration>(t);
}

}  // namespace pkiflow::pki

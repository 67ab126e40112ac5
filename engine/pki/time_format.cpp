#include "engine/pki/time_format.hpp"

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
  // YYYY-MM-DDTHH:MM:SS, every digit where it belongs.
  const std::string_view str = text;
  if (str.size() < 19 || str[4] != '-' || str[7] != '-' || (str[10] != 'T' && str[10] != 't') ||
      str[13] != ':' || str[16] != ':')
    return bad();
  const int y = fixed_digits(str, 0, 4), mo = fixed_digits(str, 5, 2), d = fixed_digits(str, 8, 2),
            h = fixed_digits(str, 11, 2), mi = fixed_digits(str, 14, 2),
            s = fixed_digits(str, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return bad();
  if (y < 1678 || y > 2261)
    return Error(ErrorKind::invalid_input, "time",
                 "'" + std::string(text) + "' is outside the years pkiflow handles (1678-2261)");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  size_t pos = 19;
  if (pos < str.size() && str[pos] == '.') {
    const std::size_t first = ++pos;
    while (pos < str.size() && std::isdigit(static_cast<unsigned char>(str[pos])))
      ++pos;
    if (pos == first) return bad();  // a fraction has at least one digit
  }
  long offset = 0;
  if (pos < str.size() && (str[pos] == 'Z' || str[pos] == 'z')) {
    ++pos;
  } else if (pos < str.size() && (str[pos] == '+' || str[pos] == '-')) {
    const int oh = fixed_digits(str, pos + 1, 2), om = fixed_digits(str, pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 3 >= str.size() || str[pos + 3] != ':' || oh > 23 || om > 59)
      return bad();
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

int fixed_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos > s.size() || s.size() - pos < n || n == 0 || n > 9) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace pkiflow::pki

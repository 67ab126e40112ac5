#include "engine/renewal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "engine/pki/time_format.hpp"

namespace pkiflow::engine {

using std::chrono::seconds;

Result<seconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorKind::invalid_input, "duration",
                 "\"" + std::string(text) + "\" is not a duration: a whole number and a unit, " +
                     "d, h, m or s (e.g. 30d, 12h)");
  };
  if (text.size() < 2) return bad();
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos || digits.size() > 7)
    return bad();
  const long long n = std::stoll(std::string(digits));
  switch (unit) {
    case 'd':
      return seconds(n * 86'400);
    case 'h':
      return seconds(n * 3'600);
    case 'm':
      return seconds(n * 60);
    case 's':
      return seconds(n);
    default:
      return bad();
  }
}

std::string format_duration(seconds d) {
  const long long s = d.count();
  if (s % 86'400 == 0) return std::to_string(s / 86'400) + "d";
  if (s % 3'600 == 0) return std::to_string(s / 3'600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

namespace {

// FNV-1a of the id, as a fraction in [0, 1): the same record always gets the same jitter.
double stable_fraction(std::string_view id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // FNV-1a alone moves a last-character difference only into the middle bits: "REC0".."REC199"
  // landed within a second or so of 20 points. splitmix64's finaliser spreads it over all 64.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53);
}

std::string fraction_text(double f) {
  if (std::abs(f - 2.0 / 3.0) < 1e-9) return "2/3";
  if (std::abs(f - 1.0 / 2.0) < 1e-9) return "1/2";
  return std::to_string(static_cast<int>(std::lround(f * 100))) + "%";
}

}  // namespace

RenewalTime renewal_time(TimePoint not_before, TimePoint not_after, const RenewalPolicy& policy,
                         std::string_view record_id) {
  // In seconds: a certificate's times span what system_clock holds (1677-2262, time_point_of
  // clamps), and the difference of two far-apart ones does not fit in nanoseconds.
  using std::chrono::seconds;
  const auto nb = std::chrono::floor<seconds>(not_before);
  const auto na = std::chrono::floor<seconds>(not_after);
  const seconds lifetime = std::max(na - nb, seconds::zero());
  auto at = nb + seconds(static_cast<seconds::rep>(
                     std::ceil(static_cast<double>(lifetime.count()) * policy.renew_at_fraction)));
  std::string reason = fraction_text(policy.renew_at_fraction) + " of its lifetime";
  if (policy.renew_before) {
    const auto before = na - *policy.renew_before;
    if (before < at) {
      at = before;
      reason = format_duration(*policy.renew_before) + " before it expires";
    }
  }
  // Spread: up to 1% of the lifetime, at most 6 h, and never past notAfter.
  auto spread = std::min<seconds>(lifetime / 100, std::chrono::hours(6));
  spread = std::min(spread, std::max(na - at, seconds::zero()) / 2);
  at += seconds(
      static_cast<seconds::rep>(static_cast<double>(spread.count()) * stable_fraction(record_id)));
  return {pki::clamped_time_point(at), reason};
}

const char* to_string(Retire r) {
  switch (r) {
    case Retire::at_expiry:
      return "at-expiry";
    case Retire::after_cutover:
      return "after-cutover";
    case Retire::never:
      return "never";
  }
  return "at-expiry";
}

std::optional<Retire> parse_retire(std::string_view text) {
  for (auto r : {Retire::at_expiry, Retire::after_cutover, Retire::never})
    if (text == to_string(r)) return r;
  return std::nullopt;
}

Retire default_retire(state::RecordKind kind) {
  return kind == state::RecordKind::gsa_tls_ca ? Retire::after_cutover : Retire::at_expiry;
}

bool retirement_due(const state::Record& r, const RenewalPolicy& policy, TimePoint now) {
  switch (policy.retire_superseded.value_or(default_retire(r.kind))) {
    case Retire::after_cutover:
      return true;
    case Retire::never:
      return false;
    case Retire::at_expiry:
      return !r.not_after || *r.not_after <= now;
  }
  return false;
}

std::string kept_until_note(const state::Record& r, const RenewalPolicy& policy) {
  const Retire how = policy.retire_superseded.value_or(default_retire(r.kind));
  if (how == Retire::after_cutover) return "its remote object is deleted now";
  if (how == Retire::never)
    return "kept in the tenant (retire_superseded never): remove it by hand when it is no longer "
           "needed";
  const std::string until =
      r.not_after ? " until it expires at " + pki::format_rfc3339(*r.not_after) : "";
  switch (r.kind) {
    case state::RecordKind::cba_ca:
      return "kept in the trust store" + until +
             ": user certificates it issued keep authenticating until then";
    case state::RecordKind::intune_codesigning:
      return "kept in the tenant" + until +
             ": apps signed with it must be re-signed with the successor before then";
    case state::RecordKind::gsa_tls_ca:
      break;
  }
  return "kept in the tenant" + until;
}

namespace {

constexpr const char* kDayNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// Local weekday (0 = Monday) and minute of the day of `t` in `zone`. POSIX keeps the zone in
// the process's TZ, so the switch is serialised and undone.
std::pair<int, int> local_day_minute(TimePoint t, const std::string& zone) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  // Serialised here; still a race with getenv in another thread of the process (the run's
  // threads do not read the environment while it plans renewals).
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  ::setenv("TZ", zone.c_str(), 1);
  ::tzset();
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  if (old)
    ::setenv("TZ", saved.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): as above
  else
    ::unsetenv("TZ");  // NOLINT(concurrency-mt-unsafe): as above
  ::tzset();
  return {(tm.tm_wday + 6) % 7, tm.tm_hour * 60 + tm.tm_min};
}

std::string hhmm(int minute) {
  char out[8];
  std::snprintf(out, sizeof out, "%02d:%02d", minute / 60 % 100, minute % 60);
  return out;
}

}  // namespace

bool RenewalWindow::contains(TimePoint t) const {
  const auto [day, minute] = local_day_minute(t, time_zone);
  const auto on = [&](int d) { return (days >> d) & 1; };
  if (from_minute <= to_minute) return on(day) && minute >= from_minute && minute < to_minute;
  // Past midnight: the evening part on a window day, the morning part after one.
  return (on(day) && minute >= from_minute) || (on((day + 6) % 7) && minute < to_minute);
}

std::string RenewalWindow::describe() const {
  std::string d;
  for (int i = 0; i < 7; ++i)
    if ((days >> i) & 1) d += (d.empty() ? "" : ",") + std::string(kDayNames[i]);
  return d + " " + hhmm(from_minute) + "-" + hhmm(to_minute) + " " + time_zone;
}

Result<RenewalWindow> parse_window(const std::string& json_text) {
  auto bad = [](const std::string& what) {
    return Error(ErrorKind::invalid_input, "renewal_window", what);
  };
  const auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return bad("must be an object: {\"days\", \"hours\", \"time_zone\"}");
  RenewalWindow w;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "days" && it.key() != "hours" && it.key() != "time_zone")
      return bad("unknown field \"" + it.key() + "\" (days, hours, time_zone)");
  if (j.contains("days")) {
    if (!j["days"].is_array() || j["days"].empty())
      return bad("\"days\" must be a non-empty array of mon, tue, wed, thu, fri, sat, sun");
    w.days = 0;
    for (const auto& d : j["days"]) {
      int found = -1;
      for (int i = 0; i < 7; ++i)
        if (d.is_string() && d.get<std::string>() == kDayNames[i]) found = i;
      if (found < 0) return bad("\"days\": " + d.dump() + " is not mon, tue, … or sun");
      w.days |= static_cast<std::uint8_t>(1 << found);
    }
  }
  if (j.contains("hours")) {
    const std::string text = j["hours"].is_string() ? j["hours"].get<std::string>() : "";
    const int h1 = pki::fixed_digits(text, 0, 2), m1 = pki::fixed_digits(text, 3, 2),
              h2 = pki::fixed_digits(text, 6, 2), m2 = pki::fixed_digits(text, 9, 2);
    if (text.size() != 11 || text[2] != ':' || text[5] != '-' || text[8] != ':' || h1 > 23 ||
        m1 > 59 || h2 > 24 || m2 > 59 || (h2 == 24 && m2 != 0) || h1 < 0 || h2 < 0 || m1 < 0 ||
        m2 < 0 || (h1 * 60 + m1) == (h2 * 60 + m2))
      return bad("\"hours\" must be \"HH:MM-HH:MM\" (e.g. \"22:00-06:00\"), not " +
                 j["hours"].dump());
    w.from_minute = h1 * 60 + m1;
    w.to_minute = h2 * 60 + m2;
  }
  if (j.contains("time_zone")) {
    if (!j["time_zone"].is_string()) return bad("\"time_zone\" must be a string");
    w.time_zone = j["time_zone"].get<std::string>();
    std::error_code ec;
    const bool known = w.time_zone == "UTC" ||
                       (w.time_zone.find("..") == std::string::npos && w.time_zone[0] != '/' &&
                        std::filesystem::is_regular_file("/usr/share/zoneinfo/" + w.time_zone, ec));
    if (!known)
      return bad("\"time_zone\": \"" + w.time_zone +
                 "\" is not a time zone of this host (an IANA name such as Europe/Berlin, or "
                 "UTC; tzdata provides them)");
  }
  return w;
}

std::string unsatisfiable(const RenewalPolicy& policy, int validity_days) {
  if (!(policy.renew_at_fraction > 0.0 && policy.renew_at_fraction < 1.0))
    return "renew_at_fraction must be between 0 and 1 (exclusive)";
  if (policy.renew_before && *policy.renew_before >= std::chrono::days(validity_days))
    return "renew_before " + format_duration(*policy.renew_before) +
           " is not shorter than the validity of " + std::to_string(validity_days) +
           " days: renewal would be due the moment the certificate is issued";
  return "";
}

}  // namespace pkiflow::engine

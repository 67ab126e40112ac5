// When a certificate is renewed (issue 12): `renew_before` before it expires or at
// `renew_at_fraction` of its real lifetime (from the issued certificate's notBefore and
// notAfter), whichever comes first, shifted by a per-record jitter so a fleet of records issued
// together does not renew at one instant. Pure functions of their inputs (STYLE.md, 4).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/clock.hpp"
#include "engine/pki/result.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

// When a superseded certificate leaves the tenant (graph-api.md, section 0). Renewing a CA is not
// replacing it: user certificates an Entra CBA CA issued authenticate only while it is in the
// trust store, and apps signed with an Intune code-signing certificate need it until re-signed.
enum class Retire {
  at_expiry,      // kept until its own notAfter (CBA, Intune)
  after_cutover,  // deleted once the successor is live (GSA: one enabled certificate)
  never,          // kept; an operator retires it
};
const char* to_string(Retire r);  // "at-expiry", "after-cutover", "never"
std::optional<Retire> parse_retire(std::string_view text);
Retire default_retire(state::RecordKind kind);

// When renewals may start, so cutovers happen when the admin wants: days of the week and a time
// of day range (which may pass midnight: 22:00-06:00 belongs to the day it starts on), in an
// IANA time zone.
struct RenewalWindow {
  std::uint8_t days = 0x7f;  // bit 0 = Monday … bit 6 = Sunday
  int from_minute = 0;       // minutes after local midnight
  int to_minute = 24 * 60;   // exclusive; < from_minute: the window passes midnight
  std::string time_zone = "UTC";

  bool contains(TimePoint t) const;
  std::string describe() const;  // "mon,tue 22:00-06:00 Europe/Berlin"
};
// {"days": ["mon", …], "hours": "22:00-06:00", "time_zone": "Europe/Berlin"} (each optional:
// every day, all day, UTC), as JSON text.
Result<RenewalWindow> parse_window(const std::string& json_text);

struct RenewalPolicy {
  std::optional<std::chrono::seconds> renew_before;  // unset: the fraction alone
  double renew_at_fraction = 2.0 / 3.0;              // of the lifetime, in (0, 1)
  std::optional<Retire> retire_superseded;           // unset: the family's default
  std::optional<RenewalWindow> window;               // unset: any time
};

// Whether a superseded record is due to leave the tenant at `now`, and what history says about
// it when it is superseded.
bool retirement_due(const state::Record& r, const RenewalPolicy& policy, TimePoint now);
std::string kept_until_note(const state::Record& r, const RenewalPolicy& policy);

// "30d", "12h", "90m", "45s" (one number, one unit).
Result<std::chrono::seconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::seconds d);

struct RenewalTime {
  TimePoint at;        // when renewal is due (jitter included)
  std::string reason;  // "2/3 of its lifetime" or "30d before it expires"
};

// When the certificate valid from `not_before` to `not_after` is due for renewal under `policy`.
// The jitter, derived from `record_id` (stable across runs), delays the due time by up to a
// hundredth of the lifetime and at most 6 hours, and never past the earlier of the two bounds'
// own window (it stays before notAfter).
RenewalTime renewal_time(TimePoint not_before, TimePoint not_after, const RenewalPolicy& policy,
                         std::string_view record_id);

// Why `policy` can never be satisfied for a certificate of `validity_days` (renewal would be
// due at issue), or "" when it can.
std::string unsatisfiable(const RenewalPolicy& policy, int validity_days);

}  // namespace pkiflow::engine

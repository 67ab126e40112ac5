#include "engine/renewal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

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
  const auto lifetime = std::max(not_after - not_before, TimePoint::duration::zero());
  const auto by_fraction = not_before + std::chrono::duration_cast<TimePoint::duration>(
                                            lifetime * policy.renew_at_fraction);
  RenewalTime out{by_fraction, fraction_text(policy.renew_at_fraction) + " of its lifetime"};
  if (policy.renew_before) {
    const auto before = not_after - *policy.renew_before;
    if (before < out.at)
      out = {before, format_duration(*policy.renew_before) + " before it expires"};
  }
  // Spread: up to 1% of the lifetime, at most 6 h, and never past notAfter.
  auto spread = std::min<TimePoint::duration>(lifetime / 100, std::chrono::hours(6));
  spread = std::min(spread, std::max(not_after - out.at, TimePoint::duration::zero()) / 2);
  out.at += std::chrono::duration_cast<TimePoint::duration>(spread * stable_fraction(record_id));
  return out;
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

#include "engine/run/drift.hpp"

#include "engine/pki/time_format.hpp"

namespace pkiflow::engine {

using state::RecordKind;

namespace {

struct Name {
  DriftCondition condition;
  const char* text;
};
constexpr Name kNames[] = {{DriftCondition::none, ""},
                           {DriftCondition::gone, "gone"},
                           {DriftCondition::replaced, "replaced"},
                           {DriftCondition::revoked, "revoked"},
                           {DriftCondition::expired, "expired"},
                           {DriftCondition::switched_off, "switched-off"}};

std::string object_of(const state::Record& r) {
  return "its remote object " + r.remote_id;
}

}  // namespace

const char* to_string(DriftCondition c) {
  for (const auto& n : kNames)
    if (n.condition == c) return n.text;
  return "";
}

std::optional<DriftCondition> parse_drift(std::string_view s) {
  for (const auto& n : kNames)
    if (s == n.text) return n.condition;
  return std::nullopt;
}

DriftFinding judge_drift(const state::Record& r, const providers::Observation& seen,
                         TimePoint now) {
  using C = DriftCondition;
  if (seen.gone)
    return {C::gone, object_of(r) + " no longer exists on the service (deleted outside pkiflow)"};
  if (!seen.holds_other.empty())
    return {C::replaced, object_of(r) + " holds " + seen.holds_other +
                             ", not this record's certificate " + r.thumbprint_sha1};
  if (seen.revoked)
    return {C::revoked, "the service reports it revoked (status \"" + seen.remote_status + "\")"};
  if (seen.expired)
    return {C::expired, "the service reports it expired (status \"" + seen.remote_status + "\")"};
  if (r.not_after && *r.not_after <= now)
    return {C::expired, "its certificate expired at " + pki::format_rfc3339(*r.not_after) +
                            " and no successor is active"};
  if (!seen.in_force) {
    std::string why =
        "the service no longer has it in force (status \"" + seen.remote_status + "\")";
    if (r.kind == RecordKind::gsa_tls_ca)
      why +=
          ": switched off in the admin center, or another TLS-inspection CA of the tenant was "
          "enabled (one enabled certificate per tenant)";
    return {C::switched_off, why};
  }
  return {};
}

bool verify_due(const state::Record& r, std::chrono::seconds interval, TimePoint now,
                std::optional<TimePoint> changed) {
  if (interval.count() <= 0 || r.state != state::RecordState::active) return false;
  return !r.verified_at || *r.verified_at + interval <= now ||
         (changed && *r.verified_at < *changed);
}

RepairPlan repair_plan(RecordKind kind, DriftCondition c) {
  using A = RepairPlan::Action;
  using C = DriftCondition;
  const bool service_key = kind == RecordKind::gsa_tls_ca;
  switch (c) {
    case C::none:
      return {A::nothing, "the remote object matches the record; nothing to repair"};
    case C::gone:
    case C::replaced:
      if (service_key)
        return {A::renew,
                "the service made this certificate's key and it went with the object: a "
                "successor is planned (new key, new object), and the next run provisions it"};
      return {A::reupload,
              "the same certificate is uploaded again as a new object (the record's remote id "
              "moves to it; an object holding another certificate is left alone)"};
    case C::switched_off:
      if (kind == RecordKind::gsa_tls_ca)
        return {A::enable,
                "it is switched on again (PATCH status=enabled), which switches off whichever "
                "TLS-inspection CA of the tenant is enabled now"};
      return {A::nothing,
              "the service is processing the object again (it reads as not in force); verify it "
              "again later, and cancel nothing: a second upload would make a duplicate"};
    case C::revoked:
    case C::expired:
      return {A::renew,
              "a revoked or expired certificate cannot be put back: a successor is planned, and "
              "the next run provisions it"};
  }
  return {A::nothing, ""};
}

const char* to_string(RepairPlan::Action a) {
  switch (a) {
    case RepairPlan::Action::nothing:
      return "nothing";
    case RepairPlan::Action::reupload:
      return "re-upload";
    case RepairPlan::Action::enable:
      return "enable";
    case RepairPlan::Action::renew:
      return "renew";
  }
  return "nothing";
}

std::string describe_changes(const std::vector<providers::FieldChange>& changes) {
  std::string out;
  for (const auto& c : changes)
    out += (out.empty() ? "" : ", ") + c.field + " \"" + c.remote + "\" -> \"" + c.wanted + "\"";
  return out;
}

}  // namespace pkiflow::engine

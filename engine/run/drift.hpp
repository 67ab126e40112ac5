// Drift (issue 12, part 3): what a live record's remote object says against what pkiflow
// recorded. A pure decision with a reason (cert-manager's shape): the run and `pkiflow verify`
// read the object back (Provider::observe) at most once per verify_interval, judge it here, and
// record the condition on the record (a history row when it changes); `pkiflow repair` acts on
// it with the action repair_plan names.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "engine/clock.hpp"
#include "providers/provider.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

// Ordered by what matters most when several hold: an object that is gone cannot be switched off.
enum class DriftCondition { none, gone, replaced, revoked, expired, switched_off };
// "", "gone", "replaced", "revoked", "expired", "switched-off" (the stored and printed names).
const char* to_string(DriftCondition c);
std::optional<DriftCondition> parse_drift(std::string_view s);

struct DriftFinding {
  DriftCondition condition = DriftCondition::none;
  std::string message;  // why, naming the object and what it holds ("" for none)
};

// Judges an observation of an active record's remote object at `now`.
DriftFinding judge_drift(const state::Record& record, const providers::Observation& seen,
                         TimePoint now);

// Whether an active record's object is due to be read back: never read, read `interval` ago or
// longer, or read before `changed` (when the configuration last changed: its mutable fields may
// be due on the service). A zero interval turns the checks off.
bool verify_due(const state::Record& record, std::chrono::seconds interval, TimePoint now,
                std::optional<TimePoint> changed = std::nullopt);
inline constexpr std::chrono::seconds kDefaultVerifyInterval{24 * 3600};

// What `pkiflow repair` does about a condition: upload the same certificate again where the
// service allows it (CBA, Intune: pkiflow holds the certificate), switch it on again (GSA), or
// renew (GSA's key went with its object; an expired or revoked certificate cannot be reused).
struct RepairPlan {
  enum class Action { nothing, reupload, enable, renew };
  Action action = Action::nothing;
  std::string reason;
};
RepairPlan repair_plan(state::RecordKind kind, DriftCondition condition);
const char* to_string(RepairPlan::Action a);  // "nothing", "re-upload", "enable", "renew"

// "certificateRevocationListUrl \"a\" -> \"b\", …": the fields a run brings to the configuration.
std::string describe_changes(const std::vector<providers::FieldChange>& changes);

}  // namespace pkiflow::engine

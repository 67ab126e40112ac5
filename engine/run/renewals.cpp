#include "engine/run/renewals.hpp"

#include <set>

#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"

namespace pkiflow::engine {

RenewalSource renewal_source(const Config& c) {
  return [&c](const state::Record& r) -> std::optional<RenewalPlan> {
    RenewalPlan plan;
    plan.policy = c.renewal_policy(r.kind, r.name, r.tenant);
    if (const auto* spec = c.certificate(r.kind, r.name, r.tenant)) {
      plan.changes = profile_changes(r.profile_json, *spec);
      if (!plan.changes.empty()) {
        plan.profile_json = spec->profile_json();
        plan.profile_note = "from " + c.file.string() + ":";
        for (std::size_t i = 0; i < plan.changes.size(); ++i)
          plan.profile_note += (i ? ", " : " ") + plan.changes[i];
      }
    }
    return plan;
  };
}

std::optional<RenewalTime> renewal_due(const state::Record& r, const RenewalPolicy& policy) {
  if (!r.not_before || !r.not_after) return std::nullopt;
  return renewal_time(*r.not_before, *r.not_after, policy, r.id);
}

Result<std::vector<PlannedRenewal>> plan_due_renewals(state::StateStore& store, Lifecycle& life,
                                                      const Clock& clock, pki::Rng& rng,
                                                      const RenewalSource& source, bool dry_run) {
  std::vector<PlannedRenewal> out;
  if (!source) return out;
  // The store a page at a time (memory flat over 10,000 records), twice: first what is being
  // renewed already, then the active records.
  std::set<std::string> being_renewed;
  if (auto st = state::for_each_record(store,
                                       [&](const state::Record& r) {
                                         if (!r.renews.empty() &&
                                             r.state != state::RecordState::retired &&
                                             r.state != state::RecordState::failed)
                                           being_renewed.insert(r.renews);
                                       });
      !st)
    return st.error();
  // The due ones, without their certificates: what planning them needs.
  struct Due {
    std::string id, name;
    RenewalTime due;
    RenewalPlan plan;
  };
  std::vector<Due> due_now;
  const auto now = clock.now();
  if (auto st = state::for_each_record(
          store,
          [&](const state::Record& r) {
            if (r.state != state::RecordState::active || being_renewed.count(r.id)) return;
            auto plan = source(r);
            if (!plan) return;
            const auto due = renewal_due(r, plan->policy);
            if (due && due->at <= now) due_now.push_back({r.id, r.name, *due, std::move(*plan)});
          });
      !st)
    return st.error();
  for (const auto& d : due_now) {
    const auto& plan = d.plan;
    PlannedRenewal p{d.id, d.name, "", d.due.at, d.due.reason, "", ""};
    if (plan.policy.window && !plan.policy.window->contains(now)) {
      p.window = plan.policy.window->describe();  // the next run inside the window plans it
    } else if (!dry_run) {
      const std::string why = "due since " + pki::format_rfc3339(d.due.at) + " (" + d.due.reason +
                              ")" + (plan.profile_note.empty() ? "" : "; " + plan.profile_note);
      // The store decides atomically: a run that lost the race is told "already being renewed".
      auto successor = life.renew(d.id, new_record_id(rng), plan.profile_json, why);
      if (successor)
        p.successor = successor->id;
      else
        p.error = successor.error().what();
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace pkiflow::engine

// Renewal on schedule (issue 12): before a run claims its work, every active record whose
// renewal is due under its policy gets its successor planned, with a history row saying why;
// the successor is then worked in the same run like any planned record, while the old one stays
// live until the successor is active.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/config.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/rng.hpp"
#include "engine/renewal.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

// How one record is renewed: its policy, and the profile its successor takes when the
// configuration changed since the record was planned (else the record's own).
struct RenewalPlan {
  RenewalPolicy policy;
  std::optional<std::string> profile_json;
  std::vector<std::string> changes;  // what differs: "subject \"A\" -> \"B\"", …
  std::string profile_note;          // "from F: …", for the history row ("" when none)
};
using RenewalSource = std::function<std::optional<RenewalPlan>(const state::Record&)>;

struct PlannedRenewal {
  std::string id, name;
  std::string successor;  // "" in a dry run (nothing was planned)
  TimePoint due{};
  std::string reason;  // "2/3 of its lifetime", "30d before it expires"
  std::string error;   // why the successor could not be planned ("" when it was)
  std::string window;  // due, but waiting for its renewal window (its description)
};

// The renewal of each record as the configuration says now: its lineage's policy over the
// "renewal" defaults, and the entry's profile when it changed since the record was planned.
// `c` must outlive the source.
RenewalSource renewal_source(const Config& c);

// When an active record is due for renewal: from its certificate's dates, or nullopt when it
// has none (an active record always has them).
std::optional<RenewalTime> renewal_due(const state::Record& r, const RenewalPolicy& policy);

// Plans the successor of every active record due at `clock.now()` that no live record renews
// yet. A dry run writes nothing and returns what it would plan.
Result<std::vector<PlannedRenewal>> plan_due_renewals(state::StateStore& store, Lifecycle& life,
                                                      const Clock& clock, pki::Rng& rng,
                                                      const RenewalSource& source, bool dry_run);

}  // namespace pkiflow::engine

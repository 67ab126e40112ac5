#include "engine/run/lease_keeper.hpp"

#include <map>

namespace pkiflow::engine {

LeaseKeeper::LeaseKeeper(state::StateStore& store, const Clock& clock, const RunOwner& owner,
                         std::chrono::seconds lease)
    : store_(store), clock_(clock), owner_str_(owner.str()), lease_(lease) {}

Result<LeaseKeeper::Claim> LeaseKeeper::claim(const std::vector<std::string>& due) {
  Claim out;
  const auto now = clock_.now();
  auto leases = store_.leases(now);
  if (!leases) return leases.error();
  std::set<std::string> dead;
  for (const auto& l : *leases)
    if (l.owner != owner_str_ && owner_is_dead(l.owner)) dead.insert(l.owner);
  for (const auto& o : dead) {
    auto n = store_.break_leases(o);
    if (!n) return n.error();
    out.taken_over += *n;
  }
  auto claimed = store_.claim_ids(owner_str_, due, now, now + lease_);
  if (!claimed) return claimed.error();
  for (const auto& r : *claimed)
    ids_[r.id] = Held{now + lease_, now};
  out.records = std::move(*claimed);
  std::map<std::string, const state::Lease*> by_id;
  for (const auto& l : *leases)
    by_id[l.record_id] = &l;
  for (const auto& id : due) {
    if (ids_.count(id)) continue;
    auto it = by_id.find(id);
    if (it == by_id.end() || dead.count(it->second->owner)) {
      // Free a moment ago yet not claimed (it moved on meanwhile): report who holds it now.
      auto who = store_.lease_owner(id, now);
      if (who && *who) out.held.push_back({id, **who, now});
      continue;
    }
    out.held.push_back({id, it->second->owner, it->second->expires_at});
  }
  return out;
}

Result<std::vector<state::Record>> LeaseKeeper::claim_more(
    const std::vector<state::RecordState>& states, std::size_t limit) {
  const auto now = clock_.now();
  auto claimed = store_.claim_due(owner_str_, now, now + lease_, states, limit);
  if (!claimed) return claimed.error();
  for (const auto& r : *claimed)
    ids_[r.id] = Held{now + lease_, now};
  return std::move(*claimed);
}

void LeaseKeeper::let_go(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  // A failure leaves the leases to lapse on their own: harmless, they are short.
  (void)store_.release(owner_str_, ids);
  for (const auto& id : ids)
    ids_.erase(id);
}

std::vector<std::string> LeaseKeeper::heartbeat() {
  std::vector<std::string> lost;
  if (ids_.empty()) return lost;
  std::vector<std::string> ids;
  ids.reserve(ids_.size());
  for (const auto& [id, until] : ids_)
    ids.push_back(id);
  const auto until = clock_.now() + lease_;
  auto held = store_.renew_leases(owner_str_, ids, until);
  if (!held) return lost;  // the store is busy: the leases still run; the next beat retries
  const std::set<std::string> still(held->begin(), held->end());
  for (const auto& id : ids)
    if (!still.count(id)) {
      lost.push_back(id);
      ids_.erase(id);
    } else {
      ids_[id].until = until;
    }
  return lost;
}

bool LeaseKeeper::holds(const std::string& id) {
  auto it = ids_.find(id);
  if (it == ids_.end()) return false;
  // No other run takes a lease before it lapses (a dead run's leases aside, and this run is
  // alive), so the store is asked at most once a second while more than half of the lease is
  // left (the half allows for hosts whose clocks disagree). A lease taken by force (an operator
  // editing the store) is still noticed within a second.
  const auto now = clock_.now();
  if (now + lease_ / 2 < it->second.until && now >= it->second.checked &&
      now - it->second.checked < kTrusted)
    return true;
  it->second.checked = now;
  auto who = store_.lease_owner(id, now);
  if (!who) return true;  // unreadable for a moment: the heartbeat decides
  const bool mine = *who && **who == owner_str_;
  if (!mine) ids_.erase(id);
  return mine;
}

void LeaseKeeper::release() {
  if (ids_.empty()) return;
  std::vector<std::string> ids;
  ids.reserve(ids_.size());
  for (const auto& [id, until] : ids_)
    ids.push_back(id);
  (void)store_.release(owner_str_, ids);
  ids_.clear();
}

}  // namespace pkiflow::engine

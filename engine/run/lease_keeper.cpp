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
    ids_.insert(r.id);
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
    ids_.insert(r.id);
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
  const std::vector<std::string> ids(ids_.begin(), ids_.end());
  auto held = store_.renew_leases(owner_str_, ids, clock_.now() + lease_);
  if (!held) return lost;  // the store is busy: the leases still run; the next beat retries
  const std::set<std::string> still(held->begin(), held->end());
  for (const auto& id : ids)
    if (!still.count(id)) {
      lost.push_back(id);
      ids_.erase(id);
    }
  return lost;
}

bool LeaseKeeper::holds(const std::string& id) {
  if (!ids_.count(id)) return false;
  auto who = store_.lease_owner(id, clock_.now());
  if (!who) return true;  // unreadable for a moment: the heartbeat decides
  const bool mine = *who && **who == owner_str_;
  if (!mine) ids_.erase(id);
  return mine;
}

void LeaseKeeper::release() {
  if (ids_.empty()) return;
  (void)store_.release(owner_str_, std::vector<std::string>(ids_.begin(), ids_.end()));
  ids_.clear();
}

}  // namespace pkiflow::engine

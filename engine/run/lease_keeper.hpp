// The leases of one run (DESIGN.md, "Leases die with their run"): it takes over the records of
// runs of this host that died, claims the due records for a short time, renews them by a
// heartbeat while the run works, tells a step whether its record is still held, and releases
// them at the end. A record whose lease another run took is left to that run.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/pki/result.hpp"
#include "engine/run/run_owner.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

// A due record another live run holds: left alone by this run.
struct HeldElsewhere {
  std::string id;
  std::string owner;  // as stored ("host=… pid=… start=… run=…")
  TimePoint until;
};

class LeaseKeeper {
 public:
  LeaseKeeper(state::StateStore& store, const Clock& clock, const RunOwner& owner,
              std::chrono::seconds lease);

  const std::string& owner() const { return owner_str_; }

  struct Claim {
    std::vector<state::Record> records;  // now held by this run
    std::vector<HeldElsewhere> held;     // due, but a live run holds them
    std::size_t taken_over = 0;          // leases of dead runs of this host dropped first
  };
  // Drops the leases of dead runs of this host, then claims those of `due` (ids of records that
  // had work when the run looked) that no live run holds; says who holds the others. A run
  // calls it a batch at a time, so runs started together share the work.
  Result<Claim> claim(const std::vector<std::string>& due);
  // Claims up to `limit` more due records in `states` (work a run finds it has, e.g. a
  // superseded record); records this run held already are among them (the caller knows which
  // it has worked).
  Result<std::vector<state::Record>> claim_more(const std::vector<state::RecordState>& states,
                                                std::size_t limit);
  // Releases the leases of `ids` (claimed with the others, but nothing is due for them).
  void let_go(const std::vector<std::string>& ids);
  // Extends every lease still held; records another run took since are forgotten and their ids
  // returned.
  std::vector<std::string> heartbeat();
  // Whether this run still holds `id`: read from the store, at most once a second while more
  // than half of the lease it last took or renewed is left.
  bool holds(const std::string& id);
  // Releases every lease this run holds.
  void release();

 private:
  state::StateStore& store_;
  const Clock& clock_;
  std::string owner_str_;
  std::chrono::seconds lease_;
  static constexpr std::chrono::seconds kTrusted{1};
  struct Held {
    TimePoint until;    // as the store was told at the last claim or renewal
    TimePoint checked;  // when the store last said so
  };
  std::map<std::string, Held> ids_;
};

}  // namespace pkiflow::engine

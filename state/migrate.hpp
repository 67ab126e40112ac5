// Copying every record, history row and journal entry from one store to another (SQLite to
// PostgreSQL when a second worker host comes, and back): `pkiflow state migrate`.
#pragma once

#include "state/store.hpp"

namespace pkiflow::state {

struct MigrateOptions {
  bool into_non_empty = false;  // add to a target that already holds records
  std::size_t page = 500;       // rows read and written at a time: memory stays bounded
};

struct MigrateReport {
  StoreCounts source;
  StoreCounts target_before;
  StoreCounts target_after;
  std::size_t records_checked = 0;  // records read back from the target and compared
};

// Copies `from` into `to` in one transaction of the target, then reads every copied record back
// and checks the counts. Refused, with nothing written: a source a run is working on (a lease in
// force at `now`), a target that holds anything unless into_non_empty, an id the target holds
// already. The source is only read.
Result<MigrateReport> migrate_store(StateStore& from, StateStore& to, TimePoint now,
                                    const MigrateOptions& options = {});

}  // namespace pkiflow::state

#include "state/migrate.hpp"

#include <algorithm>

namespace pkiflow::state {

namespace {

std::string describe(const StoreCounts& c) {
  return std::to_string(c.records) + " records, " + std::to_string(c.history) + " history rows, " +
         std::to_string(c.journal) + " journal entries";
}

StoreCounts plus(const StoreCounts& a, const StoreCounts& b) {
  return {a.records + b.records, a.history + b.history, a.journal + b.journal};
}

Status copy_rows(StateStore& from, StoreImport& into, std::size_t page) {
  for (std::string after;;) {
    auto records = from.records_page(after, page);
    if (!records) return records.error();
    if (records->empty()) break;
    if (auto st = into.add_records(*records); !st) return st;
    after = records->back().id;
  }
  for (std::int64_t after = 0;;) {
    auto rows = from.history_page(after, page);
    if (!rows) return rows.error();
    if (rows->empty()) break;
    if (auto st = into.add_history(*rows); !st) return st;
    after = rows->back().seq;
  }
  for (std::string after;;) {
    auto ops = from.journal_page(after, page);
    if (!ops) return ops.error();
    if (ops->empty()) break;
    if (auto st = into.add_journal(*ops); !st) return st;
    after = ops->back().op_id;
  }
  return into.commit();
}

// Every record of the source, read back from the target.
Result<std::size_t> check_records(StateStore& from, StateStore& to, std::size_t page) {
  std::size_t checked = 0;
  for (std::string after;;) {
    auto records = from.records_page(after, page);
    if (!records) return records.error();
    if (records->empty()) return checked;
    for (const auto& r : *records) {
      auto copy = to.get(r.id);
      if (!copy) return copy.error();
      // Every field (a Record holds no lease: that belongs to a run of the source).
      if (!*copy || **copy != r)
        return Error(ErrorKind::io, "record " + r.id,
                     "does not read back from the target as it is in the source");
      ++checked;
    }
    after = records->back().id;
  }
}

}  // namespace

Result<MigrateReport> migrate_store(StateStore& from, StateStore& to, TimePoint now,
                                    const MigrateOptions& options) {
  auto leases = from.leases(now);
  if (!leases) return leases.error();
  if (!leases->empty()) {
    const auto& l = leases->front();
    return Error(ErrorKind::busy, "record " + l.record_id,
                 "is held by a run (" + l.owner +
                     "): the source store is in use; migrate when no run works on it");
  }
  MigrateReport report;
  auto source = from.counts();
  auto target = to.counts();
  if (!source) return source.error();
  if (!target) return target.error();
  report.source = *source;
  report.target_before = *target;
  if (!options.into_non_empty && *target != StoreCounts{})
    return Error(ErrorKind::invalid_input, "the target store",
                 "already holds " + describe(*target) +
                     "; nothing was copied (--into-non-empty adds to what it holds)");
  const std::size_t page = std::max<std::size_t>(1, options.page);
  {
    auto into = to.begin_import();
    if (!into) return into.error();
    if (auto st = copy_rows(from, **into, page); !st) return st.error();
  }
  auto after = to.counts();
  if (!after) return after.error();
  report.target_after = *after;
  auto source_now = from.counts();
  if (!source_now) return source_now.error();
  if (*source_now != *source)
    return Error(ErrorKind::io, "the source store",
                 "changed while it was copied (" + describe(*source) + " before, " +
                     describe(*source_now) +
                     " after): a run wrote to it; copy again into an "
                     "empty target when none runs");
  if (*after != plus(*target, *source))
    return Error(ErrorKind::io, "the target store",
                 "holds " + describe(*after) + " after the copy, not the expected " +
                     describe(plus(*target, *source)));
  auto checked = check_records(from, to, page);
  if (!checked) return checked.error();
  report.records_checked = *checked;
  return report;
}

}  // namespace pkiflow::state

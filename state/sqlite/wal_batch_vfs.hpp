// Internal: the VFS every pkiflow SQLite connection opens its files through. It is SQLite's
// default VFS, except for one thing: the write-ahead log's frames are written with one write()
// per commit instead of two per page (SQLite writes each frame's 24-byte header and its page
// separately). A run's commit writes 30-40 pages, so this saves about 70 system calls per
// commit.
//
// What other connections and processes see does not change: the bytes reach the kernel, in the
// order SQLite wrote them, inside the write call that writes the commit frame, before SQLite
// publishes the commit in the shared index (-shm), and before every read, sync, truncate, size
// query or close of the log. A write error is returned from that call, so the commit fails as it
// would have. Frames of a transaction that is not committed yet (a cache spill) may stay in the
// buffer until then; nobody else reads them. Because SQLite believes those earlier frames
// written, a failed write makes the log refuse every later operation of that connection: its
// transaction can never commit over frames that are not in the file (reopen to go on).
#pragma once

#include <cstdint>

namespace pkiflow::state::sqlite {

// Registers the VFS on first use (thread-safe); returns its name for sqlite3_open_v2.
const char* wal_batch_vfs();

// Counters for the tests: log writes that reached the file, and frames buffered into them.
struct WalBatchStats {
  std::uint64_t flushes = 0;
  std::uint64_t frames = 0;
};
WalBatchStats wal_batch_stats();

}  // namespace pkiflow::state::sqlite

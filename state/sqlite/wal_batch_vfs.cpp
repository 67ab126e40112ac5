#include "state/sqlite/wal_batch_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace pkiflow::state::sqlite {

namespace {

constexpr const char* kVfsName = "pkiflow";
// A WAL frame's header (https://sqlite.org/fileformat2.html#walformat): the page number, then,
// for the last frame of a commit, the database's size in pages after it (zero otherwise).
constexpr int kFrameHeader = 24;
// Buffered bytes beyond this are written at once (a large transaction's cache spill). The
// buffer is allocated once, with room for one more frame of the largest page (64 KiB), and
// kept while the log is open: a run's commit is 100-200 KiB.
constexpr std::size_t kMaxBuffered = std::size_t{256} * 1024;
constexpr std::size_t kBufferCapacity = kMaxBuffered + kFrameHeader + 64 * 1024;
// The most one write passes to the default VFS: its unix write masks the length to 17 bits
// (seekAndWriteFd), so a longer one would be cut short and reported as a full disk.
constexpr std::size_t kMaxWrite = 124 * 1024;

std::atomic<std::uint64_t> g_flushes{0};
std::atomic<std::uint64_t> g_frames{0};

sqlite3_vfs* real_vfs = nullptr;

struct File;

// The main database files open now, by the name SQLite gave them: a log finds its database's
// file by that name (the same pointer: sqlite3_filename_database), so that the database's
// xShmBarrier can check its log has nothing buffered.
std::mutex g_open_mutex;
std::vector<File*> g_main_files;

// Our part of an open file; SQLite allocates it with the default VFS's own file right after.
struct File {
  sqlite3_file base{};  // first: SQLite sees this
  sqlite3_file* real = nullptr;
  const char* name = nullptr;  // main database: its name; log: its database's name
  bool is_wal = false;
  File* wal = nullptr;   // main database: its open log
  File* main = nullptr;  // log: its database's file
  // The log's bytes not written yet: they continue the file at `at`.
  std::vector<unsigned char> pending;
  sqlite3_int64 at = 0;
  int frames = 0;              // frame headers in `pending`
  bool commit_header = false;  // the last write was a commit frame's header
  int failed = SQLITE_OK;      // a write that failed outside a call that could report it
};

constexpr std::size_t kOurSize = (sizeof(File) + 15) / 16 * 16;

File* ours(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);  // NOLINT: SQLite's C "inheritance" (first member)
}

int flush(File& f) {
  if (f.failed != SQLITE_OK) return f.failed;
  if (f.pending.empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f.pending.size() && rc == SQLITE_OK;) {
    const std::size_t n = std::min(kMaxWrite, f.pending.size() - done);
    rc = f.real->pMethods->xWrite(f.real, f.pending.data() + done, static_cast<int>(n),
                                  f.at + static_cast<sqlite3_int64>(done));
    done += n;
  }
  g_flushes.fetch_add(1, std::memory_order_relaxed);
  g_frames.fetch_add(static_cast<std::uint64_t>(f.frames), std::memory_order_relaxed);
  f.at += static_cast<sqlite3_int64>(f.pending.size());
  f.pending.clear();
  f.frames = 0;
  if (rc != SQLITE_OK) f.failed = rc;  // what SQLite believes written is not: nothing goes on
  return rc;
}

// Before anything else reaches the file (a read, a sync, a truncate, a size query, a file
// control, a close): a log's buffered bytes go first; any other file has none.
int flush_log(File& f) {
  return f.is_wal ? flush(f) : SQLITE_OK;
}

bool is_commit_header(const void* data, int amount) {
  if (amount != kFrameHeader) return false;
  unsigned char size[4];
  std::memcpy(size, static_cast<const unsigned char*>(data) + 4, sizeof size);
  return (size[0] | size[1] | size[2] | size[3]) != 0;
}

int x_close(sqlite3_file* file) {
  File* f = ours(file);
  int rc = flush_log(*f);
  {
    std::lock_guard lock(g_open_mutex);
    if (f->is_wal) {
      if (f->main) f->main->wal = nullptr;
    } else {
      if (f->wal) f->wal->main = nullptr;
      std::erase(g_main_files, f);
    }
  }
  const int closed = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  if (rc == SQLITE_OK) rc = closed;
  f->~File();
  return rc;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = ours(file);
  if (const int rc = flush_log(*f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = ours(file);
  if (!f->is_wal) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  if (f->failed != SQLITE_OK) return f->failed;
  const bool continues =
      !f->pending.empty() && offset == f->at + static_cast<sqlite3_int64>(f->pending.size());
  if (!continues) {
    if (const int rc = flush(*f); rc != SQLITE_OK) return rc;
    f->at = offset;
  }
  // A commit's last frame is its header and then its page: both are in the file before this
  // call returns (and before SQLite publishes the commit to other connections).
  const bool completes_commit = f->commit_header && amount != kFrameHeader;
  f->commit_header = is_commit_header(data, amount);
  try {
    if (f->pending.capacity() < kBufferCapacity) f->pending.reserve(kBufferCapacity);
    const auto* bytes = static_cast<const unsigned char*>(data);
    f->pending.insert(f->pending.end(), bytes, bytes + amount);
  } catch (const std::bad_alloc&) {
    // No room to buffer: write what waits, then this, as SQLite would have.
    if (const int rc = flush(*f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
  if (amount == kFrameHeader) ++f->frames;
  if (completes_commit || f->pending.size() >= kMaxBuffered) return flush(*f);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = ours(file);
  if (const int rc = flush_log(*f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = ours(file);
  if (const int rc = flush_log(*f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = ours(file);
  if (const int rc = flush_log(*f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  File* f = ours(file);
  return f->real->pMethods->xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  File* f = ours(file);
  return f->real->pMethods->xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  File* f = ours(file);
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = ours(file);
  if (const int rc = flush_log(*f); rc != SQLITE_OK) return rc;
  if (op == SQLITE_FCNTL_VFSNAME) {  // name the stack as SQLite's own shims do
    auto** out = static_cast<char**>(arg);
    const int rc = f->real->pMethods->xFileControl(f->real, op, arg);
    if (rc == SQLITE_OK && *out) {
      char* both = sqlite3_mprintf("%s/%z", kVfsName, *out);
      *out = both;
    } else if (rc == SQLITE_NOTFOUND) {
      *out = sqlite3_mprintf("%s", kVfsName);
      return SQLITE_OK;
    }
    return rc;
  }
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  File* f = ours(file);
  return f->real->pMethods->xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* file) {
  File* f = ours(file);
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  File* f = ours(file);
  return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = ours(file);
  return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  File* f = ours(file);
  // SQLite publishes a commit's header in the shared index around this barrier. Its log's bytes
  // were written with the commit frame already; should anything still wait (a log write this
  // VFS did not recognise as a commit's), it goes now, and a failure stops every later log
  // write of this connection.
  if (f->wal && !f->wal->pending.empty()) (void)flush(*f->wal);
  f->real->pMethods->xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  File* f = ours(file);
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = ours(file);
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  File* f = ours(file);
  return f->real->pMethods->xUnfetch(f->real, offset, page);
}

// One method table per io_methods version, so SQLite calls only what the real file has.
sqlite3_io_methods g_methods[3];

void init_methods() {
  for (int v = 1; v <= 3; ++v) {
    sqlite3_io_methods& m = g_methods[v - 1];
    m.iVersion = v;
    m.xClose = x_close;
    m.xRead = x_read;
    m.xWrite = x_write;
    m.xTruncate = x_truncate;
    m.xSync = x_sync;
    m.xFileSize = x_file_size;
    m.xLock = x_lock;
    m.xUnlock = x_unlock;
    m.xCheckReservedLock = x_check_reserved_lock;
    m.xFileControl = x_file_control;
    m.xSectorSize = x_sector_size;
    m.xDeviceCharacteristics = x_device_characteristics;
    if (v >= 2) {
      m.xShmMap = x_shm_map;
      m.xShmLock = x_shm_lock;
      m.xShmBarrier = x_shm_barrier;
      m.xShmUnmap = x_shm_unmap;
    }
    if (v >= 3) {
      m.xFetch = x_fetch;
      m.xUnfetch = x_unfetch;
    }
  }
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = new (file) File();
  f->real = reinterpret_cast<sqlite3_file*>(  // NOLINT: the default VFS's file, right after ours
      reinterpret_cast<unsigned char*>(file) + kOurSize);
  const int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    f->~File();
    file->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  const int version = f->real->pMethods->iVersion;
  f->base.pMethods = &g_methods[(version < 1 ? 1 : version > 3 ? 3 : version) - 1];
  if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
    f->name = name;
    std::lock_guard lock(g_open_mutex);
    g_main_files.push_back(f);
  } else if ((flags & SQLITE_OPEN_WAL) && name) {
    f->is_wal = true;
    f->name = sqlite3_filename_database(name);
    std::lock_guard lock(g_open_mutex);
    for (File* m : g_main_files)
      if (m->name == f->name) {
        m->wal = f;
        f->main = m;
      }
  }
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return real_vfs->xDlOpen(real_vfs, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* out) {
  real_vfs->xDlError(real_vfs, n, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
  real_vfs->xDlClose(real_vfs, handle);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xRandomness(real_vfs, n, out);
}
int x_sleep(sqlite3_vfs*, int micros) {
  return real_vfs->xSleep(real_vfs, micros);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return real_vfs->xCurrentTime(real_vfs, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

sqlite3_vfs g_vfs;

}  // namespace

const char* wal_batch_vfs() {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    real_vfs = sqlite3_vfs_find(nullptr);
    if (!real_vfs || real_vfs->iVersion < 2) return;  // none, or too old: SQLite's own
    init_methods();
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(kOurSize) + real_vfs->szOsFile;
    g_vfs.mxPathname = real_vfs->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dl_open;
    g_vfs.xDlError = x_dl_error;
    g_vfs.xDlSym = x_dl_sym;
    g_vfs.xDlClose = x_dl_close;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_get_last_error;
    g_vfs.xCurrentTimeInt64 = x_current_time_int64;
    registered = sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
  });
  return registered ? kVfsName : nullptr;
}

WalBatchStats wal_batch_stats() {
  return {g_flushes.load(), g_frames.load()};
}

}  // namespace pkiflow::state::sqlite

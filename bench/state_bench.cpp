// state_bench: durable transitions per second in a state store, and the time of
// `pkiflow status` over 10,000 records.
//   state_bench [RECORDS=10000] [PKIFLOW_CLI] [STORE_URL]
// Without STORE_URL: a new SQLite file in a temporary directory. With one (an empty PostgreSQL
// database, for bench/state_backends.sh): that store, and no bare-sqlite3 baseline.
// Figures: one transition per transaction (Lifecycle), 100 per transaction (StateStore::apply),
// and a baseline of bare sqlite3 statements doing the same UPDATE + INSERT per transition with
// the same durability (WAL, synchronous=FULL), with the ratios. Targets: >= 5,000 transitions/s
// in batches; status <= 100 ms.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "state/store.hpp"

using namespace pkiflow;
using Clock = std::chrono::steady_clock;
using S = state::RecordState;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<std::string> populate(state::StateStore& store, engine::Lifecycle& life,
                                  std::size_t n) {
  auto rng = pki::Rng::deterministic(3);
  std::vector<std::string> ids;
  // Records are created through the lifecycle, 1 transaction each (not timed).
  for (std::size_t i = 0; i < n; ++i) {
    ids.push_back(engine::new_record_id(rng));
    auto r = life.plan({ids.back(), state::RecordKind::cba_ca, "ca-" + std::to_string(i), "contoso",
                        R"({"subject":"CN=Bench"})", ""},
                       "bench");
    if (!r) std::exit(1);
  }
  (void)store;
  return ids;
}

double baseline_sqlite(const std::string& path, std::size_t n, std::size_t batch) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE r (id INTEGER PRIMARY KEY, state TEXT, version INTEGER);"
               "CREATE TABLE h (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER, to_state TEXT, "
               "at INTEGER);",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (std::size_t i = 0; i < n; ++i)
    sqlite3_exec(db, ("INSERT INTO r VALUES (" + std::to_string(i) + ", 'planned', 1)").c_str(),
                 nullptr, nullptr, nullptr);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_stmt *up = nullptr, *ins = nullptr;
  sqlite3_prepare_v2(db,
                     "UPDATE r SET state = ?2, version = version + 1 WHERE id = ?1 AND version = 1",
                     -1, &up, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO h (rid, to_state, at) VALUES (?1, ?2, 0)", -1, &ins, nullptr);
  auto start = Clock::now();
  for (std::size_t i = 0; i < n; i += batch) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (std::size_t k = i; k < std::min(n, i + batch); ++k) {
      for (auto* st : {up, ins}) {
        sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(k));
        sqlite3_bind_text(st, 2, "csrGenerated", -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
      }
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double rate = static_cast<double>(n) / seconds_since(start);
  sqlite3_finalize(up);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 10'000;
  const std::string cli = argc > 2 ? argv[2] : "";
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("pkiflow-state-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string given = argc > 3 ? argv[3] : "";
  const bool sqlite = given.empty();
  const auto url = sqlite ? "sqlite://" + (dir / "state.db").string() : given;
  auto opened = state::open_store(url);
  if (!opened) {
    std::fprintf(stderr, "state_bench: %s\n", opened.error().what().c_str());
    return 1;
  }
  auto store = std::move(*opened);
  engine::SystemClock clock;
  engine::Lifecycle life(*store, clock, "bench");
  std::printf("state_bench: %zu records, %s, %s\n", n,
              sqlite ? "SQLite WAL synchronous=FULL" : "PostgreSQL",
              state::redact_url(url).c_str());
  auto t = Clock::now();
  auto ids = populate(*store, life, n);
  std::printf("  create through Lifecycle, 1 per transaction   %9.0f records/s\n",
              static_cast<double>(n) / seconds_since(t));

  // One transition per transaction, as a run applies them one by one.
  const std::size_t single_n = std::min<std::size_t>(n, 2000);
  t = Clock::now();
  for (std::size_t i = 0; i < single_n; ++i)
    if (!life.csr_generated(ids[i], {"csr", "", "", ""})) return 1;
  double single = static_cast<double>(single_n) / seconds_since(t);

  // 100 transitions per transaction through StateStore::apply (record + history row each).
  const std::size_t batch = 100;
  auto all = std::move(*store->list({}));
  t = Clock::now();
  std::size_t moved = 0;
  for (std::size_t i = 0; i < all.size(); i += batch) {
    std::vector<state::RecordWrite> writes;
    for (std::size_t k = i; k < std::min(all.size(), i + batch); ++k) {
      auto r = all[k];
      auto h =
          state::HistoryEntry{0, r.id, r.state, S::failed, clock.now(), "bench", "bench", "{}"};
      r.failed_from = r.state;
      r.state = S::failed;
      r.updated_at = clock.now();
      writes.push_back({r, h});
    }
    if (!store->apply(writes)) return 1;
    moved += writes.size();
  }
  double batched = static_cast<double>(moved) / seconds_since(t);
  if (sqlite) {
    double base_single = baseline_sqlite((dir / "base1.db").string(), single_n, 1);
    double base_batched = baseline_sqlite((dir / "base100.db").string(), n, batch);
    std::printf(
        "  transitions, 1 per transaction (Lifecycle)    %9.0f /s   bare sqlite3 %9.0f /s   "
        "ratio %.2f\n",
        single, base_single, single / base_single);
    std::printf(
        "  transitions, %zu per transaction (apply)      %9.0f /s   bare sqlite3 %9.0f /s   "
        "ratio %.2f  (target >= 5,000/s)\n",
        batch, batched, base_batched, batched / base_batched);
  } else {
    std::printf("  transitions, 1 per transaction (Lifecycle)    %9.0f /s\n", single);
    std::printf("  transitions, %zu per transaction (apply)      %9.0f /s\n", batch, batched);
  }

  auto t_list = Clock::now();
  auto listed = store->list({});
  double list_ms = seconds_since(t_list) * 1000;
  std::printf("  StateStore::list of %zu records in-process     %9.1f ms\n", listed->size(),
              list_ms);
  if (!cli.empty()) {
    for (const char* mode : {"", " --json"}) {
      std::string cmd = "'" + cli + "' status" + mode + " --state-url '" + url + "' >/dev/null";
      double best = 1e9;
      for (int i = 0; i < 5; ++i) {
        auto s = Clock::now();
        if (std::system(cmd.c_str()) != 0) return 1;
        best = std::min(best, seconds_since(s) * 1000);
      }
      std::printf(
          "  `pkiflow status%s` over %zu records (process, best of 5) %7.1f ms  (target <= 100 "
          "ms)\n",
          mode, n, best);
    }
  }
  if (!std::getenv("PKIFLOW_BENCH_KEEP")) fs::remove_all(dir);  // keep it to profile `status`
  return 0;
}

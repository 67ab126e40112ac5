// A child process for the state-store tests (tests/state/store_process_test.cpp).
// DB is a store URL (a SQLite path, or postgresql://…).
//   store_worker churn DB LOG        apply transitions in a loop until killed; append the id of
//                                    every record it creates to LOG after the create committed
//   store_worker race DB OWNER OUT   claim due planned records under a lease, move each to
//                                    csrGenerated, write the ids it moved to OUT, until none is
//                                    left
//   store_worker group-kill DB N LOG  in a run's group mode (StateStore::defer_sync), plan N
//                                    records with a large CSR each and commit them; append
//                                    their ids to LOG; plan N more without a commit; then
//                                    SIGKILL itself
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "engine/lifecycle.hpp"
#include "engine/record_id.hpp"
#include "state/store.hpp"

using namespace pkiflow;
using S = state::RecordState;

namespace {

void append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::string l = line + "\n";
  if (fd < 0 || ::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(3);
  ::fsync(fd);
  ::close(fd);
}

// One step along the lifecycle for `r`, with the odd transient and permanent failure.
void step(engine::Lifecycle& life, state::StateStore& store, const state::Record& r,
          std::mt19937& gen) {
  const int dice = static_cast<int>(gen() % 20);
  const auto now = std::chrono::system_clock::now();
  if (dice == 0 && r.state != S::active && r.state != S::failed) {
    (void)life.transient_failure(r.id, "503", 0.5);
    return;
  }
  if (dice == 1 && r.state != S::active && r.state != S::failed) {
    (void)life.failed(r.id, "refused");
    return;
  }
  switch (r.state) {
    case S::planned:
      (void)life.csr_generated(r.id, {"csr", "", "", ""});
      break;
    case S::csrGenerated:
      (void)life.signed_(r.id, {"cert", "", now, now + std::chrono::hours(9000), "AB", "CD"});
      break;
    case S::signed_: {
      // The journal brackets the (pretend) remote call, as the providers will.
      std::string op = "op-" + r.id + "-" + std::to_string(r.version);
      (void)store.journal_begin(
          {op, r.id, "upload", "PATCH /x", "cid", state::OperationState::pending, "", now, now});
      (void)store.journal_update(op, state::OperationState::sent, "", now);
      auto up = life.uploaded(r.id, "enrolling");
      (void)store.journal_update(
          op, up ? state::OperationState::done : state::OperationState::failed, "204", now);
      break;
    }
    case S::uploaded:
      (void)life.activated(r.id, "active");
      break;
    case S::active:
      (void)life.retire(r.id, "done");
      break;
    case S::failed:
      (void)life.retry(r.id);
      break;
    default:
      break;
  }
}

int churn(const std::string& db, const std::string& log) {
  auto store = state::open_store(db);
  if (!store) return 2;
  engine::SystemClock clock;
  engine::Lifecycle life(**store, clock, "churn-" + std::to_string(::getpid()));
  auto rng = pki::Rng::system();
  std::mt19937 gen(static_cast<unsigned>(::getpid()));
  for (;;) {
    auto live = (*store)->list({});
    if (!live) return 2;
    std::vector<state::Record> open;
    for (auto& r : *live)
      if (r.state != S::retired) open.push_back(r);
    if (open.size() < 8) {
      auto id = engine::new_record_id(rng);
      if (life.plan({id, state::RecordKind::gsa_tls_ca, "churn", "t", "{}", ""}, "requested"))
        append_line(log, id);
      continue;
    }
    step(life, **store, open[gen() % open.size()], gen);
  }
}

int race(const std::string& db, const std::string& owner, const std::string& out) {
  auto store = state::open_store(db);
  if (!store) return 2;
  engine::SystemClock clock;
  engine::Lifecycle life(**store, clock, owner);
  for (;;) {
    auto now = clock.now();
    auto claimed = (*store)->claim_due(owner, now, now + std::chrono::minutes(5), {S::planned}, 3);
    if (!claimed) return 2;
    if (claimed->empty()) return 0;
    std::vector<std::string> ids;
    for (const auto& r : *claimed) {
      auto before = (*store)->history(r.id)->size();
      auto moved = life.csr_generated(r.id, {"csr by " + owner, "", "", ""});
      if (moved && (*store)->history(r.id)->size() == before + 1) append_line(out, r.id);
      ids.push_back(r.id);
    }
    if (!(*store)->release(owner, ids)) return 2;
  }
}

int group_kill(const std::string& db, int n, const std::string& log) {
  auto store = state::open_store(db);
  if (!store) return 2;
  auto group = (*store)->defer_sync();
  if (!group) return 2;
  engine::SystemClock clock;
  engine::Lifecycle life(**store, clock, "group-kill");
  auto rng = pki::Rng::system();
  const std::string big(3000, 'c');  // a row of about a page: many log frames per commit
  auto plan = [&](std::vector<std::string>& ids) {
    for (int i = 0; i < n; ++i) {
      auto id = engine::new_record_id(rng);
      if (!life.plan({id, state::RecordKind::gsa_tls_ca, "g" + std::to_string(i), "t", "{}", ""},
                     "requested") ||
          !life.csr_generated(id, {big, "", "", ""}))
        std::_Exit(2);
      ids.push_back(id);
    }
  };
  std::vector<std::string> committed, uncommitted;
  plan(committed);
  if (!group->commit()) return 2;
  for (const auto& id : committed)
    append_line(log, id);
  plan(uncommitted);
  ::kill(::getpid(), SIGKILL);
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "churn") == 0) return churn(argv[2], argv[3]);
  if (argc == 5 && std::strcmp(argv[1], "race") == 0) return race(argv[2], argv[3], argv[4]);
  if (argc == 5 && std::strcmp(argv[1], "group-kill") == 0)
    return group_kill(argv[2], std::atoi(argv[3]), argv[4]);
  std::fprintf(stderr,
               "usage: store_worker churn DB LOG | race DB OWNER OUT | group-kill DB N LOG\n");
  return 64;
}

// Group commit for a run (DESIGN.md, "Exactly-once"): the run's store holds its writes in one
// open transaction and commits without waiting for the disk (StateStore::defer_sync), and a step
// waits here before it sends a request with an effect, until a commit and a sync that started
// after its journal entry was written have finished. Steps that wait at the same time share
// them, and a run that works several records at once holds each commit open a few milliseconds
// (the linger) so that more steps share it; the sync runs on a thread of its own, so the I/O thread
// goes on working the other records meanwhile. The run also flushes on a timer (flush()), so
// nothing waits uncommitted for long and other processes get their turn to write. What a step
// writes after a response becomes durable with the next commit and sync: a crash or power cut
// before it is the same as a crash after the response, which the open journal entry covers (the
// next run reads the object back).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>

#include "engine/pki/result.hpp"

namespace pkiflow::engine {

class DurabilityBarrier {
 public:
  // `sync` makes every commit so far durable, from any thread; `commit` (on `io`, nullptr: none)
  // commits the writes that wait (StateStore::GroupCommit). No sync: every commit is durable
  // already and wait() returns at once. `io` is the run's one-thread I/O executor, the store's:
  // wait() and flush() are called on it, and wait() resumes there. `linger`: how long a wait that
  // finds no sync running holds the next commit and sync open, so that steps asking soon after
  // share them.
  DurabilityBarrier(boost::asio::any_io_executor io, std::function<Status()> sync,
                    std::function<Status()> commit = nullptr,
                    std::chrono::steady_clock::duration linger = {});
  ~DurabilityBarrier();
  DurabilityBarrier(const DurabilityBarrier&) = delete;
  DurabilityBarrier& operator=(const DurabilityBarrier&) = delete;

  // Returns once a sync that started after this call has finished, with its outcome.
  boost::asio::awaitable<Status> wait();
  // A commit now, without a sync (the run's timer): nothing waits uncommitted for long, and the
  // disk is waited for only where a request follows. A failed commit fails the next sync's
  // waiters, whose journal entries it may have held.
  void flush();
  // Syncs run so far (a test's and a benchmark's figure).
  std::uint64_t syncs() const { return done_; }

 private:
  struct Waiter;
  void start();
  void finished(std::uint64_t generation, const Status& outcome);

  boost::asio::any_io_executor io_;
  std::function<Status()> sync_;
  std::function<Status()> commit_;
  boost::asio::thread_pool thread_{1};
  std::uint64_t started_ = 0, done_ = 0;
  bool running_ = false;
  std::chrono::steady_clock::duration linger_;
  boost::asio::steady_timer linger_timer_;
  bool lingering_ = false;
  std::optional<Error> flush_failed_;  // for the next sync's waiters
  std::list<Waiter*> waiters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // what a late completion checks
};

}  // namespace pkiflow::engine

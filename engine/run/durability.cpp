// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "engine/run/durability.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pkiflow::engine {

namespace net = boost::asio;

struct DurabilityBarrier::Waiter {
  std::uint64_t needs;  // the generation of sync that covers this waiter's writes
  net::steady_timer* timer;
  Status outcome = Ok{};
};

DurabilityBarrier::DurabilityBarrier(net::any_io_executor io, std::function<Status()> sync,
                                     std::function<Status()> commit,
                                     std::chrono::steady_clock::duration linger)
    : io_(std::move(io)),
      sync_(std::move(sync)),
      commit_(std::move(commit)),
      linger_(linger),
      linger_timer_(io_) {}

DurabilityBarrier::~DurabilityBarrier() {
  thread_.join();
}

net::awaitable<Status> DurabilityBarrier::wait() {
  if (!sync_) co_return Ok{};
  // A sync already running may have started before this caller's write: the next one covers it.
  Waiter w{started_ + 1, nullptr};
  if (!running_ && !lingering_) {
    if (linger_ == std::chrono::steady_clock::duration::zero()) {
      start();
    } else {
      lingering_ = true;
      linger_timer_.expires_after(linger_);
      linger_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](auto) {
        if (!alive.lock()) return;
        lingering_ = false;
        if (!running_) start();
      });
    }
  }
  net::steady_timer timer(co_await net::this_coro::executor, net::steady_timer::time_point::max());
  w.timer = &timer;
  waiters_.push_back(&w);
  const auto self = std::prev(waiters_.end());
  while (done_ < w.needs) {
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  waiters_.erase(self);
  co_return w.outcome;
}

void DurabilityBarrier::start() {
  running_ = true;
  const std::uint64_t generation = ++started_;
  // The writes so far (this thread's: the store's) are committed now; the disk is waited for on
  // the sync thread.
  Status committed = commit_ ? commit_() : Status(Ok{});
  if (flush_failed_) {
    if (committed) committed = std::move(*flush_failed_);
    flush_failed_.reset();
  }
  net::post(thread_, [this, generation, committed = std::move(committed)] {
    Status outcome = committed ? sync_() : committed;
    // After the barrier is gone (a run that ended by an exception while a sync ran), the
    // completion finds no barrier and does nothing.
    net::post(io_,
              [this, alive = std::weak_ptr<int>(alive_), generation, outcome = std::move(outcome)] {
                if (alive.lock()) finished(generation, outcome);
              });
  });
}

void DurabilityBarrier::finished(std::uint64_t generation, const Status& outcome) {
  done_ = generation;
  running_ = false;
  bool more = false;
  for (auto* w : waiters_) {
    if (w->needs <= generation) {
      w->outcome = outcome;
      w->timer->cancel();
    } else {
      more = true;
    }
  }
  if (more) start();
}

void DurabilityBarrier::flush() {
  if (!commit_) return;
  if (auto st = commit_(); !st && !flush_failed_) flush_failed_ = st.error();
}

}  // namespace pkiflow::engine

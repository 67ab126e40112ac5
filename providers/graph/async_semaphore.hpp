// A counting semaphore for coroutines on one Asio executor (one thread): bounds the requests in
// flight across a run, and serialises token fetches. A waiter parks on a timer that never
// expires; release() hands its slot to the first waiter by cancelling that timer.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <deque>
#include <memory>

namespace pkiflow::graph {

class AsyncSemaphore {
 public:
  AsyncSemaphore(boost::asio::any_io_executor ex, std::size_t slots)
      : ex_(std::move(ex)), available_(slots) {}

  // Held slot; released when destroyed.
  class Permit {
   public:
    explicit Permit(AsyncSemaphore* s) : s_(s) {}
    Permit(Permit&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    ~Permit() {
      if (s_) s_->release();
    }

   private:
    AsyncSemaphore* s_;
  };

  boost::asio::awaitable<Permit> acquire() {
    if (available_ > 0) {
      --available_;
      co_return Permit(this);
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(
        ex_, boost::asio::steady_timer::time_point::max());
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return Permit(this);  // release() handed its slot over
  }

  std::size_t waiting() const { return waiters_.size(); }

 private:
  // From a destructor: never throws. The epoll reactor's cancel does not fail; were it to, the
  // slot goes back to the pool rather than to nobody.
  void release() noexcept {
    if (!waiters_.empty()) {
      auto next = waiters_.front();
      waiters_.pop_front();
      try {
        next->cancel();
        return;
      } catch (...) {
      }
    }
    ++available_;
  }

  boost::asio::any_io_executor ex_;
  std::size_t available_;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace pkiflow::graph

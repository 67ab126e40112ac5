#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/mem_ops.h>
#include <botan/system_rng.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>

#include "engine/pki/botan_access.hpp"

namespace pkiflow::pki {

namespace {

// Bumped in every child a fork makes: a buffer filled before the fork is never served in both.
std::atomic<std::uint64_t> g_fork_generation{0};

void note_fork() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

// The operating system's generator, read 256 bytes at a time. A signature draws from it several
// times (its nonce's blinding, the serial number) and a run makes a request id for every Graph
// call: one getrandom call now serves a dozen or more draws (18 calls per record were 12% of a
// run's system calls). Bytes are wiped from the buffer as they are served, and a forked child
// discards what its parent had read.
class BufferedSystemRng final : public Botan::RandomNumberGenerator {
 public:
  BufferedSystemRng() {
    static std::once_flag once;
    std::call_once(once, [] { (void)::pthread_atfork(nullptr, nullptr, note_fork); });
  }
  ~BufferedSystemRng() override { clear_locked(); }
  BufferedSystemRng(const BufferedSystemRng&) = delete;
  BufferedSystemRng& operator=(const BufferedSystemRng&) = delete;

  std::string name() const override { return "system, buffered"; }
  bool is_seeded() const override { return true; }
  bool accepts_input() const override { return false; }
  void clear() override {
    std::lock_guard lock(mutex_);
    clear_locked();
  }

 private:
  void clear_locked() {
    Botan::secure_scrub_memory(buffer_.data(), buffer_.size());
    served_ = buffer_.size();
  }

  // Thread-safe, as Botan's System_RNG is (an uncontended lock costs no system call).
  void fill_bytes_with_input(std::span<std::uint8_t> out, std::span<const std::uint8_t>) override {
    std::lock_guard lock(mutex_);
    if (const auto g = g_fork_generation.load(std::memory_order_relaxed); g != generation_) {
      clear_locked();
      generation_ = g;
    }
    if (out.size() > buffer_.size()) {  // a large draw straight from the system
      Botan::system_rng().randomize(out);
      return;
    }
    while (!out.empty()) {
      if (served_ == buffer_.size()) {
        Botan::system_rng().randomize(buffer_);
        served_ = 0;
      }
      const std::size_t n = std::min(out.size(), buffer_.size() - served_);
      std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(served_), n, out.begin());
      Botan::secure_scrub_memory(buffer_.data() + served_, n);
      served_ += n;
      out = out.subspan(n);
    }
  }

  std::mutex mutex_;
  std::array<std::uint8_t, 256> buffer_{};
  std::size_t served_ = buffer_.size();
  std::uint64_t generation_ = g_fork_generation.load(std::memory_order_relaxed);
};

}  // namespace

Rng::Rng(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rng::Rng(Rng&&) noexcept = default;
Rng& Rng::operator=(Rng&&) noexcept = default;
Rng::~Rng() = default;

// One buffer for the process: a run makes an Rng for each record's journal, each signature and
// each provider, and a buffer of its own would serve each of them once and be thrown away (four
// getrandom calls per record where one serves).
Rng Rng::system() {
  static const std::shared_ptr<BufferedSystemRng> shared = std::make_shared<BufferedSystemRng>();
  auto impl = std::make_unique<Impl>();
  impl->rng = shared;
  return Rng(std::move(impl));
}

Rng Rng::deterministic(std::uint64_t seed) {
  auto impl = std::make_unique<Impl>();
  auto drbg = std::make_unique<Botan::HMAC_DRBG>(
      Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)"));
  // HMAC_DRBG wants seed material of its full security level (32 bytes).
  std::uint8_t bytes[32] = {0x70, 0x6b, 0x69, 0x66, 0x6c, 0x6f, 0x77};  // "pkiflow"
  for (int i = 0; i < 8; ++i)
    bytes[24 + i] = static_cast<std::uint8_t>(seed >> (8 * i));
  drbg->initialize_with(bytes, sizeof bytes);
  impl->rng = std::move(drbg);
  return Rng(std::move(impl));
}

}  // namespace pkiflow::pki

// Randomness is a parameter (STYLE.md, 2): every function that needs it takes an Rng&.
#pragma once

#include <cstdint>
#include <memory>

namespace pkiflow::pki {

class Rng {
 public:
  // The operating system's RNG, read 256 bytes at a time into one buffer the whole process
  // shares (thread-safe); what production code uses.
  static Rng system();
  // A deterministic generator for tests and benchmarks; never for keys that protect anything.
  static Rng deterministic(std::uint64_t seed);

  Rng(Rng&&) noexcept;
  Rng& operator=(Rng&&) noexcept;
  ~Rng();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Rng(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkiflow::pki

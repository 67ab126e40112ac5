#include <botan/hmac_drbg.h>
#include <botan/mac.h>
#include <botan/system_rng.h>

#include "engine/pki/botan_access.hpp"

namespace pkiflow::pki {

Rng::Rng(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Rng::Rng(Rng&&) noexcept = default;
Rng& Rng::operator=(Rng&&) noexcept = default;
Rng::~Rng() = default;

Rng Rng::system() {
  auto impl = std::make_unique<Impl>();
  impl->rng = std::make_unique<Botan::System_RNG>();
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

// Random bytes from an Rng, for identifiers outside the PKI core (GUIDs, nonces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

std::vector<std::uint8_t> random_bytes(Rng& rng, std::size_t n);

}  // namespace pkiflow::pki

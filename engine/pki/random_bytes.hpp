// Random bytes from an Rng, for identifiers outside the PKI core (GUIDs, nonces).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

std::vector<std::uint8_t> random_bytes(Rng& rng, std::size_t n);
// A random (RFC 4122 version 4) GUID in lower case, e.g. for client-request-id and request-id.
std::string random_guid(Rng& rng);

}  // namespace pkiflow::pki

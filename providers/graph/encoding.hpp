// Encodings of the Graph client: base64url (JWTs, x5t thumbprints) and client-request-id GUIDs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/rng.hpp"

namespace pkiflow::graph {

std::string base64url(const std::vector<std::uint8_t>& data);
std::string base64url(std::string_view data);

// A random (version 4) GUID, lower case, as Graph's client-request-id header takes it.
std::string new_client_request_id(pki::Rng& rng);

}  // namespace pkiflow::graph

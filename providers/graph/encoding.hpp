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

// RFC 3986 percent-encoding (unreserved characters stay). Form bodies
// (application/x-www-form-urlencoded) write a space as '+', URLs as "%20".
enum class SpaceAs { percent, plus };
std::string percent_encode(std::string_view value, SpaceAs space = SpaceAs::percent);

// A random (version 4) GUID, lower case, as Graph's client-request-id header takes it.
std::string new_client_request_id(pki::Rng& rng);

}  // namespace pkiflow::graph

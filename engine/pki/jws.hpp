// JSON Web Signatures with a private key (RFC 7515/7518): what an OAuth client assertion is
// signed with. RSA only: PS256 (RSASSA-PSS, SHA-256, MGF1, 32-byte salt) or RS256 (PKCS#1 v1.5).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

enum class JwsAlgorithm { ps256, rs256 };
const char* to_string(JwsAlgorithm alg);  // "PS256", "RS256"

Result<std::vector<std::uint8_t>> jws_sign(const PrivateKey& key, JwsAlgorithm alg,
                                           std::string_view signing_input, Rng& rng);
bool jws_verify(const std::vector<std::uint8_t>& spki_der, JwsAlgorithm alg,
                std::string_view signing_input, const std::vector<std::uint8_t>& signature);

}  // namespace pkiflow::pki

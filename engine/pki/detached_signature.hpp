// Digests and detached signatures. A detached signature over bytes with a CA's key, checked with
// the CA certificate's key: how a signed offline bundle proves it came back from that CA unchanged.
// The scheme is the one the CA signs certificates with (RSA: PKCS#1 v1.5 with SHA-256; ECDSA:
// SHA-256, or SHA-384 above 256 bits; the signature DER-encoded).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

// Lower-case hex of SHA-256(data): how a bundle's manifest names each file's content.
std::string sha256_hex(std::string_view data);

Result<std::vector<std::uint8_t>> sign_detached(const PrivateKey& key, std::string_view data,
                                                Rng& rng);
bool verify_detached(const Certificate& signer, std::string_view data,
                     const std::vector<std::uint8_t>& signature);

}  // namespace pkiflow::pki

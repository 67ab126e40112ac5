// The OAuth 2.0 client assertion for certificate credentials (graph-api.md 6): a JWT signed
// with the app's certificate key. PS256 with x5t#S256 by default (the current documentation),
// RS256 with x5t (SHA-1) as an option for older app registrations.
#pragma once

#include <chrono>
#include <string>

#include "engine/pki/certificate.hpp"
#include "engine/pki/jws.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::graph {

struct AssertionInput {
  std::string client_id;
  std::string token_url;  // the audience
  const pki::Certificate* certificate = nullptr;
  const pki::PrivateKey* key = nullptr;
  pki::JwsAlgorithm algorithm = pki::JwsAlgorithm::ps256;
  std::chrono::system_clock::time_point now;
  std::chrono::seconds lifetime{600};  // 5-10 minutes is the guidance
};

// The compact JWT: header.claims.signature, each base64url. Refuses a key that is not the
// certificate's, and a non-RSA key.
Result<std::string> make_client_assertion(const AssertionInput& in, pki::Rng& rng);

}  // namespace pkiflow::graph

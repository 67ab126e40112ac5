#include "providers/graph/client_assertion.hpp"

#include <nlohmann/json.hpp>

#include "providers/graph/encoding.hpp"

namespace pkiflow::graph {

Result<std::string> make_client_assertion(const AssertionInput& in, pki::Rng& rng) {
  if (!in.certificate || !in.key)
    return Error(ErrorKind::invalid_input, "client assertion", "certificate and key are required");
  if (in.certificate->facts().key.spki_der != in.key->public_key().spki_der)
    return Error(
        ErrorKind::invalid_input, "client assertion",
        "the private key does not belong to the certificate '" + in.certificate->subject() + "'");
  nlohmann::ordered_json header{{"alg", pki::to_string(in.algorithm)}, {"typ", "JWT"}};
  if (in.algorithm == pki::JwsAlgorithm::ps256)
    header["x5t#S256"] = base64url(in.certificate->der_digest("SHA-256"));
  else
    header["x5t"] = base64url(in.certificate->der_digest("SHA-1"));
  const auto iat =
      std::chrono::duration_cast<std::chrono::seconds>(in.now.time_since_epoch()).count();
  nlohmann::ordered_json claims{{"aud", in.token_url},
                                {"iss", in.client_id},
                                {"sub", in.client_id},
                                {"jti", new_client_request_id(rng)},
                                {"nbf", iat},
                                {"iat", iat},
                                {"exp", iat + in.lifetime.count()}};
  const std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());
  auto sig = pki::jws_sign(*in.key, in.algorithm, signing_input, rng);
  if (!sig) return sig.error();
  return signing_input + "." + base64url(*sig);
}

}  // namespace pkiflow::graph

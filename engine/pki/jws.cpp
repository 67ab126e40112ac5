#include "engine/pki/jws.hpp"

#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "engine/pki/botan_access.hpp"

namespace pkiflow::pki {

namespace {
const char* padding(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::ps256 ? "PSS(SHA-256,MGF1,32)" : "PKCS1v15(SHA-256)";
}
}  // namespace

const char* to_string(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::ps256 ? "PS256" : "RS256";
}

Result<std::vector<std::uint8_t>> jws_sign(const PrivateKey& key, JwsAlgorithm alg,
                                           std::string_view signing_input, Rng& rng) {
  const auto& k = botan(key);
  if (k.algo_name() != "RSA")
    return Error(ErrorKind::unsupported, "client assertion",
                 std::string(to_string(alg)) + " needs an RSA key; this one is " + k.algo_name());
  try {
    Botan::PK_Signer signer(k, botan(rng), padding(alg));
    return signer.sign_message(reinterpret_cast<const std::uint8_t*>(signing_input.data()),
                               signing_input.size(), botan(rng));
  } catch (const std::exception& e) {
    return Error(ErrorKind::crypto, "client assertion", e.what());
  }
}

bool jws_verify(const std::vector<std::uint8_t>& spki_der, JwsAlgorithm alg,
                std::string_view signing_input, const std::vector<std::uint8_t>& signature) {
  try {
    auto key = Botan::X509::load_key(spki_der);
    Botan::PK_Verifier verifier(*key, padding(alg));
    return verifier.verify_message(reinterpret_cast<const std::uint8_t*>(signing_input.data()),
                                   signing_input.size(), signature.data(), signature.size());
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pkiflow::pki

#include "engine/pki/detached_signature.hpp"

#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pubkey.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki {

namespace {

Botan::Signature_Format format_for(const Botan::Public_Key& key) {
  return key.algo_name() == "RSA" ? Botan::Signature_Format::Standard
                                  : Botan::Signature_Format::DerSequence;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  auto h = Botan::HashFunction::create_or_throw("SHA-256");
  h->update(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  const auto d = h->final();
  return Botan::hex_encode(d.data(), d.size(), false);
}

Result<std::vector<std::uint8_t>> sign_detached(const PrivateKey& key, std::string_view data,
                                                Rng& rng) {
  try {
    const auto& k = botan(key);
    Botan::PK_Signer signer(k, botan(rng), signature_scheme_for(k).padding, format_for(k));
    return signer.sign_message(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
                               botan(rng));
  } catch (const Botan::Exception& e) {
    return Error(ErrorKind::crypto, "signature", e.what());
  }
}

bool verify_detached(const Certificate& signer, std::string_view data,
                     const std::vector<std::uint8_t>& signature) {
  try {
    auto key = botan(signer).subject_public_key();
    Botan::PK_Verifier verifier(*key, signature_scheme_for(*key).padding, format_for(*key));
    return verifier.verify_message(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
                                   signature.data(), signature.size());
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pkiflow::pki

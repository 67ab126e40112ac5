// Private-key files in every accepted form (PKCS#8 PEM/DER, encrypted or not, the legacy forms
// pkiflow reads), with and without a passphrase.
#include "engine/pki/key.hpp"
#include "engine/pki/passphrase.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::pki;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = pkiflow::fuzz::bytes(data, size);
  static const Passphrase passphrase("fuzz-passphrase");
  for (const Passphrase* p : {static_cast<const Passphrase*>(nullptr), &passphrase}) {
    auto key = PrivateKey::decode(input, p);
    if (!key) continue;
    (void)key->public_key();
  }
  return 0;
}

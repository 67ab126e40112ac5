// CSRs as the GSA service returns them (and users pass to `csr show` / `ca sign`).
#include "engine/pki/csr.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::pki;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto csr = Csr::decode(pkiflow::fuzz::bytes(data, size));
  if (!csr) return 0;
  (void)csr->subject();
  (void)csr->verify_signature();
  (void)csr->pem();
  return 0;
}

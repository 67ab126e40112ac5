// CRLs given to `validate --crl`: decode, then the preparation the validator does (issuing
// distribution point, delta indicator, entries' certificate issuers and reasons).
#include <botan/exceptn.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/crl.hpp"
#include "engine/pki/validate/detail/crl_processing.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::pki;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto crls = Crl::decode_all(pkiflow::fuzz::bytes(data, size));
  if (!crls) return 0;
  std::vector<Botan::X509_CRL> raw;
  for (const auto& c : *crls) {
    (void)c.issuer();
    raw.push_back(botan(c));
  }
  (void)detail::prepare_crls(raw);
  return 0;
}

// Certificates, bundles, PEM and DER as users paste them: decode every object, then read what
// pkiflow reads from a certificate (names, usages, fingerprints) and decode every extension its
// RFC 5280 processing decodes itself.
#include <botan/exceptn.h>
#include <botan/x509cert.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/certificate.hpp"
#include "engine/pki/validate/detail/x509_parts.hpp"
#include "engine/pki/x509_botan.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::pki;
using namespace pkiflow::pki::detail;

namespace {

template <class F>
void decode(const Botan::X509_Certificate& c, const char* oid, F f) {
  auto value = extension_value(c.v3_extensions(), oid);
  if (!value) return;
  try {
    f(*value);
  } catch (const Botan::Exception&) {
    // Malformed: the validator reports it as a finding.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto certs = Certificate::decode_all(pkiflow::fuzz::bytes(data, size));
  if (!certs) return 0;
  for (const auto& cert : *certs) {
    (void)cert.facts();  // what `cert show` prints
    (void)cert.not_before();
    (void)cert.not_after();
    (void)cert.subject();
    (void)cert.sha256_hex();
    (void)cert.is_ca();
    (void)cert.pem();
    const auto& c = botan(cert);
    (void)asserts_ca(c);
    (void)quoted_subject(c);
    try {
      (void)key_strength(c);
    } catch (const Botan::Exception&) {
    }
    decode(c, "2.5.29.17", [](const auto& v) {
      for (const auto& n : decode_general_names(v))
        (void)describe(n);
    });
    decode(c, "2.5.29.32", [](const auto& v) { (void)decode_certificate_policies(v); });
    decode(c, "2.5.29.33", [](const auto& v) { (void)decode_policy_mappings(v); });
    decode(c, "2.5.29.36", [](const auto& v) { (void)decode_policy_constraints(v); });
    decode(c, "2.5.29.54", [](const auto& v) { (void)decode_inhibit_any_policy(v); });
    decode(c, "2.5.29.30", [](const auto& v) { (void)decode_name_constraints(v); });
    decode(c, "2.5.29.31", [](const auto& v) { (void)decode_distribution_points(v); });
  }
  return 0;
}

// The whole `validate` on an arbitrary bundle, bounded: the first certificate is the one
// validated, the others are the chain, and the self-signed ones are also the trust anchors (so
// path building, Botan's checks, pkiflow's RFC 5280 processing and every rule run). The first
// byte picks the options.
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/validator.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::pki;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  auto certs = Certificate::decode_all(pkiflow::fuzz::bytes(data + 1, size - 1));
  if (!certs || certs->empty() || certs->size() > 24) return 0;
  std::vector<Certificate> anchors;
  for (const auto& c : *certs)
    if (c.facts().self_signed) anchors.push_back(c);
  if (anchors.empty()) anchors.push_back(certs->back());
  ValidationRequest req{certs->front(),
                        std::vector<Certificate>(certs->begin() + 1, certs->end()),
                        std::make_shared<const TrustStore>(anchors),
                        std::nullopt,
                        (flags & 1) ? find_profile("cba-ca") : find_profile("tls-inspection-ca"),
                        {},
                        *parse_rfc3339("2026-06-01T00:00:00Z"),
                        30,
                        {}};
  req.options.lenient = (flags & 2) != 0;
  req.options.require_explicit_policy = (flags & 4) != 0;
  req.options.inhibit_policy_mapping = (flags & 8) != 0;
  req.options.inhibit_any_policy = (flags & 16) != 0;
  req.options.crl_check = (flags & 32) ? CrlCheck::all : CrlCheck::none;
  if (flags & 64) req.options.required_eku = {"1.3.6.1.5.5.7.3.1"};
  ValidatorLimits limits{64, 8, 16, 5000};
  Validator validator(limits);
  auto report = validator.validate(req);
  (void)report_json(report);
  (void)report_text(report, false);
  return 0;
}

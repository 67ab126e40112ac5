// Internal: the parts of RFC 5280 6.1 basic path validation that pkiflow does itself on each
// candidate path, after Botan's checks (signatures, validity, name chaining, basicConstraints,
// path length): certificate policies on the RFC 9618 graph with the 6.1.1 inputs, name
// constraints over every name form, keyCertSign on issuers, critical extensions nobody
// processed, and pkiflow's own restrictions (--max-depth, --purpose / --eku). Each problem is a
// Finding naming the rule and the certificate.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "engine/pki/validate/validator.hpp"

namespace pkiflow::pki::detail {

struct Finding {
  std::string rule;      // a rule of the catalog, e.g. "path.policy"
  std::size_t position;  // path index (0 = the certificate, last = the trust anchor)
  std::string reason;
};

struct PolicyResult {
  bool processed = false;              // the path got as far as the wrap-up
  std::vector<std::string> authority;  // authority-constrained policy set
  std::vector<std::string> user;       // user-constrained policy set
  bool explicit_required = false;      // explicit_policy reached 0
  // When the certificate is a CA: the policies a certificate it issues can assert and keep valid
  // ({anyPolicy}: any; empty: none is valid below it), and whether that certificate must
  // assert one of them (explicit_policy reaches 0 there).
  std::optional<std::vector<std::string>> issued;
  bool issued_explicit_required = false;
};

// `path`: leaf first, trust anchor last (the anchor gives its name and key only, RFC 5280
// 6.1.1 (d), and is not processed).
std::vector<Finding> process_path(const std::vector<Botan::X509_Certificate>& path,
                                  const ValidationOptions& options, PolicyResult* policies);

bool self_issued(const Botan::X509_Certificate& c);

}  // namespace pkiflow::pki::detail

// The facts of a listed object read from the certificate the service returns with it (GSA's
// `certificate`, CBA's `certificate`, Intune's `content` while the service keeps it). Internal
// to the providers (not installed).
#pragma once

#include <string>

#include "providers/provider.hpp"

namespace pkiflow::providers::detail {

// Fills subject, issuer, validity, thumbprint and certificate_pem from `pem_or_base64_der` (PEM,
// or DER as base64); false, leaving `o` as it was, when it holds no readable certificate.
bool fill_from_certificate(RemoteObject& o, const std::string& pem_or_base64_der);

}  // namespace pkiflow::providers::detail

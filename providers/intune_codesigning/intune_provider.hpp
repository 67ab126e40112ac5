// Intune enterprise code-signing certificates (graph-api.md 3): the engine makes the key and
// CSR, a signer issues a code-signing certificate, and the provider uploads it with every field
// derived from the certificate. Confirm reads it back: status `provisioned` and the subject,
// issuer and expiry the service parsed must be the certificate's (the service nulls `content`
// once parsed, so neither confirmation nor reconciliation can compare bytes).
#pragma once
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/pki/certificate.hpp"
#include "providers/graph/client.hpp"
#include "providers/intune_codesigning/intune_messages.hpp"
#include "providers/provider.hpp"

namespace pkiflow::intune {

std::unique_ptr<providers::Provider> make_intune_provider(graph::GraphClient& client);

}  // namespace pkiflow::intune

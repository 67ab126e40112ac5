// Intune enterprise code-signing certificates (graph-api.md 3): the engine makes the key and
// CSR, a signer issues a code-signing certificate, and the provider uploads it with every field
// derived from the certificate. Confirm reads it back: status `provisioned` and the subject,
// issuer and expiry the service parsed must be the certificate's (the service nulls `content`
// once parsed, so neither confirmation nor reconciliation can compare bytes).
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "engine/pki/certificate.hpp"
#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::intune {

inline constexpr const char* kCollection = "/deviceAppManagement/enterpriseCodeSigningCertificates";

struct CodeSigningFields {
  std::string content;  // the certificate's DER, padded standard base64
  std::string status = "notProvisioned";
  std::string subject_name;  // the subject's CN
  std::string subject;       // RFC 4514
  std::string issuer_name;   // the issuer's CN
  std::string issuer;        // RFC 4514
  std::string expiration;    // notAfter, RFC 3339 UTC
  std::string upload_time;   // now, RFC 3339 UTC
};
CodeSigningFields derive_fields(const pki::Certificate& cert,
                                std::chrono::system_clock::time_point now);
std::string upload_body(const CodeSigningFields& f);

std::unique_ptr<providers::Provider> make_intune_provider(graph::GraphClient& client);

}  // namespace pkiflow::intune

// The Intune enterprise code-signing endpoint (graph-api.md 3) as requests and parsed responses,
// with no I/O: the fields pkiflow derives for an upload, whether what the service reports is a
// record's certificate, a listed certificate's facts. The provider (intune_provider.hpp) sends
// them; the fuzz targets reach them.
#pragma once
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/pki/certificate.hpp"
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

// Which of subject, issuer and expiry ("subject", "issuer", "expirationDateTime") the service
// reports differently from `f` (expiry to the second), or "" when it reports this certificate.
// The service nulls `content` once parsed (graph-api.md 3): these prove an object is a record's.
std::string reported_mismatch(const nlohmann::ordered_json& object, const pki::CertFacts& f);
// A certificate as the service lists it, for discover/adopt: its facts from `content` while the
// service keeps it, else from the subject, issuer and expiry it reports.
providers::RemoteObject listed_certificate(const nlohmann::ordered_json& item);

}  // namespace pkiflow::intune

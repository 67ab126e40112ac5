// The Entra CBA endpoint (graph-api.md 2) as requests and parsed responses, with no I/O: the
// fields pkiflow derives for a CA, what differs in a listed one, the container's state, a listed
// CA's facts, the bulk-upload bundle. The provider (cba_provider.hpp) sends them; the fuzz
// targets reach them.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "providers/graph/http_message.hpp"
#include "providers/provider.hpp"

namespace pkiflow::cba {

inline constexpr const char* kPkiCollection =
    "/directory/publicKeyInfrastructure/certificateBasedAuthConfigurations";

struct CbaSettings {
  std::string pki_name = "pkiflow";  // display name of the PKI container
  bool issuer_hint = false;          // isIssuerHintEnabled
  std::string crl_url;        // used when the certificate names no http(s) CRL distribution point
  std::string delta_crl_url;  // deltaCertificateRevocationListUrl
};

// What pkiflow sends for a CA, every value derived from the certificate (or the settings where
// the certificate has none). README "Fields pkiflow derives" lists them.
struct CaFields {
  std::string certificate;   // DER, padded standard base64 (Binary)
  std::string type;          // "root" when self-signed, else "intermediate"
  std::string display_name;  // `display_name` given, else the subject's CN, else the subject
  std::string issuer;        // RFC 4514
  std::string issuer_ski;    // upper-case hex: the authority key id (a root: its own key id)
  std::string expiration;    // notAfter, RFC 3339 UTC
  std::string thumbprint;    // SHA-1 of the DER, upper-case hex
  std::string crl_url;       // the first http(s) CRL distribution point, else settings.crl_url
  std::string delta_crl_url;
  bool issuer_hint = false;
};
CaFields derive_ca_fields(const pki::Certificate& cert, const CbaSettings& settings,
                          const std::string& display_name = "");
// The JSON body of a create (all fields) or an update (the mutable ones).
std::string ca_body(const CaFields& f, bool create);

// The mutable fields of a listed CA (`ca`, as the service returns it) that differ from `f`.
std::vector<providers::FieldChange> ca_field_changes(const nlohmann::ordered_json& ca,
                                                     const CaFields& f);

// The record's stored facts (thumbprint, expiry) against its certificate: a mismatch is caught
// here, before anything is sent.
Status check_record_matches(const state::Record& record, const pki::Certificate& cert);

// The bulk path for migrating a whole PKI: a PKCS#7 (certs-only, DER) bundle of the CAs and its
// SHA-256 (lower-case hex), for the container's `upload` action (the user hosts the file).
struct P7bBundle {
  std::vector<std::uint8_t> der;
  std::string sha256_hex;
};
Result<P7bBundle> make_p7b(const std::vector<pki::Certificate>& cas);
// The PKI container itself (found by settings.pki_name).
struct PkiState {
  std::string id;  // "" when there is no container of that name
  std::string display_name;
  std::string status;  // of its last job: "running", then e.g. "succeeded" (others undocumented)
  std::string status_details;
};
// The container as the service lists it (`container`: one item of the collection); empty when it
// is not an object.
PkiState state_of(const nlohmann::ordered_json& container);
// A CA of container `pki` as the service lists it, for discover/adopt: its facts from the
// certificate it returns, else from the listed thumbprint and expiry.
providers::RemoteObject listed_ca(const nlohmann::ordered_json& pki,
                                  const nlohmann::ordered_json& ca);

}  // namespace pkiflow::cba

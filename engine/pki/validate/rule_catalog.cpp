#include "engine/pki/validate/rule_catalog.hpp"

namespace pkiflow::pki {

const std::vector<RuleInfo>& rule_catalog() {
  static const std::vector<RuleInfo> rules{
      {"path.build", "a path leads from the certificate to a trust anchor", "RFC 5280 6.1"},
      {"path.signature", "every signature on the path verifies with its issuer's key",
       "RFC 5280 6.1.3 (a)(1)"},
      {"path.validity", "every certificate on the path is valid at the validation time",
       "RFC 5280 6.1.3 (a)(2)"},
      {"path.name-chaining", "each issuer name equals the next certificate's subject",
       "RFC 5280 6.1.3 (a)(4)"},
      {"path.issuer-is-ca",
       "every issuer is a CA allowed to sign certificates (CA:TRUE, keyCertSign)",
       "RFC 5280 6.1.4 (k), (n)"},
      {"path.length", "no pathLenConstraint on the path is exceeded", "RFC 5280 6.1.4 (l), (m)"},
      {"path.name-constraints",
       "every name of every certificate (subject, subjectAltName, email in the subject) is "
       "within the permitted and outside the excluded subtrees of the CAs above it, in every "
       "name form",
       "RFC 5280 6.1.3 (b), (c), 6.1.4 (g), 4.2.1.10"},
      {"path.policy",
       "certificate policies: a valid policy graph (RFC 9618) down to the certificate, "
       "acceptable to --policy when an explicit policy is required; no anyPolicy mapping",
       "RFC 5280 6.1.3 (d)-(f), 6.1.4 (a), (b), (h)-(j), 6.1.5 (g); RFC 9618"},
      {"path.critical-extension",
       "no certificate has a critical extension pkiflow does not process",
       "RFC 5280 6.1.4 (o), 6.1.5 (f)"},
      {"path.duplicate-extension",
       "no certificate on the path has two instances of one extension (never relaxed: which one "
       "a relying party reads is undefined)",
       "RFC 5280 4.2"},
      {"path.depth", "at most --max-depth intermediate CAs between the certificate and the anchor",
       "caller's restriction"},
      {"path.purpose",
       "the certificate's extendedKeyUsage allows --purpose / --eku, and no CA on the path "
       "excludes it",
       "RFC 5280 4.2.1.12"},
      {"path.rfc5280",
       "the other RFC 5280 checks Botan applies (DN lengths, identifiers in v1 certificates, "
       "extensions in v1/v2)",
       "RFC 5280 6.1, 4.2"},
      {"revocation.crl",
       "no certificate on the path is revoked by a given CRL; covered by one as --crl-check (or "
       "the profile) requires",
       "RFC 5280 6.3"},
      {"bundle.complete",
       "the chain bundle holds every intermediate between the certificate and "
       "the root",
       "graph-api.md 1 (chain)"},
      {"bundle.root", "the chain bundle holds the root (required by the GSA chain)",
       "graph-api.md 1 (chain)"},
      {"bundle.order",
       "the bundle lists the path in issuing order (issuer of the certificate first)",
       "RFC 8446 4.4.2 convention"},
      {"bundle.duplicates", "no certificate appears twice in the bundle", "hygiene"},
      {"bundle.unrelated", "every certificate in the bundle is on the path", "hygiene"},
      {"csr.signature", "the CSR's self-signature verifies", "RFC 2986 3"},
      {"csr.key", "the certificate's public key is the CSR's key", "graph-api.md 1"},
      {"csr.subject", "the certificate's subject equals the CSR's subject", "graph-api.md 1"},
      {"profile.basic-constraints", "basicConstraints as the endpoint requires (CA flag, critical)",
       "RFC 5280 4.2.1.9; endpoint rules"},
      {"profile.key-usage",
       "keyUsage holds the bits the endpoint requires, critical where required",
       "RFC 5280 4.2.1.3; endpoint rules"},
      {"profile.ext-key-usage", "extendedKeyUsage holds the purposes the endpoint requires",
       "RFC 5280 4.2.1.12; endpoint rules"},
      {"profile.path-room",
       "the certificate's and its issuers' path lengths leave room for the CAs the endpoint adds "
       "below it (GSA: the service's intermediate)",
       "RFC 5280 4.2.1.9; graph-api.md 0"},
      {"profile.lifetime", "the certificate stays valid as long as the endpoint requires",
       "endpoint rules"},
      {"profile.crl", "the certificate names a CRL distribution point (http)",
       "graph-api.md 2 (certificateRevocationListUrl)"},
      {"profile.crl-url", "every http(s) CRL distribution point is a well-formed URL with a host",
       "graph-api.md 2 (the service fetches it)"},
      {"profile.size", "the certificate fits the endpoint's size limit (CBA: 8 KB)",
       "graph-api.md 2"},
      {"profile.user-policies",
       "lists the policy OIDs a user certificate under this CA can carry and keep valid (Entra "
       "authentication bindings map policy OIDs to a strength)",
       "RFC 5280 6.1.3 (d), 6.1.4 (a), (b); Entra CBA authentication bindings"},
      {"x509.serial", "every serial number is positive and at most 20 octets", "RFC 5280 4.1.2.2"},
      {"x509.key-identifiers",
       "authorityKeyIdentifier on every certificate that is not self-signed (cross-signed roots "
       "included), matching the subjectKeyIdentifier on a self-signed one; "
       "subjectKeyIdentifier on every CA",
       "RFC 5280 4.2.1.1, 4.2.1.2"},
      {"x509.ca-certificate",
       "a CA certificate has a non-empty subject and a critical "
       "basicConstraints",
       "RFC 5280 4.1.2.6, 4.2.1.9"},
      {"x509.key-usage",
       "a CA certificate has keyUsage with keyCertSign; keyCertSign only with CA:TRUE; keyUsage "
       "has a bit set",
       "RFC 5280 4.2.1.3, 4.2.1.9"},
      {"x509.ext-key-usage", "extendedKeyUsage, when present, lists a purpose",
       "RFC 5280 4.2.1.12"},
      {"x509.validity-encoding",
       "validity dates are UTCTime through 2049, GeneralizedTime from 2050", "RFC 5280 4.1.2.5"},
      {"hygiene.key-size", "keys are at least RSA 2048 or EC 256 bits", "NIST SP 800-131A"},
      {"hygiene.signature-hash", "no certificate on the path is signed with SHA-1 or weaker",
       "NIST SP 800-131A"},
      {"hygiene.remaining-validity",
       "the certificate stays valid longer than the configured "
       "minimum",
       "operations"},
      {"hygiene.serial", "the serial number carries at least 64 bits", "CA/B BR 7.1"},
  };
  return rules;
}

const RuleInfo* find_rule(const std::string& name) {
  for (const auto& r : rule_catalog())
    if (name == r.name) return &r;
  return nullptr;
}

}  // namespace pkiflow::pki

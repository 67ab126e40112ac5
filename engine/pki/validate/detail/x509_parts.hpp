// Internal: decoders for the certificate and CRL extensions that RFC 5280 path validation reads
// and Botan 3 does not decode in full (policies, mappings, policy constraints, name constraints
// over every name form, distribution points with their reasons and CRL issuers, the CRL's
// issuing distribution point, an entry's certificate issuer). Each takes the extension's DER
// value and throws Botan::Decoding_Error when it is malformed; callers turn that into a rule
// failure naming the certificate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <botan/pkix_types.h>

namespace pkiflow::pki::detail {

namespace oids {
inline constexpr const char* kCertificatePolicies = "2.5.29.32";
inline constexpr const char* kPolicyMappings = "2.5.29.33";
inline constexpr const char* kPolicyConstraints = "2.5.29.36";
inline constexpr const char* kInhibitAnyPolicy = "2.5.29.54";
inline constexpr const char* kNameConstraints = "2.5.29.30";
inline constexpr const char* kSubjectAltName = "2.5.29.17";
inline constexpr const char* kCrlDistributionPoints = "2.5.29.31";
inline constexpr const char* kFreshestCrl = "2.5.29.46";
inline constexpr const char* kIssuingDistributionPoint = "2.5.29.28";
inline constexpr const char* kDeltaCrlIndicator = "2.5.29.27";
inline constexpr const char* kCrlNumber = "2.5.29.20";
inline constexpr const char* kCertificateIssuer = "2.5.29.29";
inline constexpr const char* kReasonCode = "2.5.29.21";
inline constexpr const char* kAuthorityKeyId = "2.5.29.35";
inline constexpr const char* kExtKeyUsage = "2.5.29.37";
inline constexpr const char* kAnyExtendedKeyUsage = "2.5.29.37.0";
inline constexpr const char* kEmailAddressAttribute = "1.2.840.113549.1.9.1";
}  // namespace oids

struct GeneralName {
  enum Kind : std::uint8_t {
    other = 0,
    email = 1,
    dns = 2,
    x400 = 3,
    directory = 4,
    edi = 5,
    uri = 6,
    ip = 7,
    registered = 8,
  };
  Kind kind = other;
  std::string text;                 // email, dns, uri: the IA5String as given
  std::vector<std::uint8_t> bytes;  // ip: address (4 or 16) or, in a constraint, address + mask
  Botan::X509_DN dn;                // directory
};
const char* kind_name(GeneralName::Kind k);
std::string describe(const GeneralName& n);

std::vector<GeneralName> decode_general_names(const std::vector<std::uint8_t>& der);

std::vector<std::string> decode_certificate_policies(const std::vector<std::uint8_t>& der);
// (issuerDomainPolicy, subjectDomainPolicy) pairs.
std::vector<std::pair<std::string, std::string>> decode_policy_mappings(
    const std::vector<std::uint8_t>& der);

struct PolicyConstraints {
  std::optional<std::size_t> require_explicit;
  std::optional<std::size_t> inhibit_mapping;
};
PolicyConstraints decode_policy_constraints(const std::vector<std::uint8_t>& der);
std::size_t decode_inhibit_any_policy(const std::vector<std::uint8_t>& der);
// A non-negative INTEGER extension value (inhibitAnyPolicy, cRLNumber, deltaCRLIndicator).
std::size_t decode_small_integer(const std::vector<std::uint8_t>& der);

bool same_name(const GeneralName& a, const GeneralName& b);

struct NameConstraints {
  std::vector<GeneralName> permitted, excluded;
};
NameConstraints decode_name_constraints(const std::vector<std::uint8_t>& der);

// ReasonFlags as a bit set: bit k is the reason of RFC 5280's BIT STRING position k
// (1 keyCompromise ... 8 aACompromise).
using Reasons = std::uint16_t;
inline constexpr Reasons kAllReasons = 0x1FE;
std::string describe_reasons(Reasons r);

struct DistributionPointName {
  std::vector<GeneralName> full;           // fullName
  std::optional<Botan::X509_DN> relative;  // nameRelativeToCRLIssuer, as a one-RDN DN
};

struct DistributionPoint {
  std::optional<DistributionPointName> name;
  std::optional<Reasons> reasons;
  std::vector<GeneralName> crl_issuer;
};
std::vector<DistributionPoint> decode_distribution_points(const std::vector<std::uint8_t>& der);

struct IssuingDistributionPoint {
  std::optional<DistributionPointName> name;
  bool only_user = false;
  bool only_ca = false;
  std::optional<Reasons> only_some_reasons;
  bool indirect = false;
  bool only_attribute = false;
};
IssuingDistributionPoint decode_issuing_distribution_point(const std::vector<std::uint8_t>& der);

// An extension's DER value; nullopt when the extension is absent.
std::optional<std::vector<std::uint8_t>> extension_value(const Botan::Extensions& ext,
                                                         const char* oid);

// `base` with the RDN of a nameRelativeToCRLIssuer appended (RFC 5280 4.2.1.13).
Botan::X509_DN append_rdn(const Botan::X509_DN& base, const Botan::X509_DN& rdn);

}  // namespace pkiflow::pki::detail

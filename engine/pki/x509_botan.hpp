// Internal: translation between pkiflow's X.509 vocabulary and Botan's types.
#pragma once

#include <botan/pkix_enums.h>
#include <botan/pkix_types.h>
#include <botan/x509_ext.h>
#include <botan/x509cert.h>
#include <chrono>
#include <string>
#include <vector>

#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::pki {

Botan::Key_Constraints to_botan(KeyUsageSet ku);
KeyUsageSet from_botan(Botan::Key_Constraints kc);

Botan::X509_DN to_botan(const DnAttributes& dn);
// RFC 4514 string of a DN ("CN=…,O=…,C=…"), most specific attribute first.
std::string format_dn(const Botan::X509_DN& dn);

std::vector<std::string> eku_names(const std::vector<Botan::OID>& oids);
// Extended key usage names or dotted OIDs -> OIDs; an error names the first unknown one.
Result<std::vector<Botan::OID>> eku_oids(const std::vector<std::string>& names);

// Signature padding/hash pkiflow uses for a signing key: SHA-384 for P-384 keys, SHA-256
// otherwise; PKCS#1 v1.5 for RSA (what Windows and Entra accept everywhere).
struct SignatureScheme {
  std::string hash;
  std::string padding;
};
SignatureScheme signature_scheme_for(const Botan::Public_Key& key);

std::string upper_hex(const std::vector<uint8_t>& bytes);
std::string sha256_hex(const Botan::X509_Certificate& cert);
// The CRL distribution point URLs. Botan 3.7 renders a distribution point's full name as
// "URI: <url> " (several in one string when it holds several); this returns the URLs alone.
std::vector<std::string> crl_urls(const Botan::X509_Certificate& cert);
// Algorithm ("RSA", "ECDSA", ...) and size in bits of a certificate's public key, read from its
// SubjectPublicKeyInfo without building the key object (which, for RSA, precomputes Montgomery
// parameters: the validator's hygiene rules need only the size).
struct KeyStrength {
  std::string algorithm;
  std::size_t bits = 0;
};
KeyStrength key_strength(const Botan::X509_Certificate& cert);

// The hash of a signature algorithm ("SHA-256", "SHA-1", "MD5", ...), or "" when unknown.
std::string signature_hash(const Botan::AlgorithmIdentifier& alg);

// The hygiene floor (NIST SP 800-131A), one place for the rules that report it and the path
// builder that avoids it: RSA keys of 2048 bits, other keys 256; no SHA-1, MD5 or MD2.
std::size_t minimum_key_bits(const std::string& algorithm);
bool weak_signature_hash(const std::string& hash);

// basicConstraints with cA TRUE (without Botan's keyUsage condition of is_CA_cert).
bool asserts_ca(const Botan::X509_Certificate& cert);
// The subject in quotes, as the validator's reasons name a certificate.
std::string quoted_subject(const Botan::X509_Certificate& cert);

// An ASN.1 time as a time point, for every year a certificate or CRL can carry (UTCTime from
// 1950): Botan's to_std_timepoint throws before 1970, which a crafted certificate or CRL reaches.
std::chrono::system_clock::time_point time_point_of(const Botan::ASN1_Time& t);

}  // namespace pkiflow::pki

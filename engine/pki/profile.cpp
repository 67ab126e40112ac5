#include "engine/pki/profile.hpp"

namespace pkiflow::pki {

namespace {

std::vector<SigningProfile> make_profiles() {
  std::vector<SigningProfile> out;
  {
    // graph-api.md section 0 (which corrects section 1): CA:TRUE critical; the EKU absent or
    // holding serverAuth; critical KU digitalSignature+keyCertSign+cRLSign (Microsoft's OpenSSL
    // sample); at least six months of validity; the chain holds every intermediate up to the
    // root. pathlen:1, because the service signs its own intermediate under the uploaded CA
    // (pathlen:0 breaks every inspected connection), and the issuers must allow that depth.
    SigningProfile p;
    p.name = "tls-inspection-ca";
    p.purpose = "intermediate CA for Global Secure Access TLS inspection";
    p.source = "Global Secure Access TLS inspection (graph-api.md 1)";
    p.is_ca = true;
    p.path_len = 1;
    p.ca_room_below = 1;
    p.key_usage = KeyUsageSet(KeyUsageSet::digitalSignature | KeyUsageSet::keyCertSign |
                              KeyUsageSet::cRLSign);
    p.ext_key_usage = {"serverAuth"};
    p.ext_key_usage_may_be_absent = true;
    p.default_days = 730;
    p.min_validity_days = 183;  // six months (2026; it was one year in 2025)
    p.chain_must_reach_root = true;
    out.push_back(p);
  }
  {
    SigningProfile p;
    p.name = "cba-ca";
    p.purpose = "root or intermediate CA trusted by Entra certificate-based authentication";
    p.source = "Entra certificate-based authentication (graph-api.md 2)";
    p.is_ca = true;
    p.key_usage = KeyUsageSet(KeyUsageSet::digitalSignature | KeyUsageSet::keyCertSign |
                              KeyUsageSet::cRLSign);
    p.default_days = 1825;
    p.crl_expected = true;
    // Entra checks revocation of the CAs on a user's path: a CA its issuer has revoked, or one
    // no CRL of its issuer covers, is not one to trust for sign-in.
    p.crl_check = CrlCheck::leaf;
    p.lists_issued_policies = true;
    p.max_der_bytes =
        std::size_t{8} * 1024;  // "at most 250 CAs of at most 8 KB each" (graph-api.md 2)
    out.push_back(p);
  }
  {
    SigningProfile p;
    p.name = "code-signing";
    p.purpose = "code-signing leaf for Intune enterprise app signing";
    p.source = "Intune enterprise code signing (graph-api.md 3)";
    p.is_ca = false;
    p.key_usage = KeyUsageSet(KeyUsageSet::digitalSignature);
    p.ext_key_usage = {"codeSigning"};
    p.default_days = 365;
    out.push_back(p);
  }
  {
    SigningProfile p;
    p.name = "root-ca";
    p.purpose = "self-signed root CA (pkiflow ca new-root)";
    p.source = "RFC 5280 4.2.1.9, 4.2.1.3";
    p.is_ca = true;
    p.key_usage = KeyUsageSet(KeyUsageSet::digitalSignature | KeyUsageSet::keyCertSign |
                              KeyUsageSet::cRLSign);
    p.default_days = 3650;
    out.push_back(p);
  }
  return out;
}

}  // namespace

const std::vector<SigningProfile>& builtin_profiles() {
  static const std::vector<SigningProfile> profiles = make_profiles();
  return profiles;
}

const SigningProfile* find_profile(std::string_view name) {
  for (const auto& p : builtin_profiles())
    if (p.name == name) return &p;
  return nullptr;
}

std::string profile_names() {
  std::string out;
  for (const auto& p : builtin_profiles())
    out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

}  // namespace pkiflow::pki

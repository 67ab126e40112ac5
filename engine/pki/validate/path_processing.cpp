#include "engine/pki/validate/detail/path_processing.hpp"

#include <botan/exceptn.h>
#include <botan/x509_ext.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "engine/pki/validate/detail/policy_graph.hpp"
#include "engine/pki/validate/detail/x509_parts.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki::detail {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

// RFC 5280 7.1 (after RFC 4518, for the strings PKIs use): case-insensitive, with leading,
// trailing and repeated inner white space ignored.
std::string normalised(const std::string& value) {
  std::string out;
  bool space = false;
  for (char ch : value) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

// directoryName: the constraint is a prefix of the name, attribute by attribute.
bool dn_within(const Botan::X509_DN& name, const Botan::X509_DN& base) {
  const auto& n = name.dn_info();
  const auto& b = base.dn_info();
  if (b.size() > n.size()) return false;
  for (std::size_t k = 0; k < b.size(); ++k) {
    if (n[k].first != b[k].first) return false;
    if (normalised(n[k].second.value()) != normalised(b[k].second.value())) return false;
  }
  return true;
}

// dNSName: "example.com" covers itself and every name below it; an empty constraint covers all.
bool dns_within(const std::string& name, const std::string& base) {
  const std::string n = lower(name), b = lower(base);
  if (b.empty()) return true;
  if (b.front() == '.') return ends_with(n, b);
  return n == b || ends_with(n, "." + b);
}

// rfc822Name: "user@host" is that mailbox, "host" every mailbox at that host, ".domain" every
// mailbox at a host below it.
bool email_within(const std::string& name, const std::string& base) {
  const auto at = name.rfind('@');
  if (at == std::string::npos) return false;
  const std::string host = lower(name.substr(at + 1));
  if (base.find('@') != std::string::npos) {
    const auto bat = base.rfind('@');
    return name.substr(0, at) == base.substr(0, bat) && host == lower(base.substr(bat + 1));
  }
  if (!base.empty() && base.front() == '.') return ends_with(host, lower(base));
  return host == lower(base);
}

std::optional<std::string> uri_host(const std::string& uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  std::string rest = uri.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const auto at = rest.rfind('@');
  if (at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(0, rest.find(']') + 1);
  rest = rest.substr(0, rest.find(':'));
  if (rest.empty()) return std::nullopt;
  return rest;
}

// uniformResourceIdentifier: the host of the URI against "host" or ".domain".
bool uri_within(const std::string& uri, const std::string& base) {
  const auto host = uri_host(uri);
  if (!host) return false;
  if (!base.empty() && base.front() == '.') return ends_with(lower(*host), lower(base));
  return lower(*host) == lower(base);
}

bool ip_within(const std::vector<std::uint8_t>& addr, const std::vector<std::uint8_t>& base) {
  if (base.size() != addr.size() * 2) return false;
  for (std::size_t k = 0; k < addr.size(); ++k) {
    const std::uint8_t mask = base[addr.size() + k];
    if ((addr[k] & mask) != (base[k] & mask)) return false;
  }
  return true;
}

// nullopt: the form cannot be compared (pkiflow rejects the certificate then, 4.2.1.10).
std::optional<bool> within(const GeneralName& name, const GeneralName& base) {
  switch (name.kind) {
    case GeneralName::directory:
      return dn_within(name.dn, base.dn);
    case GeneralName::dns:
      return dns_within(name.text, base.text);
    case GeneralName::email:
      return email_within(name.text, base.text);
    case GeneralName::uri:
      return uri_within(name.text, base.text);
    case GeneralName::ip:
      return ip_within(name.bytes, base.bytes);
    default:
      return std::nullopt;
  }
}

// The names of a certificate that name constraints apply to: the subject (when not empty), the
// subjectAltName entries, and, without a subjectAltName, the emailAddress attributes of the
// subject (4.2.1.10).
std::vector<GeneralName> names_of(const Botan::X509_Certificate& cert) {
  std::vector<GeneralName> names;
  if (!cert.subject_dn().empty()) {
    GeneralName dn;
    dn.kind = GeneralName::directory;
    dn.dn = cert.subject_dn();
    names.push_back(std::move(dn));
  }
  auto san = extension_value(cert.v3_extensions(), oids::kSubjectAltName);
  if (san) {
    auto alt = decode_general_names(*san);
    names.insert(names.end(), alt.begin(), alt.end());
  } else {
    const auto email_oid = Botan::OID::from_string(oids::kEmailAddressAttribute);
    for (const auto& [oid, value] : cert.subject_dn().dn_info()) {
      if (oid != email_oid) continue;
      GeneralName e;
      e.kind = GeneralName::email;
      e.text = value.value();
      names.push_back(std::move(e));
    }
  }
  return names;
}

struct ConstraintSet {
  NameConstraints nc;
  std::size_t from;  // path index of the CA that imposed it
};

void check_names(const std::vector<Botan::X509_Certificate>& path, std::size_t p,
                 const std::vector<ConstraintSet>& sets, std::vector<Finding>& out) {
  if (sets.empty()) return;
  const auto& cert = path[p];
  std::vector<GeneralName> names;
  try {
    names = names_of(cert);
  } catch (const Botan::Exception& e) {
    out.push_back(
        {"path.name-constraints", p,
         quoted_subject(cert) + ": its subjectAltName cannot be read (" + e.what() + ")"});
    return;
  }
  for (const auto& set : sets) {
    const std::string by = quoted_subject(path[set.from]);
    for (const auto& name : names) {
      bool constrained = false, permitted = false, unknown = false;
      for (const auto& base : set.nc.permitted) {
        if (base.kind != name.kind) continue;
        constrained = true;
        auto in = within(name, base);
        if (!in) unknown = true;
        if (in && *in) permitted = true;
      }
      std::optional<std::string> excluded_by;
      for (const auto& base : set.nc.excluded) {
        if (base.kind != name.kind) continue;
        auto in = within(name, base);
        if (!in) unknown = true;
        if (in && *in) excluded_by = describe(base);
      }
      if (unknown)
        out.push_back({"path.name-constraints", p,
                       quoted_subject(cert) + " has a " + kind_name(name.kind) + " and " + by +
                           " constrains that form, which pkiflow cannot compare"});
      else if (constrained && !permitted)
        out.push_back({"path.name-constraints", p,
                       quoted_subject(cert) + ": " + describe(name) +
                           " is outside the permitted subtrees of " + by});
      else if (excluded_by)
        out.push_back({"path.name-constraints", p,
                       quoted_subject(cert) + ": " + describe(name) +
                           " is inside the excluded subtree " + *excluded_by + " of " + by});
    }
  }
}

// Extensions pkiflow or Botan process during path validation; any other critical one makes the
// certificate unusable (6.1.4 (o), and for the leaf 6.1.5 (f)).
bool processed_extension(const std::string& oid) {
  static const std::set<std::string> known{
      "2.5.29.14",          // subjectKeyIdentifier
      "2.5.29.15",          // keyUsage
      "2.5.29.17",          // subjectAltName
      "2.5.29.18",          // issuerAltName
      "2.5.29.19",          // basicConstraints
      "2.5.29.30",          // nameConstraints
      "2.5.29.31",          // cRLDistributionPoints
      "2.5.29.32",          // certificatePolicies
      "2.5.29.33",          // policyMappings
      "2.5.29.35",          // authorityKeyIdentifier
      "2.5.29.36",          // policyConstraints
      "2.5.29.37",          // extKeyUsage
      "2.5.29.46",          // freshestCRL
      "2.5.29.54",          // inhibitAnyPolicy
      "1.3.6.1.5.5.7.1.1",  // authorityInfoAccess
  };
  return known.count(oid) != 0;
}

template <typename F>
auto decoded(const Botan::X509_Certificate& cert, const char* oid, const char* what, std::size_t p,
             std::vector<Finding>& out, F decode)
    -> std::optional<decltype(decode(std::declval<const std::vector<std::uint8_t>&>()))> {
  auto value = extension_value(cert.v3_extensions(), oid);
  if (!value) return std::nullopt;
  try {
    return decode(*value);
  } catch (const Botan::Exception& e) {
    out.push_back(
        {"path.rfc5280", p, quoted_subject(cert) + ": malformed " + what + " (" + e.what() + ")"});
    return std::nullopt;
  }
}

bool eku_allows(const std::vector<Botan::OID>& have, const std::vector<std::string>& wanted) {
  for (const auto& o : have) {
    const std::string s = o.to_string();
    if (s == oids::kAnyExtendedKeyUsage) return true;
    if (std::find(wanted.begin(), wanted.end(), s) != wanted.end()) return true;
  }
  return false;
}

}  // namespace

// 6.1.4 (a): a mapping to or from anyPolicy, which RFC 5280 forbids.
bool maps_any_policy(const std::vector<std::pair<std::string, std::string>>& mappings) {
  return std::any_of(mappings.begin(), mappings.end(),
                     [](const auto& m) { return m.first == kAnyPolicy || m.second == kAnyPolicy; });
}

// RFC 5280 6.1.4 (a), (b), (h), (i) for a CA at the end of the path, as if it were an
// intermediate above one more certificate: what that certificate can assert (Entra CBA binds
// policy OIDs of user certificates to an authentication strength).
void issued_policies(const Botan::X509_Certificate& ca, PolicyGraph graph,
                     std::size_t explicit_policy, std::size_t policy_mapping, PolicyResult& out) {
  std::vector<Finding> ignored;  // the path's own processing reports malformed extensions
  auto pm =
      decoded(ca, oids::kPolicyMappings, "policyMappings", 0, ignored, decode_policy_mappings);
  if (pm && !maps_any_policy(*pm)) graph.apply_mappings(*pm, policy_mapping > 0);
  if (!self_issued(ca) && explicit_policy > 0) --explicit_policy;
  auto pc = decoded(ca, oids::kPolicyConstraints, "policyConstraints", 0, ignored,
                    decode_policy_constraints);
  if (pc && pc->require_explicit)
    explicit_policy = std::min(explicit_policy, *pc->require_explicit);
  out.issued = graph.expected_below();
  // 6.1.5 (a) for the issued certificate.
  out.issued_explicit_required = explicit_policy <= 1;
}

bool self_issued(const Botan::X509_Certificate& c) {
  return c.subject_dn() == c.issuer_dn();
}

std::vector<Finding> process_path(const std::vector<Botan::X509_Certificate>& path,
                                  const ValidationOptions& options, PolicyResult* policies) {
  std::vector<Finding> out;
  if (path.size() < 2) return out;        // the certificate is itself a trust anchor
  const std::size_t n = path.size() - 1;  // certificates below the anchor
  // 6.1.2 initial state.
  std::size_t explicit_policy = options.require_explicit_policy ? 0 : n + 1;
  // The same counter for a path one certificate longer (what the first certificate, a CA,
  // issues): its initial value counts that certificate too.
  std::size_t explicit_below = options.require_explicit_policy ? 0 : n + 2;
  std::size_t inhibit_any = options.inhibit_any_policy ? 0 : n + 1;
  std::size_t policy_mapping = options.inhibit_policy_mapping ? 0 : n + 1;
  PolicyGraph graph;
  std::vector<ConstraintSet> constraints;
  bool policy_failed = false;

  if (options.max_intermediates && n - 1 > *options.max_intermediates)
    out.push_back({"path.depth", 0,
                   std::to_string(n - 1) + " intermediate CA certificates between " +
                       quoted_subject(path[0]) + " and the trust anchor; at most " +
                       std::to_string(*options.max_intermediates) + " allowed (--max-depth)"});

  for (std::size_t p = n; p-- > 0;) {
    const auto& cert = path[p];
    const bool last = p == 0;
    const bool self = self_issued(cert);
    // 6.1.3 (b), (c): a self-issued intermediate is exempt.
    if (last || !self) check_names(path, p, constraints, out);

    // 6.1.3 (d), (e): policies.
    auto cp = decoded(cert, oids::kCertificatePolicies, "certificatePolicies", p, out,
                      decode_certificate_policies);
    graph.add_certificate(cp, inhibit_any > 0 || (!last && self));
    if (graph.too_large() && !policy_failed) {
      policy_failed = true;
      out.push_back({"path.policy", p,
                     "the certificate policy graph grew past " +
                         std::to_string(PolicyGraph::kMaxEdges) + " edges at " +
                         quoted_subject(cert) + " (a crafted chain?)"});
    }
    // 6.1.3 (f)
    if (explicit_policy == 0 && graph.null() && !policy_failed) {
      policy_failed = true;
      out.push_back({"path.policy", p,
                     "an explicit certificate policy is required from " + quoted_subject(cert) +
                         " on, but no policy is valid for the path down to it" +
                         (cp ? "" : " (it has no certificatePolicies)")});
    }
    if (!last) {
      // 6.1.4 (a), (b): policy mappings.
      auto pm =
          decoded(cert, oids::kPolicyMappings, "policyMappings", p, out, decode_policy_mappings);
      if (pm) {
        if (maps_any_policy(*pm))
          out.push_back(
              {"path.policy", p, quoted_subject(cert) + " maps anyPolicy, which RFC 5280 forbids"});
        else
          graph.apply_mappings(*pm, policy_mapping > 0);
      }
      // 6.1.4 (g): name constraints for the certificates below.
      auto nc =
          decoded(cert, oids::kNameConstraints, "nameConstraints", p, out, decode_name_constraints);
      if (nc) constraints.push_back({std::move(*nc), p});
      // (h)
      if (!self) {
        if (explicit_policy > 0) --explicit_policy;
        if (explicit_below > 0) --explicit_below;
        if (policy_mapping > 0) --policy_mapping;
        if (inhibit_any > 0) --inhibit_any;
      }
      // (i), (j)
      auto pc = decoded(cert, oids::kPolicyConstraints, "policyConstraints", p, out,
                        decode_policy_constraints);
      if (pc && pc->require_explicit) {
        explicit_policy = std::min(explicit_policy, *pc->require_explicit);
        explicit_below = std::min(explicit_below, *pc->require_explicit);
      }
      if (pc && pc->inhibit_mapping)
        policy_mapping = std::min(policy_mapping, *pc->inhibit_mapping);
      auto iap = decoded(cert, oids::kInhibitAnyPolicy, "inhibitAnyPolicy", p, out,
                         decode_inhibit_any_policy);
      if (iap) inhibit_any = std::min(inhibit_any, *iap);
      // (n): an issuer with keyUsage must have keyCertSign (basicConstraints, (k), is Botan's).
      if (cert.v3_extensions().extension_set(Botan::Cert_Extension::Key_Usage::static_oid()) &&
          !cert.has_constraints(Botan::Key_Constraints::KeyCertSign))
        out.push_back({"path.issuer-is-ca", p,
                       quoted_subject(cert) + " signed " + quoted_subject(path[p - 1]) +
                           " but its keyUsage does not allow keyCertSign"});
      // --purpose / --eku: an intermediate's extendedKeyUsage restricts the path.
      const auto& eku = cert.extended_key_usage();
      if (!options.required_eku.empty() && !eku.empty() && !eku_allows(eku, options.required_eku))
        out.push_back({"path.purpose", p,
                       quoted_subject(cert) +
                           " restricts its path to extendedKeyUsage that excludes " +
                           join(options.required_eku)});
    } else {
      if (policies && asserts_ca(cert))
        issued_policies(cert, graph, explicit_below, policy_mapping, *policies);
      // 6.1.5 (a), (b)
      if (explicit_policy > 0) --explicit_policy;
      auto pc = decoded(cert, oids::kPolicyConstraints, "policyConstraints", p, out,
                        decode_policy_constraints);
      if (pc && pc->require_explicit && *pc->require_explicit == 0) explicit_policy = 0;
      if (!options.required_eku.empty()) {
        const auto& eku = cert.extended_key_usage();
        if (!eku.empty() && !eku_allows(eku, options.required_eku))
          out.push_back({"path.purpose", 0,
                         quoted_subject(cert) + " is not for " + join(options.required_eku) +
                             " (its extendedKeyUsage does not list it)"});
      }
    }
    // 6.1.4 (o), 6.1.5 (f): a critical extension nobody processes.
    const auto& ext = cert.v3_extensions();
    for (const auto& oid : ext.get_extension_oids()) {
      if (!ext.critical_extension_set(oid) || processed_extension(oid.to_string())) continue;
      out.push_back({"path.critical-extension", p,
                     quoted_subject(cert) + " has the critical extension " + oid.to_string() +
                         ", which pkiflow does not process"});
    }
  }
  // 6.1.5 (g)
  const auto user = graph.user_constrained(options.initial_policy_set);
  if (explicit_policy == 0 && user.empty() && !policy_failed)
    out.push_back({"path.policy", 0,
                   "an explicit certificate policy is required, and no policy of the path is in "
                   "the acceptable set (" +
                       join(options.initial_policy_set) + "); the CAs allow " +
                       join(graph.authority_constrained())});
  if (policies) {
    policies->processed = true;
    policies->authority = graph.authority_constrained();
    policies->user = user;
    policies->explicit_required = explicit_policy == 0;
  }
  return out;
}

}  // namespace pkiflow::pki::detail

#include <botan/ber_dec.h>
#include <botan/exceptn.h>
#include <botan/x509_ext.h>
#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/detail/rules.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki::detail {

namespace {

using Code = Botan::Certificate_Status_Code;
namespace CE = Botan::Cert_Extension;

std::string date(const Botan::X509_Time& t) {
  return format_rfc3339(time_point_of(t));
}

const Botan::X509_Certificate& at(const RuleContext& ctx, std::size_t pos) {
  return ctx.pool.entries[ctx.path->nodes[pos]].cert;
}

const char* rule_for(Code c) {
  switch (c) {
    case Code::SIGNATURE_ERROR:
    case Code::CERT_PUBKEY_INVALID:
    case Code::SIGNATURE_ALGO_UNKNOWN:
    case Code::SIGNATURE_ALGO_BAD_PARAMS:
      return "path.signature";
    case Code::CERT_NOT_YET_VALID:
    case Code::CERT_HAS_EXPIRED:
    case Code::TRUSTED_CERT_HAS_EXPIRED:
    case Code::TRUSTED_CERT_NOT_YET_VALID:
      return "path.validity";
    case Code::CHAIN_NAME_MISMATCH:
      return "path.name-chaining";
    case Code::CA_CERT_NOT_FOR_CERT_ISSUER:
      return "path.issuer-is-ca";
    case Code::CERT_CHAIN_TOO_LONG:
      return "path.length";
    case Code::DUPLICATE_CERT_EXTENSION:
      return "path.duplicate-extension";
    case Code::SIGNATURE_METHOD_TOO_WEAK:
    case Code::UNTRUSTED_HASH:
      return "hygiene.signature-hash";
    default:
      return "path.rfc5280";
  }
}

// The OID of an extension that appears twice in the certificate (Botan keeps one of them and
// only says that there was another), read from the TBSCertificate.
std::string duplicated_extension(const Botan::X509_Certificate& cert) {
  try {
    Botan::BER_Decoder tbs(cert.tbs_data());
    auto fields = tbs.start_sequence();
    std::set<std::string> seen;
    while (fields.more_items()) {
      auto field = fields.get_next_object();
      if (!field.is_a(3, Botan::ASN1_Class::ContextSpecific | Botan::ASN1_Class::Constructed))
        continue;
      Botan::BER_Decoder outer(field.bits(), field.length());
      auto list = outer.start_sequence();
      while (list.more_items()) {
        Botan::OID oid;
        list.start_sequence().decode(oid).discard_remaining();
        if (!seen.insert(oid.to_string()).second) {
          const std::string name = oid.human_name_or_empty();
          return name.empty() ? oid.to_string() : name + " (" + oid.to_string() + ")";
        }
      }
    }
  } catch (const Botan::Exception&) {
  }
  return "an extension";
}

// A reason a user can act on, for the Botan status `c` found at path position `i`. `about` is
// set to the position of the certificate the problem is really about.
std::string explain(const RuleContext& ctx, std::size_t i, Code c, std::size_t& about) {
  const auto& subject = at(ctx, i);
  const std::size_t n = ctx.path->nodes.size();
  const auto& issuer = at(ctx, std::min(i + 1, n - 1));
  about = i;
  switch (c) {
    case Code::CERT_HAS_EXPIRED:
    case Code::TRUSTED_CERT_HAS_EXPIRED:
      return quoted_subject(subject) + " expired on " + date(subject.not_after());
    case Code::CERT_NOT_YET_VALID:
    case Code::TRUSTED_CERT_NOT_YET_VALID:
      return quoted_subject(subject) + " is not valid before " + date(subject.not_before());
    case Code::SIGNATURE_ERROR:
      if (i + 1 == n)
        return "the self-signature of " + quoted_subject(subject) + " does not verify";
      return "the signature on " + quoted_subject(subject) + " does not verify with the key of " +
             quoted_subject(issuer);
    case Code::CA_CERT_NOT_FOR_CERT_ISSUER: {
      about = std::min(i + 1, n - 1);
      auto bc = issuer.v3_extensions().get_extension_object_as<CE::Basic_Constraints>();
      if (!bc || !bc->get_is_ca())
        return quoted_subject(issuer) + " signed " + quoted_subject(subject) +
               " but is not a CA (basicConstraints CA:TRUE is missing)";
      return quoted_subject(issuer) + " signed " + quoted_subject(subject) +
             " but its keyUsage does not allow keyCertSign";
    }
    case Code::CERT_CHAIN_TOO_LONG:
      return quoted_subject(subject) +
             " is a CA below a CA whose pathLenConstraint does not allow it";
    case Code::CHAIN_NAME_MISMATCH:
      return "the issuer of " + quoted_subject(subject) + " is '" + format_dn(subject.issuer_dn()) +
             "', not the next certificate " + quoted_subject(issuer);
    case Code::DUPLICATE_CERT_EXTENSION:
      return quoted_subject(subject) + " has " + duplicated_extension(subject) +
             " twice; which one a relying party reads is undefined";
    default:
      return std::string(Botan::Path_Validation_Result::status_string(c)) + " (" +
             quoted_subject(subject) + ")";
  }
}

// Whole days of validity left at `at`, rounded to the nearest day: a certificate issued a
// moment ago for 365 days has 365 days left, not 364 (the GSA minimum is one year).
long days_left(const Botan::X509_Certificate& cert, std::chrono::system_clock::time_point at) {
  auto hours = std::chrono::duration_cast<std::chrono::hours>(time_point_of(cert.not_after()) - at);
  return static_cast<long>(std::floor((static_cast<double>(hours.count()) + 12.0) / 24.0));
}

bool in_bundle(const Pool& pool, std::size_t node) {
  return pool.source[node].find("chain") != std::string::npos;
}

}  // namespace

Pool make_pool(const ValidationRequest& req) {
  Pool pool;
  auto add = [&](const Certificate& c, const char* source) -> std::size_t {
    const auto& bc = botan(c);
    for (std::size_t i = 0; i < pool.entries.size(); ++i) {
      if (pool.entries[i].cert == bc) {
        if (std::string(source) == "trust") {
          pool.entries[i].anchor = true;
          if (pool.source[i] == "chain") pool.source[i] = "chain+trust";
        }
        return i;
      }
    }
    pool.entries.push_back({bc, std::string(source) == "trust"});
    pool.source.emplace_back(source);
    return pool.entries.size() - 1;
  };
  add(req.cert, "cert");
  std::set<std::size_t> seen;
  for (std::size_t k = 0; k < req.chain.size(); ++k) {
    std::size_t before = pool.entries.size();
    std::size_t idx = add(req.chain[k], "chain");
    if (idx < before && (idx == 0 || seen.count(idx))) pool.bundle_dupes.push_back(k);
    seen.insert(idx);
    pool.bundle.push_back(idx);
  }
  if (req.trust)
    for (const auto& a : req.trust->anchors())
      add(a, "trust");
  return pool;
}

namespace {

std::string policy_list(const std::vector<std::string>& oids) {
  std::string out;
  for (const auto& o : oids)
    out += (out.empty() ? "" : ", ") + (o == kAnyPolicy ? std::string("anyPolicy") : o);
  return out.empty() ? "none" : out;
}

}  // namespace

void path_rules(const RuleContext& ctx, const std::vector<std::size_t>& partial) {
  static const char* kPathRules[] = {"path.signature",
                                     "path.validity",
                                     "path.name-chaining",
                                     "path.issuer-is-ca",
                                     "path.length",
                                     "path.name-constraints",
                                     "path.policy",
                                     "path.critical-extension",
                                     "path.duplicate-extension",
                                     "path.rfc5280"};
  auto& rep = ctx.report;
  if (!ctx.path) {
    std::string reason;
    const auto& last = ctx.pool.entries[partial.back()].cert;
    if (!rep.limits_hit.empty()) {
      reason = "path search stopped at a limit (" + rep.limits_hit.front() + ")";
    } else if (last.is_self_signed()) {
      reason = "the path ends at the self-signed " + quoted_subject(last) +
               ", which is not a trust anchor";
    } else {
      reason = "no issuer of " + quoted_subject(last) + " (issuer '" + format_dn(last.issuer_dn()) +
               "') in the chain bundle or the trust anchors";
    }
    rep.add("path.build", Outcome::fail, reason, partial.size() - 1);
    for (const char* r : kPathRules)
      rep.add(r, Outcome::unchecked, "no path to a trust anchor");
    return;
  }
  const auto& nodes = ctx.path->nodes;
  rep.add("path.build", Outcome::pass,
          std::to_string(nodes.size()) + " certificates to the trust anchor " +
              quoted_subject(at(ctx, nodes.size() - 1)) + " (" +
              std::to_string(rep.candidates_checked) + " candidate path" +
              (rep.candidates_checked == 1 ? "" : "s") + " checked)");
  if (!ctx.path->exception.empty()) {
    rep.add("path.rfc5280", Outcome::fail, "cannot check the path: " + ctx.path->exception);
    return;
  }
  std::set<std::string> flagged;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (Code c : ctx.path->status[i]) {
      if (c < Code::FIRST_WARNING_STATUS) continue;
      Outcome o = c >= Code::FIRST_ERROR_STATUS ? Outcome::fail : Outcome::warn;
      std::size_t about = i;
      std::string reason = explain(ctx, i, c, about);
      rep.add(rule_for(c), o, reason, about);
      flagged.insert(rule_for(c));
    }
  }
  for (const auto& f : ctx.path->findings) {
    rep.add(f.rule, Outcome::fail, f.reason, f.position);
    flagged.insert(f.rule);
  }
  const std::size_t n = nodes.size();
  const std::string count = std::to_string(n) + " certificate" + (n == 1 ? "" : "s");
  auto pass = [&](const char* rule, std::string reason) {
    if (!flagged.count(rule)) rep.add(rule, Outcome::pass, std::move(reason));
  };
  pass("path.signature", "every signature on the path verifies");
  pass("path.validity", "all " + count + " are valid at " + format_rfc3339(ctx.req.at));
  pass("path.name-chaining", "issuer and subject names chain");
  pass("path.issuer-is-ca", "every issuer is a CA with keyCertSign");
  pass("path.length", "no pathLenConstraint is exceeded");
  pass("path.name-constraints", "every name is within the CAs' name constraints");
  pass("path.critical-extension", "pkiflow processes every critical extension on the path");
  pass("path.duplicate-extension", "no certificate has an extension twice");
  const auto& pol = ctx.path->policies;
  if (pol.processed)
    pass("path.policy", "valid policies: " + policy_list(pol.authority) +
                            "; acceptable to the caller: " + policy_list(pol.user) +
                            (pol.explicit_required ? " (an explicit policy is required)" : ""));
  const auto& opt = ctx.req.options;
  if (opt.max_intermediates)
    pass("path.depth", std::to_string(n >= 2 ? n - 2 : 0) + " intermediate(s), at most " +
                           std::to_string(*opt.max_intermediates) + " allowed");
  if (!opt.required_eku.empty())
    pass("path.purpose", "the certificate and its CAs allow " + policy_list(opt.required_eku));
  pass("path.rfc5280", "no other RFC 5280 problem found by Botan");
}

void revocation_rules(const RuleContext& ctx) {
  auto& rep = ctx.report;
  if (!ctx.path || !ctx.path->exception.empty()) {
    rep.add("revocation.crl", Outcome::unchecked, "no path to check revocation on");
    return;
  }
  const auto& nodes = ctx.path->nodes;
  if (nodes.size() == 1) {
    rep.add("revocation.crl", Outcome::unchecked, "the certificate is itself a trust anchor", 0);
    return;
  }
  const auto check = effective_crl_check(ctx.req);
  const bool by_profile = !ctx.req.options.crl_check && check != CrlCheck::none;
  const std::string demand =
      by_profile ? "profile " + ctx.req.profile->name + " requires it; --crl-check none lifts that"
                 : "--crl-check " + std::string(to_string(check)) + " requires it";
  const auto& results = ctx.path->revocation;
  for (std::size_t i = 0; i + 1 < nodes.size(); ++i) {
    const auto& cert = at(ctx, i);
    const auto& issuer = at(ctx, i + 1);
    if (i >= results.size()) {
      rep.add("revocation.crl", Outcome::unchecked,
              "no CRL given; " + quoted_subject(cert) + " not checked (--crl-check none)", i);
      continue;
    }
    const auto& r = results[i];
    const bool required = check == CrlCheck::all || (check == CrlCheck::leaf && i == 0);
    switch (r.status) {
      case Revocation::good:
        rep.add("revocation.crl", Outcome::pass, quoted_subject(cert) + " is not revoked", i);
        break;
      case Revocation::revoked:
        rep.add("revocation.crl", Outcome::fail, quoted_subject(cert) + " is " + r.reason, i);
        break;
      case Revocation::undetermined: {
        std::string reason =
            "the revocation status of " + quoted_subject(cert) + " is unknown: " + r.reason;
        if (required)
          rep.add("revocation.crl", Outcome::fail, reason + " (" + demand + ")", i);
        else if (r.crl_named_issuer)
          rep.add("revocation.crl", Outcome::fail, reason, i);
        else
          rep.add("revocation.crl", Outcome::unchecked,
                  "no CRL from " + quoted_subject(issuer) + " given; " + quoted_subject(cert) +
                      " not checked",
                  i);
        break;
      }
    }
  }
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out;
}

// The profile that requires the whole chain up to the root in the bundle, if any.
const SigningProfile* root_required(const RuleContext& ctx) {
  return ctx.req.profile && ctx.req.profile->chain_must_reach_root ? ctx.req.profile : nullptr;
}

// The anchor is not a self-signed root: a trusted intermediate whose root is not at hand.
bool ends_at_root(const RuleContext& ctx) {
  return at(ctx, ctx.path->nodes.size() - 1).is_self_signed();
}

void bundle_duplicates(const RuleContext& ctx) {
  const auto& pool = ctx.pool;
  if (pool.bundle_dupes.empty())
    return ctx.report.add("bundle.duplicates", Outcome::pass, "no certificate repeated");
  for (auto k : pool.bundle_dupes) {
    std::size_t idx = pool.bundle[k];
    ctx.report.add("bundle.duplicates", Outcome::warn,
                   "bundle item " + std::to_string(k + 1) + " repeats " +
                       (idx == 0 ? std::string("the certificate itself")
                                 : quoted_subject(pool.entries[idx].cert)));
  }
}

// Every intermediate must be in the bundle; the anchor counts as one when it is not a
// self-signed root (the service still needs it).
void bundle_complete(const RuleContext& ctx) {
  const auto* required = root_required(ctx);
  const auto& nodes = ctx.path->nodes;
  const std::size_t last_intermediate = ends_at_root(ctx) ? nodes.size() - 1 : nodes.size();
  std::size_t missing = 0;
  for (std::size_t i = 1; i < last_intermediate; ++i) {
    if (in_bundle(ctx.pool, nodes[i])) continue;
    ++missing;
    ctx.report.add(
        "bundle.complete", required ? Outcome::fail : Outcome::warn,
        "the chain bundle lacks the intermediate " + quoted_subject(at(ctx, i)) +
            " (found only among the trust anchors)" +
            (required ? "; " + required->name + " needs every intermediate in the chain" : ""),
        i);
  }
  if (missing == 0)
    ctx.report.add(
        "bundle.complete", Outcome::pass,
        last_intermediate <= 1
            ? "no intermediate between the certificate and the root"
            : "the bundle holds all " + std::to_string(last_intermediate - 1) + " intermediates");
}

void bundle_root(const RuleContext& ctx) {
  const auto* required = root_required(ctx);
  const std::size_t n = ctx.path->nodes.size();
  auto& rep = ctx.report;
  const std::string root = quoted_subject(at(ctx, n - 1));
  if (n == 1)
    return rep.add("bundle.root", Outcome::pass, "the certificate is itself the trust anchor");
  if (!ends_at_root(ctx))
    return rep.add(
        "bundle.root", required ? Outcome::fail : Outcome::warn,
        "the path ends at the trusted intermediate " + root +
            "; its root is not among the inputs, so the bundle cannot be shown to reach it",
        n - 1);
  if (in_bundle(ctx.pool, ctx.path->nodes[n - 1]))
    return rep.add("bundle.root", Outcome::pass, "the bundle holds the root " + root, n - 1);
  if (required)
    return rep.add("bundle.root", Outcome::fail,
                   "the bundle lacks the root " + root + "; " + required->name +
                       " requires the chain up to and including the root",
                   n - 1);
  rep.add("bundle.root", Outcome::pass,
          "the bundle does not hold the root " + root +
              " (not required without a profile that asks for it)",
          n - 1);
}

// The path's certificates, as they appear in the bundle, must follow the path.
void bundle_order(const RuleContext& ctx) {
  const auto& nodes = ctx.path->nodes;
  const auto& bundle = ctx.pool.bundle;
  std::vector<std::size_t> positions;
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    auto it = std::find(bundle.begin(), bundle.end(), nodes[i]);
    if (it != bundle.end()) positions.push_back(static_cast<std::size_t>(it - bundle.begin()));
  }
  if (std::is_sorted(positions.begin(), positions.end()))
    return ctx.report.add("bundle.order", Outcome::pass,
                          "issuing order (the certificate's issuer first)");
  ctx.report.add(
      "bundle.order", Outcome::warn,
      "the bundle is not in issuing order; list the certificate's issuer first, then its "
      "issuer, up to the root");
}

void bundle_unrelated(const RuleContext& ctx) {
  const auto& nodes = ctx.path->nodes;
  const auto& bundle = ctx.pool.bundle;
  bool unrelated = false;
  for (std::size_t k = 0; k < bundle.size(); ++k) {
    std::size_t idx = bundle[k];
    if (idx == 0 || std::find(nodes.begin(), nodes.end(), idx) != nodes.end()) continue;
    const auto earlier = bundle.begin() + static_cast<long>(k);
    if (std::find(bundle.begin(), earlier, idx) != earlier) continue;  // reported as a duplicate
    unrelated = true;
    ctx.report.add("bundle.unrelated", Outcome::warn,
                   "bundle item " + std::to_string(k + 1) + " " +
                       quoted_subject(ctx.pool.entries[idx].cert) + " is not on the path");
  }
  if (!unrelated)
    ctx.report.add("bundle.unrelated", Outcome::pass, "every bundle item is on the path");
}

}  // namespace

void bundle_rules(const RuleContext& ctx) {
  bundle_duplicates(ctx);
  if (!ctx.path) {
    for (const char* r : {"bundle.complete", "bundle.root", "bundle.order", "bundle.unrelated"})
      ctx.report.add(r, Outcome::unchecked, "no path to a trust anchor");
    return;
  }
  bundle_complete(ctx);
  bundle_root(ctx);
  bundle_order(ctx);
  bundle_unrelated(ctx);
}

void csr_rules(const RuleContext& ctx) {
  if (!ctx.req.csr) return;
  auto& rep = ctx.report;
  const auto& csr = *ctx.req.csr;
  const auto& cert = botan(ctx.req.cert);
  if (csr.verify_signature())
    rep.add("csr.signature", Outcome::pass, "the CSR's self-signature verifies");
  else
    rep.add("csr.signature", Outcome::fail, "the CSR's self-signature does not verify");
  std::vector<uint8_t> cert_key;
  try {
    cert_key = describe_public_key(*cert.subject_public_key()).spki_der;
  } catch (const Botan::Exception&) {
  }
  if (cert_key == csr.public_key().spki_der)
    rep.add("csr.key", Outcome::pass, "the certificate carries the CSR's public key", 0);
  else
    rep.add("csr.key", Outcome::fail,
            "the certificate's public key is not the CSR's key (signed from another request?)", 0);
  const auto& req_dn = botan(csr).subject_dn();
  if (cert.subject_dn() == req_dn)
    rep.add("csr.subject", Outcome::pass, "subject matches the CSR", 0);
  else
    rep.add(
        "csr.subject", Outcome::fail,
        "subject " + quoted_subject(cert) + " differs from the CSR's '" + format_dn(req_dn) + "'",
        0);
}

namespace {

// RFC 5280 4.2.1.9: basicConstraints MUST be critical in CA certificates.
void profile_basic_constraints(const RuleContext& ctx, const SigningProfile& p,
                               const Botan::X509_Certificate& cert) {
  const auto& ext = cert.v3_extensions();
  auto bc = ext.get_extension_object_as<CE::Basic_Constraints>();
  const bool critical = ext.critical_extension_set(CE::Basic_Constraints::static_oid());
  auto add = [&](Outcome o, const std::string& reason) {
    ctx.report.add("profile.basic-constraints", o, reason, 0);
  };
  if (!p.is_ca) {
    if (bc && bc->get_is_ca())
      return add(Outcome::fail, "CA:TRUE; " + p.name + " needs an end-entity certificate");
    return add(Outcome::pass, "end-entity certificate (not a CA)");
  }
  if (!bc)
    return add(Outcome::fail,
               "basicConstraints is absent; " + p.name + " needs CA:TRUE (critical)");
  if (!bc->get_is_ca())
    return add(Outcome::fail, "CA:FALSE; " + p.name + " needs a CA certificate (CA:TRUE)");
  if (!critical) return add(Outcome::fail, "basicConstraints CA:TRUE is not marked critical");
  add(Outcome::pass, "CA:TRUE, critical");
}

void profile_key_usage(const RuleContext& ctx, const SigningProfile& p,
                       const Botan::X509_Certificate& cert) {
  const auto& ext = cert.v3_extensions();
  auto add = [&](Outcome o, const std::string& reason) {
    ctx.report.add("profile.key-usage", o, reason, 0);
  };
  if (!ext.extension_set(CE::Key_Usage::static_oid()))
    return add(Outcome::fail,
               "keyUsage is absent; " + p.name + " needs " + join(p.key_usage.names()));
  const KeyUsageSet have = from_botan(cert.constraints());
  const std::string missing = join(KeyUsageSet(p.key_usage.bits() & ~have.bits()).names());
  if (!missing.empty())
    return add(Outcome::fail, "keyUsage lacks " + missing + " (" + p.name + ")");
  if (p.key_usage_critical && !ext.critical_extension_set(CE::Key_Usage::static_oid()))
    return add(Outcome::fail, "keyUsage is not critical; " + p.name + " requires it critical");
  add(Outcome::pass, "keyUsage has what " + p.name + " needs");
}

void profile_ext_key_usage(const RuleContext& ctx, const SigningProfile& p,
                           const Botan::X509_Certificate& cert) {
  if (p.ext_key_usage.empty()) return;
  const auto& have = cert.extended_key_usage();
  if (have.empty() && p.ext_key_usage_may_be_absent)
    return ctx.report.add("profile.ext-key-usage", Outcome::pass,
                          "extendedKeyUsage is absent, which " + p.name + " allows", 0);
  std::vector<std::string> missing;
  for (const auto& e : p.ext_key_usage) {
    auto oid = eku_oid(e);
    bool found = oid && std::any_of(have.begin(), have.end(),
                                    [&](const Botan::OID& o) { return o.to_string() == *oid; });
    if (!found) missing.push_back(e);
  }
  if (missing.empty())
    return ctx.report.add("profile.ext-key-usage", Outcome::pass,
                          "extendedKeyUsage has what " + p.name + " needs", 0);
  ctx.report.add("profile.ext-key-usage", Outcome::fail,
                 (have.empty() ? std::string("extendedKeyUsage is absent")
                               : "extendedKeyUsage lacks " + join(missing)) +
                     "; " + p.name + " requires " + join(missing),
                 0);
}

// RFC 5280 4.2.1.9: pathLenConstraint is the number of non-self-issued intermediate CAs that may
// follow. The endpoint adds p.ca_room_below CAs under this certificate, so this one must allow
// that many, and each issuer on the path must allow the CAs between it and this one plus those.
void profile_path_room(const RuleContext& ctx, const SigningProfile& p,
                       const Botan::X509_Certificate& cert) {
  if (p.ca_room_below == 0) return;
  const std::string room = std::to_string(p.ca_room_below);
  auto fail = [&](const std::string& reason) {
    ctx.report.add("profile.path-room", Outcome::fail, reason, 0);
  };
  if (cert.is_CA_cert() && cert.path_limit() != Botan::Cert_Extension::NO_CERT_PATH_LIMIT &&
      cert.path_limit() < p.ca_room_below)
    return fail("pathLenConstraint is " + std::to_string(cert.path_limit()) + "; " + p.name +
                " needs at least " + room +
                " (or none): the service signs its own intermediate "
                "CA under this one, so a smaller value breaks every inspected connection");
  if (!ctx.path) {
    return ctx.report.add("profile.path-room", Outcome::unchecked,
                          "the issuers' path lengths are unchecked: no path to a trust anchor", 0);
  }
  std::size_t below = p.ca_room_below;  // CAs under the issuer being looked at
  for (std::size_t i = 1; i < ctx.path->nodes.size(); ++i) {
    const auto& child = at(ctx, i - 1);
    if (child.subject_dn() != child.issuer_dn()) ++below;  // self-issued ones do not count
    const auto& issuer = at(ctx, i);
    const std::size_t limit = issuer.path_limit();
    if (limit != Botan::Cert_Extension::NO_CERT_PATH_LIMIT && limit < below)
      return fail(quoted_subject(issuer) + " has pathLenConstraint " + std::to_string(limit) +
                  " but " + std::to_string(below) +
                  " CA certificate(s) would follow it (this one and the " +
                  "service's intermediate): the issuer does not allow " + p.name + " here");
  }
  ctx.report.add("profile.path-room", Outcome::pass,
                 "the path leaves room for " + room + " CA certificate(s) below this one", 0);
}

void profile_lifetime(const RuleContext& ctx, const SigningProfile& p,
                      const Botan::X509_Certificate& cert) {
  if (!p.min_validity_days) return;
  const long days = days_left(cert, ctx.req.at);
  if (days < *p.min_validity_days)
    return ctx.report.add("profile.lifetime", Outcome::fail,
                          "valid for " + std::to_string(days) + " more days; " + p.name +
                              " needs at least " + std::to_string(*p.min_validity_days),
                          0);
  ctx.report.add("profile.lifetime", Outcome::pass,
                 "valid for " + std::to_string(days) + " more days", 0);
}

void profile_crl(const RuleContext& ctx, const SigningProfile& p,
                 const Botan::X509_Certificate& cert) {
  if (!p.crl_expected) return;
  const auto urls = crl_urls(cert);
  const bool http = std::any_of(urls.begin(), urls.end(), [](const std::string& u) {
    return u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
  });
  if (http)
    return ctx.report.add("profile.crl", Outcome::pass, "names an http CRL distribution point", 0);
  ctx.report.add("profile.crl", Outcome::warn,
                 "names no http CRL distribution point; without a CRL URL, Entra lets revoked user "
                 "certificates from this CA sign in",
                 0);
}

// An http(s) URL the service can fetch: a scheme, a host, no spaces (graph-api.md 2: the CRL URL
// is fetched over HTTP by Entra).
bool reachable_looking(const std::string& u) {
  const auto scheme = u.find("://");
  if (scheme == std::string::npos) return false;
  const std::string rest = u.substr(scheme + 3);
  const std::string host = rest.substr(0, rest.find_first_of("/?#"));
  return !host.empty() && host.find_first_of(" \t@") == std::string::npos &&
         u.find(' ') == std::string::npos;
}

void profile_crl_url(const RuleContext& ctx, const SigningProfile& p,
                     const Botan::X509_Certificate& cert) {
  if (!p.crl_expected) return;
  const auto urls = crl_urls(cert);
  for (const auto& u : urls) {
    if (u.rfind("ldap://", 0) == 0 || u.rfind("ldaps://", 0) == 0) continue;  // allowed, unused
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
      return ctx.report.add("profile.crl-url", Outcome::fail,
                            "CRL distribution point '" + u + "' is not an http(s) or ldap URL", 0);
    if (!reachable_looking(u))
      return ctx.report.add("profile.crl-url", Outcome::fail,
                            "CRL distribution point '" + u + "' is not a fetchable http(s) URL", 0);
  }
  // Botan drops a distribution point whose URI it cannot parse: an extension that is present
  // but yields no URL holds a malformed one.
  const bool has_extension =
      cert.v3_extensions().extension_set(Botan::OID::from_string("X509v3.CRLDistributionPoints"));
  if (has_extension && urls.empty())
    return ctx.report.add("profile.crl-url", Outcome::fail,
                          "the CRL distribution point extension holds no readable URL (a "
                          "malformed URI?)",
                          0);
  ctx.report.add("profile.crl-url", Outcome::pass, "every http(s) CRL URL is well formed", 0);
}

void profile_size(const RuleContext& ctx, const SigningProfile& p,
                  const Botan::X509_Certificate& cert) {
  if (p.max_der_bytes == 0) return;
  const std::size_t size = cert.BER_encode().size();
  if (size > p.max_der_bytes)
    return ctx.report.add("profile.size", Outcome::fail,
                          std::to_string(size) + " bytes of DER; " + p.name + " allows at most " +
                              std::to_string(p.max_der_bytes),
                          0);
  ctx.report.add("profile.size", Outcome::pass, std::to_string(size) + " bytes of DER", 0);
}

// CBA: the policy OIDs a user certificate under this CA can carry and keep valid, from the path's
// policy processing (Entra's authentication bindings map policy OIDs to an authentication
// strength, so a binding on an OID the path does not allow rests on the user certificate alone).
void profile_user_policies(const RuleContext& ctx, const SigningProfile& p) {
  if (!p.lists_issued_policies) return;
  auto& rep = ctx.report;
  const char* rule = "profile.user-policies";
  if (ctx.path && ctx.path->exception.empty() && ctx.path->nodes.size() == 1)
    return rep.add(rule, Outcome::pass,
                   "the CA is itself a trust anchor, which restricts no policy: user certificates "
                   "under it can carry any policy OID",
                   0);
  if (!ctx.path || !ctx.path->policies.processed)
    return rep.add(rule, Outcome::unchecked, "no path through this CA to process policies on", 0);
  const auto& pol = ctx.path->policies;
  if (!pol.issued)
    return rep.add(rule, Outcome::unchecked,
                   "the certificate is not a CA: it issues no user "
                   "certificates",
                   0);
  const auto& issued = *pol.issued;
  const std::string must = pol.issued_explicit_required
                               ? "; the path requires an explicit policy, so a user certificate "
                                 "must carry one of them"
                               : "";
  if (issued.empty())
    return rep.add(rule, Outcome::warn,
                   "no certificate policy is valid below this CA (a CA on the path asserts no "
                   "certificatePolicies, or none that reaches it): an Entra binding on a policy "
                   "OID rests on the user certificate alone" +
                       std::string(pol.issued_explicit_required
                                       ? ", and with an explicit policy required no user "
                                         "certificate under this CA validates"
                                       : ""),
                   0);
  if (std::find(issued.begin(), issued.end(), kAnyPolicy) != issued.end())
    return rep.add(rule, Outcome::pass,
                   "user certificates under this CA can carry any policy OID (no CA on the path "
                   "restricts them)" +
                       must,
                   0);
  rep.add(rule, Outcome::pass,
          "user certificates under this CA can carry the policy OIDs " + policy_list(issued) +
              " (a user certificate carrying another has no valid policy on this path)" + must,
          0);
}

}  // namespace

void profile_rules(const RuleContext& ctx) {
  const SigningProfile* p = ctx.req.profile;
  if (!p) return;
  const auto& cert = botan(ctx.req.cert);
  profile_basic_constraints(ctx, *p, cert);
  profile_key_usage(ctx, *p, cert);
  profile_ext_key_usage(ctx, *p, cert);
  profile_path_room(ctx, *p, cert);
  profile_lifetime(ctx, *p, cert);
  profile_crl(ctx, *p, cert);
  profile_crl_url(ctx, *p, cert);
  profile_size(ctx, *p, cert);
  profile_user_policies(ctx, *p);
}

void hygiene_rules(const RuleContext& ctx) {
  auto& rep = ctx.report;
  std::vector<std::size_t> positions;
  std::vector<const Botan::X509_Certificate*> certs;
  if (ctx.path) {
    for (std::size_t i = 0; i < ctx.path->nodes.size(); ++i)
      certs.push_back(&at(ctx, i));
  } else {
    certs.push_back(&botan(ctx.req.cert));
  }
  bool weak_key = false, weak_hash = false;
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const auto& c = *certs[i];
    try {
      auto k = key_strength(c);
      const std::size_t min = minimum_key_bits(k.algorithm);
      if (k.bits < min) {
        weak_key = true;
        rep.add("hygiene.key-size", Outcome::fail,
                quoted_subject(c) + " has a " + std::to_string(k.bits) + "-bit " + k.algorithm +
                    " key (minimum " + std::to_string(min) + ")",
                i);
      }
    } catch (const Botan::Exception& e) {
      weak_key = true;
      rep.add("hygiene.key-size", Outcome::fail,
              quoted_subject(c) + ": unsupported public key (" + e.what() + ")", i);
    }
    const bool anchor_self_signed = ctx.path && i + 1 == certs.size() && c.is_self_signed();
    const std::string hash = signature_hash(c.signature_algorithm());
    if (!anchor_self_signed && weak_signature_hash(hash)) {
      weak_hash = true;
      rep.add("hygiene.signature-hash", Outcome::fail,
              quoted_subject(c) + " is signed with " + hash, i);
    }
  }
  if (!weak_key) rep.add("hygiene.key-size", Outcome::pass, "all keys meet the minimum size");
  if (!weak_hash) rep.add("hygiene.signature-hash", Outcome::pass, "no SHA-1 or weaker signature");
  const auto& leaf = botan(ctx.req.cert);
  const long days = days_left(leaf, ctx.req.at);
  const bool expired = time_point_of(leaf.not_after()) < ctx.req.at;
  if (expired || days < ctx.req.min_remaining_days)
    rep.add("hygiene.remaining-validity", Outcome::warn,
            expired ? "expired on " + date(leaf.not_after())
                    : "expires in " + std::to_string(days) + " days (" + date(leaf.not_after()) +
                          "), under the minimum of " + std::to_string(ctx.req.min_remaining_days),
            0);
  else
    rep.add("hygiene.remaining-validity", Outcome::pass,
            std::to_string(days) + " days left (until " + date(leaf.not_after()) + ")", 0);
  const auto serial = leaf.serial_number();
  std::size_t first = 0;
  while (first < serial.size() && serial[first] == 0)
    ++first;
  std::size_t bits = 0;
  if (first < serial.size())
    bits = (serial.size() - first - 1) * 8 +
           static_cast<std::size_t>(8 - std::countl_zero(serial[first]));
  if (bits < 64)
    rep.add("hygiene.serial", Outcome::warn,
            "serial number has only " + std::to_string(bits) + " bits (64 random bits recommended)",
            0);
  else
    rep.add("hygiene.serial", Outcome::pass, "serial number of " + std::to_string(bits) + " bits",
            0);
}

}  // namespace pkiflow::pki::detail

#include "engine/pki/validate/validator.hpp"

#include <botan/exceptn.h>
#include <botan/x509path.h>
#include <algorithm>
#include <unordered_map>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/validate/detail/crl_processing.hpp"
#include "engine/pki/validate/detail/path_builder.hpp"
#include "engine/pki/validate/detail/path_checker.hpp"
#include "engine/pki/validate/detail/rules.hpp"
#include "engine/pki/x509_botan.hpp"
#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::pki {

namespace {

using Code = Botan::Certificate_Status_Code;

// The trust anchor may be an intermediate the user chose to trust; Botan's check_chain assumes
// the last certificate is a self-signed root, so drop what it says about the anchor's own
// (non-existent) self-signature.
void accept_intermediate_anchor(const Botan::X509_Certificate& anchor, std::set<Code>& status) {
  if (anchor.is_self_signed()) return;
  status.erase(Code::CHAIN_LACKS_TRUST_ROOT);
  status.erase(Code::SIGNATURE_ERROR);
  status.erase(Code::CHAIN_NAME_MISMATCH);
}

bool signature_failed(const Botan::CertificatePathStatusCodes& status) {
  for (const auto& s : status)
    for (auto c : s)
      if (static_cast<uint32_t>(c) >= 5000) return true;
  return false;
}

}  // namespace

namespace {

// RFC 5280's OBJECT IDENTIFIER in dotted form: a first arc 0-2, then numbers without leading zeros.
bool dotted_oid(const std::string& s) {
  if (s.size() < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.') return false;
  std::size_t start = 2;
  while (start <= s.size()) {
    const auto end = std::min(s.find('.', start), s.size());
    if (end == start) return false;
    if (s[start] == '0' && end - start > 1) return false;
    for (std::size_t k = start; k < end; ++k)
      if (s[k] < '0' || s[k] > '9') return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

CrlCheck effective_crl_check(const ValidationRequest& req) {
  if (req.options.crl_check) return *req.options.crl_check;
  if (req.profile && req.profile->crl_check) return *req.profile->crl_check;
  return CrlCheck::none;
}

Result<ValidationOptions> make_options(const OptionText& t, bool manifest) {
  auto name = [&](const char* cli, const char* key) { return std::string(manifest ? key : cli); };
  ValidationOptions o;
  if (!t.crl_check.empty()) {
    o.crl_check = parse_crl_check(t.crl_check);
    if (!o.crl_check)
      return Error(ErrorKind::invalid_input, name("--crl-check", "crl_check"),
                   "'" + t.crl_check + "' is not one of none, leaf, all");
  }
  if (!t.purpose.empty() && t.purpose != "any") {
    static const char* kPurposes[] = {"serverAuth", "clientAuth", "codeSigning"};
    if (std::find(std::begin(kPurposes), std::end(kPurposes), t.purpose) == std::end(kPurposes))
      return Error(ErrorKind::invalid_input, name("--purpose", "purpose"),
                   "'" + t.purpose + "' is not one of serverAuth, clientAuth, codeSigning, any");
    o.required_eku.push_back(*eku_oid(t.purpose));
  }
  for (const auto& e : t.eku) {
    auto oid = eku_oid(e);
    if (!oid || !dotted_oid(*oid))
      return Error(ErrorKind::invalid_input, name("--eku", "eku"),
                   "'" + e + "' is not an extended key usage name or a dotted OID");
    if (std::find(o.required_eku.begin(), o.required_eku.end(), *oid) == o.required_eku.end())
      o.required_eku.push_back(*oid);
  }
  if (t.max_depth) {
    if (*t.max_depth < 0 || *t.max_depth > 64)
      return Error(ErrorKind::invalid_input, name("--max-depth", "max_depth"),
                   std::to_string(*t.max_depth) + " is outside 0-64 (intermediate CAs)");
    o.max_intermediates = static_cast<std::size_t>(*t.max_depth);
  }
  if (!t.policies.empty()) {
    o.initial_policy_set.clear();
    for (const auto& item : t.policies) {
      std::size_t start = 0;
      while (start <= item.size()) {
        const auto end = std::min(item.find(',', start), item.size());
        std::string oid = item.substr(start, end - start);
        if (oid == "anyPolicy") oid = kAnyPolicy;
        if (!dotted_oid(oid))
          return Error(ErrorKind::invalid_input, name("--policy", "policy"),
                       "'" + oid + "' is not a dotted policy OID (or anyPolicy)");
        if (std::find(o.initial_policy_set.begin(), o.initial_policy_set.end(), oid) ==
            o.initial_policy_set.end())
          o.initial_policy_set.push_back(oid);
        start = end + 1;
      }
    }
  }
  o.require_explicit_policy = t.require_explicit_policy;
  o.inhibit_policy_mapping = t.inhibit_policy_mapping;
  o.inhibit_any_policy = t.inhibit_any_policy;
  o.lenient = t.lenient;
  return o;
}

struct Validator::Impl {
  ValidatorLimits limits;
  // Minimum strength 80 keeps SHA-1 and RSA-1024 out of Botan's verdict: pkiflow's own
  // hygiene rules report them with clearer reasons (and Botan still verifies the signatures).
  Botan::Path_Validation_Restrictions restrictions{false, 80};
  // Botan's check_chain order and codes, with issuer keys and verified signatures kept.
  detail::PathChecker checker{restrictions};

  // What one validate() call shares between its candidate paths.
  struct Request {
    const detail::Pool& pool;
    std::chrono::system_clock::time_point at;
    const ValidationOptions& options;
    CrlCheck crl_check;  // options.crl_check, or the profile's demand
    std::vector<detail::CrlEntry> crls;
    std::vector<const Botan::X509_Certificate*> certs;  // every certificate at hand
    bool revocation = false;                            // CRLs given or required
  };

  // A CRL signer that is not on the path being checked must have a valid path of its own to the
  // same trust anchor (RFC 5280 6.3.3 (f)); checked one level deep (the signer's own CRLs must
  // then be signed by its path).
  bool signer_valid(const Request& r, const Botan::X509_Certificate& signer, std::size_t anchor,
                    int depth) {
    if (depth >= 2) return false;
    std::size_t target = r.pool.entries.size();
    for (std::size_t k = 0; k < r.pool.entries.size(); ++k)
      if (r.pool.entries[k].cert == signer) target = k;
    if (target == r.pool.entries.size()) return false;
    if (target == anchor) return true;
    detail::PathLimits pl{limits.max_pool, limits.max_depth, limits.max_candidates,
                          limits.max_steps};
    detail::PathBuilder builder(r.pool.entries, target, r.at, pl);
    ValidationOptions sub;
    sub.crl_check = r.crl_check == CrlCheck::none ? CrlCheck::none : CrlCheck::all;
    Request inner{r.pool, r.at, sub, *sub.crl_check, {}, {}, r.revocation};
    inner.crls = r.crls;
    inner.certs = r.certs;
    bool ok = false;
    builder.search([&](const std::vector<std::size_t>& nodes) {
      if (nodes.back() != anchor) return false;
      ok = check(inner, nodes, depth + 1).errors == 0;
      return ok;
    });
    return ok;
  }

  void revocation(const Request& r, const std::vector<Botan::X509_Certificate>& path,
                  detail::PathCheck& pc, int depth) {
    if (!r.revocation || path.size() < 2) return;
    const detail::CrlProcessor crls(r.crls, r.certs, r.at);
    const std::size_t anchor = pc.nodes.back();
    const detail::SignerCheck signer_ok = [&](const Botan::X509_Certificate& signer) {
      return signer_valid(r, signer, anchor, depth);
    };
    for (std::size_t p = 0; p + 1 < path.size(); ++p) {
      pc.revocation.push_back(crls.status(path, p, signer_ok));
      const auto& rr = pc.revocation.back();
      const bool required =
          r.crl_check == CrlCheck::all || (r.crl_check == CrlCheck::leaf && p == 0);
      // A CRL of the issuer that was given but cannot be used (stale, badly signed, another
      // scope) fails as well: the caller meant to check this certificate.
      if (rr.status == detail::Revocation::revoked ||
          (rr.status == detail::Revocation::undetermined && (required || rr.crl_named_issuer)))
        ++pc.errors;
    }
  }

  // Keys under RSA 2048 / EC 256 bits, by SubjectPublicKeyInfo (parsed once; bounded).
  std::unordered_map<std::string, bool> weak_keys;

  // Signatures with SHA-1 or weaker and weak keys: the hygiene rules report them; counted here
  // so the path builder tries a path without them first (a CA cross-signed with SHA-256 next to
  // its SHA-1 certificate).
  std::size_t weak_links(const std::vector<Botan::X509_Certificate>& path) {
    std::size_t weak = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const auto& c = path[i];
      const bool anchor_self_signed = i + 1 == path.size() && c.is_self_signed();
      const std::string hash = signature_hash(c.signature_algorithm());
      if (!anchor_self_signed && weak_signature_hash(hash)) ++weak;
      const auto& spki = c.subject_public_key_info();
      std::string id(spki.begin(), spki.end());
      auto it = weak_keys.find(id);
      if (it == weak_keys.end()) {
        bool is_weak = true;
        try {
          auto k = key_strength(c);
          is_weak = k.bits < minimum_key_bits(k.algorithm);
        } catch (const Botan::Exception&) {
        }
        if (weak_keys.size() >= 4096) weak_keys.clear();
        it = weak_keys.emplace(std::move(id), is_weak).first;
      }
      if (it->second) ++weak;
    }
    return weak;
  }

  detail::PathCheck check(const Request& r, const std::vector<std::size_t>& nodes, int depth = 0) {
    detail::PathCheck pc;
    pc.nodes = nodes;
    std::vector<Botan::X509_Certificate> path;
    path.reserve(nodes.size());
    for (auto n : nodes)
      path.push_back(r.pool.entries[n].cert);
    try {
      pc.status = checker.check(path, r.at);
      accept_intermediate_anchor(path.back(), pc.status.back());
      // pkiflow processes these itself (path_processing.cpp), over every name form and with
      // the policy extensions Botan does not know.
      // A negative serial and keyCertSign on an end entity are section 4 profile matters
      // (x509.serial, x509.key-usage), which --lenient may relax; path validation does not
      // depend on them.
      for (auto& s : pc.status) {
        s.erase(Code::UNKNOWN_CRITICAL_EXTENSION);
        s.erase(Code::NAME_CONSTRAINT_ERROR);
        s.erase(Code::CERT_SERIAL_NEGATIVE);
      }
      pc.status.front().erase(Code::INVALID_USAGE);
      if (!signature_failed(pc.status))
        pc.findings = detail::process_path(path, r.options, &pc.policies);
    } catch (const Botan::Exception& e) {
      pc.exception = e.what();
      pc.status.assign(nodes.size(), {});
      pc.errors = 1000;
      return pc;
    }
    for (const auto& s : pc.status)
      for (auto c : s)
        if (c >= Code::FIRST_ERROR_STATUS) ++pc.errors;
    pc.errors += pc.findings.size();
    pc.errors += weak_links(path);
    // Revocation only for a path that holds otherwise: it is the costly part.
    if (pc.errors == 0) revocation(r, path, pc, depth);
    return pc;
  }
};

Validator::Validator(ValidatorLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
Validator::~Validator() = default;

ChainReport Validator::validate(const ValidationRequest& req) {
  ChainReport report;
  report.at = req.at;
  if (req.profile) report.profile = req.profile->name;
  const detail::Pool pool = detail::make_pool(req);
  detail::PathLimits limits{impl_->limits.max_pool, impl_->limits.max_depth,
                            impl_->limits.max_candidates, impl_->limits.max_steps};
  detail::PathBuilder builder(pool.entries, 0, req.at, limits);
  const CrlCheck crl_check = effective_crl_check(req);
  Impl::Request request{pool, req.at, req.options, crl_check, {}, {}, false};
  request.revocation = !req.crls.empty() || crl_check != CrlCheck::none;
  if (request.revocation) {
    std::vector<Botan::X509_CRL> crls;
    for (const auto& c : req.crls)
      crls.push_back(botan(c));
    request.crls = detail::prepare_crls(crls);
    for (const auto& e : pool.entries)
      request.certs.push_back(&e.cert);
  }
  std::optional<detail::PathCheck> best;
  bool valid = false;
  builder.search([&](const std::vector<std::size_t>& nodes) {
    detail::PathCheck pc = impl_->check(request, nodes);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& s = pc.status[i];
      if (i + 1 < nodes.size() && s.count(Code::SIGNATURE_ERROR))
        builder.mark_bad_edge(nodes[i], nodes[i + 1]);
      if (s.count(Code::CERT_HAS_EXPIRED) || s.count(Code::CERT_NOT_YET_VALID))
        builder.mark_bad_node(nodes[i]);
    }
    valid = pc.errors == 0;
    if (valid || !best || pc.errors < best->errors) best = std::move(pc);
    return valid;
  });
  // The report shows revocation for the path it shows, even one that failed before it.
  if (best && best->exception.empty() && best->revocation.empty() && best->errors > 0) {
    std::vector<Botan::X509_Certificate> path;
    for (auto n : best->nodes)
      path.push_back(pool.entries[n].cert);
    impl_->revocation(request, path, *best, 0);
  }
  report.candidates_checked = builder.candidates();
  report.crl_check = to_string(crl_check);
  if (best && best->policies.processed)
    report.policies =
        PolicySets{best->policies.authority, best->policies.user, best->policies.explicit_required,
                   best->policies.issued, best->policies.issued_explicit_required};
  if (!builder.limit_hit().empty()) report.limits_hit.push_back(builder.limit_hit());
  std::vector<std::size_t> shown = best ? best->nodes : builder.longest_partial();
  for (auto n : shown) {
    const auto& c = pool.entries[n].cert;
    report.path.push_back(
        {format_dn(c.subject_dn()), format_dn(c.issuer_dn()), sha256_hex(c), pool.source[n]});
  }
  detail::RuleContext ctx{req, pool, best, valid, report};
  detail::path_rules(ctx, shown);
  detail::revocation_rules(ctx);
  detail::bundle_rules(ctx);
  detail::csr_rules(ctx);
  detail::profile_rules(ctx);
  detail::x509_rules(ctx);
  detail::hygiene_rules(ctx);
  return report;
}

Result<TrustStore> TrustStore::load(const std::string& where) {
  namespace fs = std::filesystem;
  std::vector<Certificate> anchors;
  if (where == "system") {
    static const char* kBundles[] = {"/etc/ssl/certs/ca-certificates.crt",
                                     "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};
    for (const char* path : kBundles) {
      if (!fs::exists(path)) continue;
      auto certs = Certificate::load_all(path);
      if (!certs) return certs.error();
      return TrustStore(std::move(*certs));
    }
    return Error(ErrorKind::io, "--trust system",
                 "no system CA bundle found (install ca-certificates)");
  }
  std::error_code ec;
  if (fs::is_directory(where, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(where, ec)) {
      auto ext = e.path().extension().string();
      if (ext == ".pem" || ext == ".crt" || ext == ".cer" || ext == ".der")
        files.push_back(e.path());
    }
    if (ec) return Error(ErrorKind::io, where, "cannot list directory: " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto certs = Certificate::load_all(f);
      if (!certs) return certs.error();
      for (auto& c : *certs)
        anchors.push_back(std::move(c));
    }
    if (anchors.empty())
      return Error(ErrorKind::parse, where,
                   "directory holds no certificates (*.pem, *.crt, *.cer, *.der)");
    return TrustStore(std::move(anchors));
  }
  auto certs = Certificate::load_all(where);
  if (!certs) return certs.error();
  if (certs->empty()) return Error(ErrorKind::parse, where, "empty file, expected trust anchors");
  return TrustStore(std::move(*certs));
}

}  // namespace pkiflow::pki

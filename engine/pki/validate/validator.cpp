#include "engine/pki/validate/validator.hpp"

#include <botan/exceptn.h>
#include <botan/x509path.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/validate/detail/path_builder.hpp"
#include "engine/pki/validate/detail/path_checker.hpp"
#include "engine/pki/validate/detail/rules.hpp"
#include "engine/pki/x509_botan.hpp"

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

}  // namespace

struct Validator::Impl {
  ValidatorLimits limits;
  // Minimum strength 80 keeps SHA-1 and RSA-1024 out of Botan's verdict: pkiflow's own
  // hygiene rules report them with clearer reasons (and Botan still verifies the signatures).
  Botan::Path_Validation_Restrictions restrictions{false, 80};
  // Botan's check_chain order and codes, with issuer keys and verified signatures kept.
  detail::PathChecker checker{restrictions};

  detail::PathCheck check(const detail::Pool& pool, const std::vector<std::size_t>& nodes,
                          std::chrono::system_clock::time_point at) {
    detail::PathCheck pc;
    pc.nodes = nodes;
    std::vector<Botan::X509_Certificate> path;
    path.reserve(nodes.size());
    for (auto n : nodes)
      path.push_back(pool.entries[n].cert);
    try {
      pc.status = checker.check(path, at);
      accept_intermediate_anchor(path.back(), pc.status.back());
    } catch (const Botan::Exception& e) {
      pc.exception = e.what();
      pc.status.assign(nodes.size(), {});
      pc.errors = 1000;
      return pc;
    }
    for (const auto& s : pc.status)
      for (auto c : s)
        if (c >= Code::FIRST_ERROR_STATUS) ++pc.errors;
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
  std::optional<detail::PathCheck> best;
  bool valid = false;
  builder.search([&](const std::vector<std::size_t>& nodes) {
    detail::PathCheck pc = impl_->check(pool, nodes, req.at);
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
  report.candidates_checked = builder.candidates();
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

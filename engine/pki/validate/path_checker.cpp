#include "engine/pki/validate/detail/path_checker.hpp"

#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/x509_ext.h>
#include <mutex>

namespace pkiflow::pki::detail {

namespace {

using Code = Botan::Certificate_Status_Code;

std::string bytes_key(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

// Everything a signature verification depends on, length-prefixed so no two inputs collide.
std::string verification_key(const Botan::X509_Certificate& subject,
                             const Botan::X509_Certificate& issuer) {
  auto h = Botan::HashFunction::create_or_throw("SHA-256");
  for (const auto* part :
       {&subject.signed_body(), &subject.signature(), &issuer.subject_public_key_info()}) {
    const uint64_t n = part->size();
    h->update_be(n);
    h->update(*part);
  }
  auto d = h->final();
  return std::string(d.begin(), d.end());
}

// Self-signatures of the roots that end paths, remembered for the process: every validation
// of a run (one Validator each) ends at the same few anchors. Bounded and locked: validations
// run on several threads.
class AnchorVerdicts {
 public:
  template <class Verify>
  auto get(const std::string& id, Verify&& verify) {
    {
      const std::lock_guard lock(mutex_);
      if (auto it = seen_.find(id); it != seen_.end()) return it->second;
    }
    auto v = verify();
    const std::lock_guard lock(mutex_);
    if (seen_.size() >= kMax) seen_.clear();
    seen_.emplace(id, v);
    return v;
  }

 private:
  static constexpr std::size_t kMax = 64;
  std::mutex mutex_;
  std::unordered_map<std::string, std::pair<Code, std::string>> seen_;
};

AnchorVerdicts& anchor_verdicts() {
  static AnchorVerdicts v;
  return v;
}

// A verifier per issuer key and signature algorithm, kept for the process: building one is a
// good part of an ECDSA verification (Botan precomputes a table for the key), and a run checks
// every certificate it issues against the same CA key. Bounded and locked (validations run on
// several threads); each verifier is used by one thread at a time. The result is what Botan's
// X509_Object::verify_signature gives; anything unusual is left to that function itself.
class IssuerVerifiers {
 public:
  std::pair<Code, std::string> verify(const Botan::X509_Certificate& subject,
                                      const Botan::X509_Certificate& issuer,
                                      const std::shared_ptr<const Botan::Public_Key>& key) {
    std::string id;
    for (const auto& part :
         {issuer.subject_public_key_info(), subject.signature_algorithm().BER_encode()}) {
      id += std::to_string(part.size()) + ":";
      id.append(part.begin(), part.end());
    }
    std::shared_ptr<Entry> e;
    {
      const std::lock_guard lock(mutex_);
      if (auto it = kept_.find(id); it != kept_.end()) e = it->second;
    }
    if (!e) {
      try {
        e = std::make_shared<Entry>(key, subject.signature_algorithm());
      } catch (...) {
        return subject.verify_signature(*key);  // its codes for an unusable algorithm
      }
      const std::lock_guard lock(mutex_);
      if (kept_.size() >= kMax) kept_.clear();
      kept_.emplace(std::move(id), e);
    }
    const std::lock_guard lock(e->mutex);
    try {
      if (e->verifier.verify_message(subject.tbs_data(), subject.signature()))
        return {Code::VERIFIED, e->verifier.hash_function()};
      return {Code::SIGNATURE_ERROR, ""};
    } catch (...) {
      return subject.verify_signature(*key);
    }
  }

 private:
  struct Entry {
    Entry(std::shared_ptr<const Botan::Public_Key> k, const Botan::AlgorithmIdentifier& alg)
        : key(std::move(k)), verifier(*key, alg) {}
    std::shared_ptr<const Botan::Public_Key> key;  // the verifier is made from it
    std::mutex mutex;
    Botan::PK_Verifier verifier;
  };
  static constexpr std::size_t kMax = 64;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> kept_;
};

IssuerVerifiers& issuer_verifiers() {
  static IssuerVerifiers v;
  return v;
}

}  // namespace

PathChecker::PathChecker(const Botan::Path_Validation_Restrictions& restrictions)
    : restrictions_(restrictions) {}

std::shared_ptr<const Botan::Public_Key> PathChecker::issuer_key(
    const Botan::X509_Certificate& issuer) {
  auto id = bytes_key(issuer.subject_public_key_info());
  auto it = keys_.find(id);
  if (it != keys_.end()) return it->second;
  std::shared_ptr<const Botan::Public_Key> key;
  try {
    key = issuer.subject_public_key();
  } catch (...) {
    key = nullptr;  // remembered: CERT_PUBKEY_INVALID every time
  }
  if (keys_.size() >= kMaxKeys) keys_.clear();
  keys_.emplace(std::move(id), key);
  return key;
}

PathChecker::Verdict PathChecker::verify(const Botan::X509_Certificate& subject,
                                         const Botan::X509_Certificate& issuer,
                                         const std::shared_ptr<const Botan::Public_Key>& key) {
  auto id = verification_key(subject, issuer);
  auto it = verdicts_.find(id);
  if (it != verdicts_.end()) return it->second;
  auto check = [&] {
    ++verifications_;
    return subject == issuer ? subject.verify_signature(*key)
                             : issuer_verifiers().verify(subject, issuer, key);
  };
  auto [code, hash] = subject == issuer ? anchor_verdicts().get(id, check) : check();
  Verdict v{code, hash};
  if (verdicts_.size() >= kMaxVerdicts) verdicts_.clear();
  verdicts_.emplace(std::move(id), v);
  return v;
}

// Botan 3.7 check_chain, first loop: signature algorithm known, issuer key usable and strong
// enough, signature valid, hash trusted (not on the self-signed root).
void PathChecker::check_signatures(const std::vector<Botan::X509_Certificate>& path,
                                   Botan::CertificatePathStatusCodes& status) {
  for (std::size_t i = 0; i != path.size(); ++i) {
    auto& s = status[i];
    const bool at_root = i == path.size() - 1;
    const auto& subject = path[i];
    const auto& issuer = path[at_root ? i : i + 1];
    if (!subject.signature_algorithm().oid().registered_oid()) {
      s.insert(Code::SIGNATURE_ALGO_UNKNOWN);
      continue;
    }
    auto key = issuer_key(issuer);
    if (!key) {
      s.insert(Code::CERT_PUBKEY_INVALID);
      continue;
    }
    if (key->estimated_strength() < restrictions_.minimum_key_strength())
      s.insert(Code::SIGNATURE_METHOD_TOO_WEAK);
    auto v = verify(subject, issuer, key);
    if (v.code != Code::VERIFIED) {
      s.insert(v.code);
    } else {
      const auto& trusted = restrictions_.trusted_hashes();
      if (!trusted.empty() && !at_root && !trusted.contains(v.hash)) s.insert(Code::UNTRUSTED_HASH);
    }
  }
}

// Botan 3.7 check_chain, the per-certificate loop after the signatures (no hostname, no
// usage: pkiflow's own rules check usage against the endpoint profile).
void PathChecker::check_certificates(const std::vector<Botan::X509_Certificate>& path,
                                     std::chrono::system_clock::time_point at,
                                     Botan::CertificatePathStatusCodes& status) {
  const bool self_signed_ee = path.size() == 1;
  const Botan::X509_Time when(at);
  if (path[0].has_constraints(Botan::Key_Constraints::KeyCertSign) && !path[0].is_CA_cert())
    status[0].insert(Code::INVALID_USAGE);  // RFC 5280 4.2.1.3: keyCertSign needs cA
  for (std::size_t i = 0; i != path.size(); ++i) {
    auto& s = status[i];
    const bool at_root = i == path.size() - 1;
    const auto& subject = path[i];
    const auto& issuer = path[at_root ? i : i + 1];
    if (at_root && !issuer.is_self_signed()) s.insert(Code::CHAIN_LACKS_TRUST_ROOT);
    if (subject.issuer_dn() != issuer.subject_dn()) s.insert(Code::CHAIN_NAME_MISMATCH);
    if (subject.is_serial_negative()) s.insert(Code::CERT_SERIAL_NEGATIVE);
    for (const auto& [oid, value] : subject.subject_dn().dn_info()) {
      const std::size_t ub = Botan::X509_DN::lookup_ub(oid);
      if (ub > 0 && value.size() > ub) s.insert(Code::DN_TOO_LONG);
    }
    const bool root_time_ignored = restrictions_.ignore_trusted_root_time_range() && at_root;
    if (when < subject.not_before())
      s.insert(root_time_ignored ? Code::TRUSTED_CERT_NOT_YET_VALID : Code::CERT_NOT_YET_VALID);
    if (when > subject.not_after())
      s.insert(root_time_ignored ? Code::TRUSTED_CERT_HAS_EXPIRED : Code::CERT_HAS_EXPIRED);
    if (!issuer.is_CA_cert() && !self_signed_ee) s.insert(Code::CA_CERT_NOT_FOR_CERT_ISSUER);
    if (subject.x509_version() == 1 &&
        (!subject.v2_issuer_key_id().empty() || !subject.v2_subject_key_id().empty()))
      s.insert(Code::V2_IDENTIFIERS_IN_V1_CERT);
    const Botan::Extensions& extensions = subject.v3_extensions();
    const auto& all = extensions.extensions();
    if (subject.x509_version() < 3 && !all.empty()) s.insert(Code::EXT_IN_V1_V2_CERT);
    for (const auto& extension : all)
      extension.first->validate(subject, issuer, path, status, i);
    if (all.size() != extensions.get_extension_oids().size())
      s.insert(Code::DUPLICATE_CERT_EXTENSION);
  }
}

// RFC 5280 6.1.4 (l), (m), as Botan 3.7 applies it.
void PathChecker::check_path_length(const std::vector<Botan::X509_Certificate>& path,
                                    Botan::CertificatePathStatusCodes& status) {
  std::size_t max_path_length = path.size();
  for (std::size_t i = path.size() - 1; i > 0; --i) {
    const auto& subject = path[i];
    if (subject.subject_dn() != subject.issuer_dn()) {
      if (max_path_length > 0)
        --max_path_length;
      else
        status[i].insert(Code::CERT_CHAIN_TOO_LONG);
    }
    if (subject.path_limit() != Botan::Cert_Extension::NO_CERT_PATH_LIMIT &&
        subject.path_limit() < max_path_length)
      max_path_length = subject.path_limit();
  }
}

Botan::CertificatePathStatusCodes PathChecker::check(
    const std::vector<Botan::X509_Certificate>& path, std::chrono::system_clock::time_point at) {
  Botan::CertificatePathStatusCodes status(path.size());
  if (path.empty()) return status;
  check_signatures(path, status);
  // As Botan: a failed signature ends the check; nothing else about the path can be trusted.
  for (const auto& s : status)
    for (auto c : s)
      if (static_cast<uint32_t>(c) >= 5000) return status;
  check_certificates(path, at, status);
  check_path_length(path, status);
  return status;
}

}  // namespace pkiflow::pki::detail

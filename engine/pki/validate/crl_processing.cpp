#include "engine/pki/validate/detail/crl_processing.hpp"

#include <botan/exceptn.h>
#include <botan/pk_keys.h>
#include <botan/x509_ext.h>

#include <algorithm>
#include <set>

#include "engine/pki/time_format.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki::detail {

namespace {

using Code = Botan::Certificate_Status_Code;

std::string q(const Botan::X509_DN& dn) {
  return "'" + format_dn(dn) + "'";
}

std::string date(const Botan::X509_Time& t) {
  return format_rfc3339(time_point_of(t));
}

constexpr std::uint32_t kRemoveFromCrl = 8;

// CRL extensions pkiflow processes; a CRL with any other critical one is not used (5.2).
bool processed_crl_extension(const std::string& oid) {
  static const std::set<std::string> known{
      oids::kCrlNumber,      oids::kDeltaCrlIndicator, oids::kIssuingDistributionPoint,
      oids::kAuthorityKeyId, oids::kFreshestCrl,       "2.5.29.18"};
  return known.count(oid) != 0;
}

bool processed_entry_extension(const std::string& oid) {
  static const std::set<std::string> known{oids::kReasonCode, oids::kCertificateIssuer,
                                           "2.5.29.24" /* invalidityDate */,
                                           "2.5.29.23" /* holdInstructionCode */};
  return known.count(oid) != 0;
}

GeneralName directory(const Botan::X509_DN& dn) {
  GeneralName n;
  n.kind = GeneralName::directory;
  n.dn = dn;
  return n;
}

// The names of a distribution point, with a name relative to the CRL issuer made whole.
std::vector<GeneralName> full_names(const DistributionPointName& name,
                                    const Botan::X509_DN& relative_to) {
  if (!name.relative) return name.full;
  return {directory(append_rdn(relative_to, *name.relative))};
}

bool any_common(const std::vector<GeneralName>& a, const std::vector<GeneralName>& b) {
  for (const auto& x : a)
    for (const auto& y : b)
      if (same_name(x, y)) return true;
  return false;
}

std::optional<Botan::X509_DN> first_directory(const std::vector<GeneralName>& names) {
  for (const auto& n : names)
    if (n.kind == GeneralName::directory) return n.dn;
  return std::nullopt;
}

std::uint32_t reason_code(const Botan::CRL_Entry& entry) {
  return static_cast<std::uint32_t>(entry.reason_code());
}

// The entry for `cert` in `crl`: in an indirect CRL, entries belong to the CRL issuer until a
// certificateIssuer extension names another issuer, which holds for the entries after it.
const Botan::CRL_Entry* find_entry(const CrlEntry& e, const Botan::X509_Certificate& cert) {
  const bool indirect = e.idp && e.idp->indirect;
  Botan::X509_DN current = e.crl.issuer_dn();
  for (const auto& entry : e.crl.get_revoked()) {
    if (indirect) {
      auto ci = extension_value(entry.extensions(), oids::kCertificateIssuer);
      if (ci) {
        auto dn = first_directory(decode_general_names(*ci));
        if (dn) current = *dn;
      }
    }
    if (entry.serial_number() != cert.serial_number()) continue;
    if (indirect && !(current == cert.issuer_dn())) continue;
    return &entry;
  }
  return nullptr;
}

std::string reason_name(std::uint32_t code) {
  static const char* names[] = {"unspecified",        "keyCompromise", "cACompromise",
                                "affiliationChanged", "superseded",    "cessationOfOperation",
                                "certificateHold",    "unknown(7)",    "removeFromCRL",
                                "privilegeWithdrawn", "aACompromise"};
  return code < 11 ? names[code] : "reason " + std::to_string(code);
}

}  // namespace

std::vector<CrlEntry> prepare_crls(const std::vector<Botan::X509_CRL>& crls) {
  std::vector<CrlEntry> out;
  out.reserve(crls.size());
  for (const auto& crl : crls) {
    CrlEntry e{crl, std::nullopt, std::nullopt, std::nullopt, ""};
    const std::string from =
        "the CRL from " + q(crl.issuer_dn()) + " (" + date(crl.this_update()) + ")";
    try {
      for (const auto& [oid, value] : crl.extensions().extensions_raw())
        if (value.second && !processed_crl_extension(oid.to_string()))
          e.unusable = from + " has the critical extension " + oid.to_string() +
                       ", which pkiflow does not process";
      if (auto v = extension_value(crl.extensions(), oids::kIssuingDistributionPoint))
        e.idp = decode_issuing_distribution_point(*v);
      if (auto v = extension_value(crl.extensions(), oids::kDeltaCrlIndicator))
        e.delta_base = decode_small_integer(*v);
      if (auto v = extension_value(crl.extensions(), oids::kCrlNumber))
        e.number = decode_small_integer(*v);
      for (const auto& entry : crl.get_revoked())
        for (const auto& [oid, value] : entry.extensions().extensions_raw())
          if (value.second && !processed_entry_extension(oid.to_string()))
            e.unusable = from + " has an entry with the critical extension " + oid.to_string() +
                         ", which pkiflow does not process";
    } catch (const Botan::Exception& ex) {
      e.unusable = from + " has a malformed extension (" + ex.what() + ")";
    }
    out.push_back(std::move(e));
  }
  return out;
}

RevocationResult CrlProcessor::status(const std::vector<Botan::X509_Certificate>& path,
                                      std::size_t p, const SignerCheck& signer_ok) const {
  RevocationResult result;
  const auto& cert = path[p];
  const Botan::X509_Time now(at_);
  std::vector<DistributionPoint> points;
  try {
    if (auto v = extension_value(cert.v3_extensions(), oids::kCrlDistributionPoints))
      points = decode_distribution_points(*v);
  } catch (const Botan::Exception& e) {
    result.reason = "its cRLDistributionPoints cannot be read (" + std::string(e.what()) + ")";
    return result;
  }
  if (points.empty()) points.emplace_back();  // the CRL of its issuer, for every reason

  // Newest first: a newer CRL from the same scope settles the status before an older one.
  std::vector<std::size_t> order;
  for (std::size_t k = 0; k < crls_.size(); ++k)
    if (!crls_[k].delta_base) order.push_back(k);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return crls_[b].crl.this_update() < crls_[a].crl.this_update();
  });

  // A CRL's signer: a certificate named as its issuer, with cRLSign, whose key verifies it and
  // which is on this path (from the certificate up) or has a valid path of its own.
  auto signed_ok = [&](const Botan::X509_CRL& crl, std::string& why) {
    bool named = false;
    for (const auto* s : signers_) {
      if (!(s->subject_dn() == crl.issuer_dn())) continue;
      named = true;
      if (!s->allowed_usage(Botan::Key_Constraints::CrlSign)) continue;
      std::unique_ptr<Botan::Public_Key> key;
      try {
        key = s->subject_public_key();
      } catch (const Botan::Exception&) {
        continue;
      }
      if (crl.verify_signature(*key).first != Code::VERIFIED) continue;
      // The certificate itself counts: a CRL issuer's CRL may cover its own certificate
      // (PKITS 4.14.30), which its path has already established.
      bool on_path = false;
      for (std::size_t k = p; k < path.size(); ++k)
        if (path[k] == *s) on_path = true;
      if (on_path || signer_ok(*s)) return true;
      why = "the CRL from " + q(crl.issuer_dn()) +
            " is signed by a key whose certificate has no "
            "valid path to the trust anchor";
      return false;
    }
    why = named ? "no certificate of " + q(crl.issuer_dn()) +
                      " allowed to sign CRLs (cRLSign) verifies the CRL's signature"
                : "no certificate of the CRL issuer " + q(crl.issuer_dn()) + " is at hand";
    return false;
  };

  Reasons mask = 0;
  std::vector<std::string> skipped;
  auto skip = [&](std::string why) {
    if (std::find(skipped.begin(), skipped.end(), why) == skipped.end())
      skipped.push_back(std::move(why));
  };
  for (const auto& dp : points) {
    for (auto k : order) {
      if (mask == kAllReasons) break;
      const CrlEntry& e = crls_[k];
      const auto& crl = e.crl;
      const bool indirect = e.idp && e.idp->indirect;
      // (b)(1) issuer
      if (!dp.crl_issuer.empty()) {
        if (!any_common(dp.crl_issuer, {directory(crl.issuer_dn())})) continue;
        result.crl_named_issuer = true;
        if (!indirect) {
          skip("the CRL from " + q(crl.issuer_dn()) +
               " is not an indirect CRL, but the certificate names it as its cRLIssuer");
          continue;
        }
      } else {
        if (!(crl.issuer_dn() == cert.issuer_dn())) continue;
        result.crl_named_issuer = true;
      }
      const std::string from =
          "the CRL from " + q(crl.issuer_dn()) + " (" + date(crl.this_update()) + ")";
      // (b)(2) scope
      if (e.idp) {
        const auto& idp = *e.idp;
        if (idp.name) {
          const auto idp_names = full_names(*idp.name, crl.issuer_dn());
          bool match = false;
          if (dp.name) {
            const Botan::X509_DN base = first_directory(dp.crl_issuer).value_or(cert.issuer_dn());
            match = any_common(idp_names, full_names(*dp.name, base));
          } else {
            match = any_common(idp_names, dp.crl_issuer);
          }
          if (!match) {
            skip(from + " covers another distribution point");
            continue;
          }
        }
        if (idp.only_user && asserts_ca(cert)) {
          skip(from + " covers end-entity certificates only");
          continue;
        }
        if (idp.only_ca && !asserts_ca(cert)) {
          skip(from + " covers CA certificates only");
          continue;
        }
        if (idp.only_attribute) {
          skip(from + " covers attribute certificates only");
          continue;
        }
      }
      // (c), (d) reasons
      const Reasons interim = static_cast<Reasons>(
          (dp.reasons ? *dp.reasons : kAllReasons) &
          (e.idp && e.idp->only_some_reasons ? *e.idp->only_some_reasons : kAllReasons) &
          kAllReasons);
      if ((interim & ~mask) == 0) continue;
      if (!e.unusable.empty()) {
        skip(e.unusable);
        continue;
      }
      // (a) currency
      if (now < crl.this_update()) {
        skip(from + " is not valid before " + date(crl.this_update()));
        continue;
      }
      if (crl.next_update().time_is_set() && crl.next_update() < now) {
        skip(from + " expired on " + date(crl.next_update()));
        continue;
      }
      // (f), (g) signer
      std::string why;
      if (!signed_ok(crl, why)) {
        skip(why);
        continue;
      }
      // A delta CRL over this one (5.2.4): same issuer and scope, a base no newer than this
      // CRL, current, and signed as well. Its entries come first.
      const CrlEntry* delta = nullptr;
      for (const auto& d : crls_) {
        if (!d.delta_base || !d.unusable.empty() || !e.number) continue;
        if (!(d.crl.issuer_dn() == crl.issuer_dn()) || *d.delta_base > *e.number) continue;
        if (d.number && *d.number <= *e.number) continue;
        auto scope = [](const Botan::X509_CRL& c) {
          return extension_value(c.extensions(), oids::kIssuingDistributionPoint);
        };
        if (scope(d.crl) != scope(crl)) continue;
        if (now < d.crl.this_update() ||
            (d.crl.next_update().time_is_set() && d.crl.next_update() < now))
          continue;
        std::string delta_why;
        if (!signed_ok(d.crl, delta_why)) continue;
        if (!delta || delta->crl.this_update() < d.crl.this_update()) delta = &d;
      }
      const Botan::CRL_Entry* listed = nullptr;
      std::string where = from;
      if (delta) {
        listed = find_entry(*delta, cert);
        where = "the delta CRL from " + q(crl.issuer_dn()) + " (" + date(delta->crl.this_update()) +
                ")";
      }
      if (!listed) {
        listed = find_entry(e, cert);
        where = from;
      }
      if (listed && reason_code(*listed) != kRemoveFromCrl) {
        result.status = Revocation::revoked;
        result.reason = "revoked (" + reason_name(reason_code(*listed)) + ") by " + where;
        return result;
      }
      mask = static_cast<Reasons>(mask | interim);
    }
  }
  if (mask == kAllReasons) {
    result.status = Revocation::good;
    result.reason = "not revoked";
    return result;
  }
  result.status = Revocation::undetermined;
  if (skipped.empty())
    result.reason = mask == 0 ? "no CRL covers it"
                              : "the CRLs cover only the reasons " + describe_reasons(mask);
  else
    for (const auto& s : skipped)
      result.reason += (result.reason.empty() ? "" : "; ") + s;
  return result;
}

}  // namespace pkiflow::pki::detail

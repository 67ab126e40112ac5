// pkiflow's chain validator: builds candidate paths itself (bounded), has Botan check each one
// against RFC 5280, then applies pkiflow's rules (bundle, CSR, endpoint profile, hygiene) and
// returns a ChainReport. Expected problems are rule results, never exceptions.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/crl.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/validate/chain_report.hpp"

namespace pkiflow::pki {

// Trust anchors: a PEM file, a directory of PEM/DER files, or the system store ("system").
class TrustStore {
 public:
  static Result<TrustStore> load(const std::string& file_dir_or_system);
  explicit TrustStore(std::vector<Certificate> anchors) : anchors_(std::move(anchors)) {}
  const std::vector<Certificate>& anchors() const { return anchors_; }

 private:
  std::vector<Certificate> anchors_;
};

inline constexpr const char* kAnyPolicy = "2.5.29.32.0";

// The RFC 5280 section 6.1.1 inputs and pkiflow's own path restrictions.
struct ValidationOptions {
  // Unset: the profile's demand (cba-ca: leaf), else none.
  std::optional<CrlCheck> crl_check{};
  // The leaf must carry one of these extended key usages (dotted OIDs; empty = no demand); an
  // intermediate whose extendedKeyUsage excludes them all restricts the path.
  std::vector<std::string> required_eku{};
  std::optional<std::size_t> max_intermediates{};           // CAs between the leaf and the anchor
  std::vector<std::string> initial_policy_set{kAnyPolicy};  // (c) user-initial-policy-set
  bool require_explicit_policy = false;                     // (e) initial-explicit-policy
  bool inhibit_policy_mapping = false;                      // (f) initial-policy-mapping-inhibit
  bool inhibit_any_policy = false;                          // (g) initial-any-policy-inhibit
  bool lenient = false;  // section 4 profile-only rules become warnings (never path rules)
};

// ValidationOptions from their text form, shared by the command line and the batch manifest.
// Errors name the option as the caller spells it (`--crl-check` or `crl_check`).
struct OptionText {
  std::string crl_check;               // empty: unset
  std::string purpose;                 // serverAuth, clientAuth, codeSigning or any
  std::vector<std::string> eku;        // dotted OIDs or EKU names
  std::optional<long long> max_depth;  // intermediates, 0..64
  std::vector<std::string> policies;   // dotted OIDs, each item may hold several separated by ','
  bool require_explicit_policy = false;
  bool inhibit_policy_mapping = false;
  bool inhibit_any_policy = false;
  bool lenient = false;
};
Result<ValidationOptions> make_options(const OptionText& text, bool manifest_names);

struct ValidationRequest {
  Certificate cert;
  std::vector<Certificate> chain;  // the bundle that would be uploaded, any order
  std::shared_ptr<const TrustStore> trust;
  std::optional<Csr> csr;
  const SigningProfile* profile = nullptr;
  std::vector<Crl> crls;
  std::chrono::system_clock::time_point at;
  int min_remaining_days = 30;  // hygiene.remaining-validity warns below this
  ValidationOptions options{};
};

// The revocation demand in force: the caller's, else the profile's (cba-ca: leaf), else none.
CrlCheck effective_crl_check(const ValidationRequest& req);

struct ValidatorLimits {
  std::size_t max_pool = 512;
  std::size_t max_depth = 12;
  std::size_t max_candidates = 64;
  std::size_t max_steps = 50'000;
};

// A Validator keeps what it learns across calls (parsed issuer keys, verified signatures), so
// validating many chains that share intermediates and anchors verifies each signature once. It
// is not thread-safe: use one per thread (validate_all does).
class Validator {
 public:
  explicit Validator(ValidatorLimits limits = {});
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  ChainReport validate(const ValidationRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkiflow::pki

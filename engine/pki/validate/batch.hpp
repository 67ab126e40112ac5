// The batch form of `pkiflow validate`: many chains from a JSON-lines manifest in one process,
// files parsed once (a trust store shared by a thousand lines is read once), on several threads.
#pragma once

#include <filesystem>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/result.hpp"
#include "engine/pki/validate/validator.hpp"

namespace pkiflow::pki {

struct BatchOptions {
  unsigned jobs = 0;  // 0 = one per core
  ValidatorLimits limits;
  std::chrono::system_clock::time_point default_at;  // for lines without "at"
  ValidationOptions defaults;                        // for lines that set none of their own
};

struct BatchOutcome {
  std::size_t line = 0;  // 1-based line in the manifest
  std::string id;        // the line's "id", or its line number
  std::optional<ChainReport> report;
  std::optional<Error> error;  // unusable input on this line
};

// Validates requests on `jobs` threads; results in input order.
std::vector<ChainReport> validate_all(const std::vector<ValidationRequest>& requests,
                                      const ValidatorLimits& limits, unsigned jobs);

// Reads the manifest (one JSON object per line: "cert", "trust", optional "id", "chain", "csr",
// "profile", "crl" (array), "at", "min_remaining_days", and the validation options "crl_check",
// "purpose", "eku" (array), "max_depth", "policy" (array), "require_explicit_policy",
// "inhibit_policy_mapping", "inhibit_any_policy", "lenient"; relative paths are taken from
// `base_dir`), validates every line and calls `sink` once per line, in manifest order.
Status validate_manifest(std::istream& manifest, const std::filesystem::path& base_dir,
                         const BatchOptions& options,
                         const std::function<void(const BatchOutcome&)>& sink);

}  // namespace pkiflow::pki

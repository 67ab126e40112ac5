// The state store's side of air-gap bundles: which records go out (`pkiflow bundle export`)
// and how a signed bundle comes back in (`pkiflow bundle import`), all or nothing.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/bundle/bundle.hpp"
#include "engine/clock.hpp"
#include "engine/config.hpp"
#include "engine/pki/validate/validator.hpp"
#include "state/store.hpp"

namespace pkiflow::engine::bundle {

// A record waits for an offline signature when it is in csrGenerated and its signer is of
// type "offline" (or it has none: the operator signs elsewhere).
bool waits_for_offline_signature(const state::Record& r, const Config& config);

// "waiting for offline signature, bundle B exported at T" for a record in csrGenerated whose
// CSR went out in a bundle; "" otherwise.
std::string bundle_wait_note(const state::Record& r);

struct ExportOptions {
  std::optional<std::string> tenant;
  std::optional<state::RecordKind> kind;
  bool again = false;  // also records already sent out in an earlier bundle
};

struct ExportReport {
  std::optional<Manifest> manifest;        // none when no record was waiting
  std::vector<state::Record> already_out;  // waiting, but in an earlier bundle (without --again)
};

// Writes every waiting record's CSR into a new bundle in `dir` and marks the records as sent out
// in it (one transaction, a history row each).
Result<ExportReport> export_bundle(state::StateStore& store, const Config& config,
                                   const Clock& clock, const std::filesystem::path& dir,
                                   const ExportOptions& options, const std::string& actor);

struct ImportReport {
  std::string bundle_id;
  std::string ca_subject;
  std::vector<state::Record> signed_records;
};

// Checks the returned bundle whole (read_signed_bundle), then each record: still in
// csrGenerated, still waiting for this bundle, the same CSR, its certificate valid for upload
// (chain to `trust`, the CSR's key, the endpoint's profile) and signed by the offline signer's
// CA when it names one; then moves every record to signed in one transaction. Any refusal
// changes nothing.
Result<ImportReport> import_bundle(state::StateStore& store, const Config& config,
                                   const std::shared_ptr<const pki::TrustStore>& trust,
                                   const Clock& clock, const std::filesystem::path& dir,
                                   const std::string& actor);

}  // namespace pkiflow::engine::bundle

// Text and number forms of record fields shared by the SQL backends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "state/record.hpp"

namespace pkiflow::state::sql {

std::int64_t to_millis(TimePoint t);
TimePoint from_millis(std::int64_t ms);

// The columns of `records` in the order the backends read and write them.
inline constexpr const char* kRecordColumns =
    "id, kind, name, tenant, profile, state, failed_from, remote_id, remote_status, key_path, "
    "csr, certificate, chain, not_before, not_after, thumbprint_sha1, thumbprint_sha256, renews, "
    "superseded_by, attempts, next_attempt_at, last_error, created_at, updated_at, verified_at, "
    "drift, drift_note, bundle_id, bundle_exported_at, version";
inline constexpr int kRecordColumnCount = 30;

}  // namespace pkiflow::state::sql

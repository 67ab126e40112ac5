// What the state store keeps about a managed certificate. The store knows no transitions and no
// remote service (DESIGN.md, "Layering"): it stores what the engine gives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pkiflow::state {

using TimePoint = std::chrono::system_clock::time_point;

enum class RecordState {
  planned,
  csrGenerated,
  signed_,
  uploaded,
  active,
  superseded,
  retired,
  failed
};
const char* to_string(RecordState s);
std::optional<RecordState> parse_state(std::string_view s);
// Every state, in lifecycle order.
inline constexpr RecordState kAllStates[] = {
    RecordState::planned, RecordState::csrGenerated, RecordState::signed_, RecordState::uploaded,
    RecordState::active,  RecordState::superseded,   RecordState::retired, RecordState::failed};

enum class RecordKind { gsa_tls_ca, cba_ca, intune_codesigning };
const char* to_string(RecordKind k);  // "gsa-tls-ca", "cba-ca", "intune-codesigning"
std::optional<RecordKind> parse_kind(std::string_view s);

struct Record {
  std::string id;  // stable, printable (16 characters of Crockford base32)
  RecordKind kind = RecordKind::gsa_tls_ca;
  std::string name;
  std::string tenant;
  std::string profile_json = "{}";  // what to make: subject, key algorithm, validity, renewal
  RecordState state = RecordState::planned;
  std::optional<RecordState> failed_from;  // where `retry` returns to
  std::string remote_id;
  std::string remote_status;
  std::string key_path;  // encrypted PKCS#8 file; never the key itself
  std::string csr_pem;
  std::string certificate_pem;
  std::string chain_pem;
  std::optional<TimePoint> not_before;
  std::optional<TimePoint> not_after;
  std::string thumbprint_sha1;
  std::string thumbprint_sha256;
  std::string renews;         // id of the record this one renews
  std::string superseded_by;  // id of the record that renewed this one
  int attempts = 0;
  std::optional<TimePoint> next_attempt_at;
  std::string last_error;
  TimePoint created_at{};
  TimePoint updated_at{};
  // Drift checks (engine/run/drift): when the remote object was last read back, and the
  // condition found then ("" when it matched: see engine::DriftCondition) with its explanation.
  std::optional<TimePoint> verified_at;
  std::string drift;
  std::string drift_note;
  // Air-gap bundles (engine/bundle): the bundle the CSR was last sent out in, and when.
  std::string bundle_id;
  std::optional<TimePoint> bundle_exported_at;
  std::int64_t version = 0;  // optimistic concurrency: bumped by every write

  bool operator==(const Record&) const = default;
};

// One row per transition, never rewritten.
struct HistoryEntry {
  std::int64_t seq = 0;
  std::string record_id;
  std::optional<RecordState> from;  // nullopt for the creation of the record
  RecordState to = RecordState::planned;
  TimePoint at{};
  std::string reason;
  std::string actor;
  std::string details_json = "{}";
};

enum class OperationState { pending, sent, done, failed };
const char* to_string(OperationState s);
std::optional<OperationState> parse_operation_state(std::string_view s);

// The journal of remote calls: written before a request is sent, closed after its response.
struct Operation {
  std::string op_id;
  std::string record_id;
  std::string action;           // "create", "upload", "confirm", "retire", ...
  std::string request_summary;  // method and path, never a token or a secret
  std::string client_request_id;
  OperationState state = OperationState::pending;
  std::string response_summary;
  TimePoint created_at{};
  TimePoint updated_at{};
};

}  // namespace pkiflow::state

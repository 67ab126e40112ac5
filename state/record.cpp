#include "state/record.hpp"

#include <array>
#include <utility>

namespace pkiflow::state {

namespace {

constexpr std::array<std::pair<RecordState, const char*>, 8> kStates{{
    {RecordState::planned, "planned"},
    {RecordState::csrGenerated, "csrGenerated"},
    {RecordState::signed_, "signed"},
    {RecordState::uploaded, "uploaded"},
    {RecordState::active, "active"},
    {RecordState::superseded, "superseded"},
    {RecordState::retired, "retired"},
    {RecordState::failed, "failed"},
}};

constexpr std::array<std::pair<RecordKind, const char*>, 3> kKinds{{
    {RecordKind::gsa_tls_ca, "gsa-tls-ca"},
    {RecordKind::cba_ca, "cba-ca"},
    {RecordKind::intune_codesigning, "intune-codesigning"},
}};

constexpr std::array<std::pair<OperationState, const char*>, 4> kOps{{
    {OperationState::pending, "pending"},
    {OperationState::sent, "sent"},
    {OperationState::done, "done"},
    {OperationState::failed, "failed"},
}};

template <class Table, class E>
const char* name_of(const Table& t, E e) {
  for (const auto& [v, n] : t)
    if (v == e) return n;
  return "?";
}

template <class E, class Table>
std::optional<E> value_of(const Table& t, std::string_view s) {
  for (const auto& [v, n] : t)
    if (s == n) return v;
  return std::nullopt;
}

}  // namespace

const char* to_string(RecordState s) {
  return name_of(kStates, s);
}
std::optional<RecordState> parse_state(std::string_view s) {
  return value_of<RecordState>(kStates, s);
}
const char* to_string(RecordKind k) {
  return name_of(kKinds, k);
}
std::optional<RecordKind> parse_kind(std::string_view s) {
  return value_of<RecordKind>(kKinds, s);
}
const char* to_string(OperationState s) {
  return name_of(kOps, s);
}
std::optional<OperationState> parse_operation_state(std::string_view s) {
  return value_of<OperationState>(kOps, s);
}

}  // namespace pkiflow::state

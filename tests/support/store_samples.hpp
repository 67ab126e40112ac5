// Records for the state-store tests: a CBA CA record and the history row that creates it, at a
// fixed time (2027-01-15), so the stores' tests share one picture of a fresh record.
#pragma once

#include <chrono>
#include <string>

#include "state/record.hpp"

namespace pkiflow::test {

inline state::TimePoint store_t0() {
  return state::TimePoint(std::chrono::seconds(1'800'000'000));
}

inline state::Record sample_record(const std::string& id) {
  state::Record r;
  r.id = id;
  r.kind = state::RecordKind::cba_ca;
  r.name = "Contoso User CA";
  r.tenant = "contoso.onmicrosoft.com";
  r.profile_json = R"({"subject":"CN=Contoso User CA"})";
  r.created_at = r.updated_at = store_t0();
  return r;
}

inline state::HistoryEntry creation_of(const std::string& id) {
  state::HistoryEntry h;
  h.record_id = id;
  h.to = state::RecordState::planned;
  h.at = store_t0();
  h.reason = "requested";
  h.actor = "test";
  return h;
}

}  // namespace pkiflow::test

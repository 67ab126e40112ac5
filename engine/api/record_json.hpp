// A record as `pkiflow status --json` and `show --json` print it, and as the embedding API
// (pkiflow/engine.hpp) hands it out: one object on one line, written directly (10,000 of them
// in well under 100 ms). The stored profile is spliced in after a validity check.
#pragma once

#include <optional>
#include <string>

#include "engine/renewal.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

// `renewal`: when an active record is renewed under the configuration's policy (status adds it).
std::string record_json_text(const state::Record& r,
                             const std::optional<RenewalTime>& renewal = std::nullopt);

}  // namespace pkiflow::engine

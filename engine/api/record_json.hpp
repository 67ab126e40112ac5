// A record as `pkiflow status --json` and `show --json` print it, and as the embedding API
// (pkiflow/engine.hpp) hands it out: one object on one line, written directly (10,000 of them
// in well under 100 ms). The stored profile is spliced in after a validity check.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/pki/key.hpp"
#include "engine/renewal.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

// `renewal`: when an active record is renewed under the configuration's policy (status adds it).
std::string record_json_text(const state::Record& r,
                             const std::optional<RenewalTime>& renewal = std::nullopt);

// The record whole (`pkiflow show --json`): as above, then the CSR's key, the key file and the
// CSR, certificate and chain as PEM.
std::string record_show_json_text(const state::Record& r,
                                  const std::optional<RenewalTime>& renewal = std::nullopt);

// A public key as the JSON documents show it: algorithm, bits, curve.
nlohmann::ordered_json key_json(const pki::PublicKeyInfo& k);

}  // namespace pkiflow::engine

// Every key the configuration file knows, with what it means: one table that the reader
// refuses unknown keys against and `pkiflow help config` prints, so the two cannot drift.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pkiflow::engine {

struct ConfigKey {
  const char* section;  // "" (top level), "tenants.NAME", "tenants.NAME.auth", "signers.NAME",
                        // "keys", "run", "certificates[]"
  const char* key;
  const char* meaning;  // type, default and what it does, in one line
};

const std::vector<ConfigKey>& config_keys();

// The keys of one section, e.g. keys_of("run"); empty for a section that has none.
const std::set<std::string>& keys_of(std::string_view section);

}  // namespace pkiflow::engine

// Record ids: 16 characters of Crockford base32 (80 random bits), printable, case-insensitive,
// without the letters I, L, O, U that people misread. Short enough to embed in remote names.
#pragma once

#include <string>

#include "engine/pki/rng.hpp"

namespace pkiflow::engine {

inline constexpr std::size_t kRecordIdLength = 16;
std::string new_record_id(pki::Rng& rng);
bool is_record_id(const std::string& s);

}  // namespace pkiflow::engine

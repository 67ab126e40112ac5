#include "engine/record_id.hpp"

#include <array>
#include <cstdint>

#include "engine/pki/botan_access.hpp"

namespace pkiflow::engine {

namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

std::string new_record_id(pki::Rng& rng) {
  std::array<std::uint8_t, 10> bytes{};
  pki::botan(rng).randomize(bytes);
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

bool is_record_id(const std::string& s) {
  if (s.size() != kRecordIdLength) return false;
  for (char c : s)
    if (std::string_view(kAlphabet).find(c) == std::string_view::npos) return false;
  return true;
}

}  // namespace pkiflow::engine

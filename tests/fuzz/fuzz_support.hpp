// Shared by the libFuzzer targets (tests/fuzz, built with -DPKIFLOW_FUZZ=ON by tools/fuzz.sh).
// A target may reject an input (a Result error, a Botan exception inside a parser that
// promises Results is a finding); it must never crash, hang, leak or read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pkiflow::fuzz {

inline std::vector<std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) {
  return std::vector<std::uint8_t>(data, data + size);
}

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits an input at a selector byte: the first byte picks a parser, the rest is its input.
struct Selected {
  unsigned which;
  const std::uint8_t* data;
  std::size_t size;
};
inline Selected select(const std::uint8_t* data, std::size_t size, unsigned choices) {
  if (size == 0) return {0, data, 0};
  return {data[0] % choices, data + 1, size - 1};
}

}  // namespace pkiflow::fuzz

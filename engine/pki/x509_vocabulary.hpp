// The X.509 words pkiflow speaks in its API, reports and JSON: key-usage and extended-key-usage
// names as RFC 5280 spells them, and distinguished names as "CN=…,O=…" strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

// RFC 5280 4.2.1.3 key usage bits, as a set.
class KeyUsageSet {
 public:
  enum Bit : std::uint16_t {
    digitalSignature = 1 << 0,
    nonRepudiation = 1 << 1,
    keyEncipherment = 1 << 2,
    dataEncipherment = 1 << 3,
    keyAgreement = 1 << 4,
    keyCertSign = 1 << 5,
    cRLSign = 1 << 6,
    encipherOnly = 1 << 7,
    decipherOnly = 1 << 8,
  };
  constexpr KeyUsageSet() = default;
  constexpr KeyUsageSet(std::uint16_t bits) : bits_(bits) {}  // NOLINT: sets of bits
  constexpr bool has(Bit b) const { return (bits_ & b) != 0; }
  constexpr bool contains(KeyUsageSet other) const { return (bits_ & other.bits_) == other.bits_; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr std::uint16_t bits() const { return bits_; }
  std::vector<std::string> names() const;
  static Result<KeyUsageSet> parse(std::string_view comma_separated);
  friend constexpr bool operator==(KeyUsageSet, KeyUsageSet) = default;

 private:
  std::uint16_t bits_ = 0;
};

// Extended key usage names ("serverAuth", "codeSigning", ...) <-> dotted OIDs. Unknown OIDs are
// reported in dotted form.
std::string eku_name(const std::string& dotted_oid);
Result<std::string> eku_oid(std::string_view name_or_oid);

// One attribute of a distinguished name, in the order it is encoded.
struct DnAttribute {
  std::string type;  // "CN", "O", "OU", "C", "L", "ST", "DC", "E", "serialNumber"
  std::string value;
};
using DnAttributes = std::vector<DnAttribute>;

// Parses "CN=Contoso Root,O=Contoso,C=US" (RFC 4514 order: most specific first; "\," escapes a
// comma). The result is in encoding order (reverse of the string), as RFC 4514 defines. Values
// are held to RFC 5280's upper bounds (Appendix A: CN, O, OU and serialNumber at most 64
// characters, L and ST 128, E 255, C two letters) and must be UTF-8 without control characters.
Result<DnAttributes> parse_dn(std::string_view text);

// Why `text` is not printable text of at most `max_chars` characters (valid UTF-8, no control
// character, not empty), or "" when it is. Counts characters, not bytes.
std::string printable_text_problem(std::string_view text, std::size_t max_chars);

}  // namespace pkiflow::pki

#include "engine/pki/x509_vocabulary.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace pkiflow::pki {

namespace {

struct KuName {
  KeyUsageSet::Bit bit;
  const char* name;
};
constexpr std::array<KuName, 9> kKeyUsageNames{{
    {KeyUsageSet::digitalSignature, "digitalSignature"},
    {KeyUsageSet::nonRepudiation, "nonRepudiation"},
    {KeyUsageSet::keyEncipherment, "keyEncipherment"},
    {KeyUsageSet::dataEncipherment, "dataEncipherment"},
    {KeyUsageSet::keyAgreement, "keyAgreement"},
    {KeyUsageSet::keyCertSign, "keyCertSign"},
    {KeyUsageSet::cRLSign, "cRLSign"},
    {KeyUsageSet::encipherOnly, "encipherOnly"},
    {KeyUsageSet::decipherOnly, "decipherOnly"},
}};

struct EkuName {
  const char* name;
  const char* oid;
};
constexpr std::array<EkuName, 7> kEkuNames{{
    {"serverAuth", "1.3.6.1.5.5.7.3.1"},
    {"clientAuth", "1.3.6.1.5.5.7.3.2"},
    {"codeSigning", "1.3.6.1.5.5.7.3.3"},
    {"emailProtection", "1.3.6.1.5.5.7.3.4"},
    {"timeStamping", "1.3.6.1.5.5.7.3.8"},
    {"OCSPSigning", "1.3.6.1.5.5.7.3.9"},
    {"anyExtendedKeyUsage", "2.5.29.37.0"},
}};

constexpr std::array<const char*, 9> kDnTypes{"CN", "O",  "OU", "C",           "L",
                                              "ST", "DC", "E",  "serialNumber"};

// RFC 5280 Appendix A upper bounds (ub-common-name, ub-organization-name, ...), in characters;
// DC labels are bounded by DNS (RFC 1035: 63).
std::size_t dn_upper_bound(std::string_view type) {
  if (type == "L" || type == "ST") return 128;
  if (type == "E") return 255;
  if (type == "DC") return 63;
  if (type == "C") return 2;
  return 64;  // CN, O, OU, serialNumber
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::vector<std::string> KeyUsageSet::names() const {
  std::vector<std::string> out;
  for (const auto& k : kKeyUsageNames)
    if (has(k.bit)) out.emplace_back(k.name);
  return out;
}

Result<KeyUsageSet> KeyUsageSet::parse(std::string_view text) {
  std::uint16_t bits = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item = trim(text.substr(pos, comma - pos));
    if (!item.empty()) {
      auto it = std::find_if(kKeyUsageNames.begin(), kKeyUsageNames.end(),
                             [&](const KuName& k) { return item == k.name; });
      if (it == kKeyUsageNames.end())
        return Error(ErrorKind::invalid_input, "key usage",
                     "unknown key usage '" + item + "' (RFC 5280 names, e.g. digitalSignature)");
      bits |= it->bit;
    }
    pos = comma + 1;
  }
  return KeyUsageSet(bits);
}

std::string eku_name(const std::string& dotted_oid) {
  for (const auto& e : kEkuNames)
    if (dotted_oid == e.oid) return e.name;
  return dotted_oid;
}

Result<std::string> eku_oid(std::string_view name_or_oid) {
  for (const auto& e : kEkuNames)
    if (name_or_oid == e.name || name_or_oid == e.oid) return std::string(e.oid);
  bool dotted = !name_or_oid.empty() &&
                std::all_of(name_or_oid.begin(), name_or_oid.end(),
                            [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (dotted) return std::string(name_or_oid);
  return Error(ErrorKind::invalid_input, "extended key usage",
               "unknown extended key usage '" + std::string(name_or_oid) +
                   "' (serverAuth, clientAuth, codeSigning, ... or a dotted OID)");
}

Result<DnAttributes> parse_dn(std::string_view text) {
  DnAttributes out;
  std::string current;
  std::vector<std::string> parts;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      current += text[++i];
    } else if (c == ',') {
      parts.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(current);
  for (const auto& part : parts) {
    auto eq = part.find('=');
    std::string type = trim(std::string_view(part).substr(0, eq == std::string::npos ? 0 : eq));
    if (eq == std::string::npos || type.empty())
      return Error(ErrorKind::invalid_input, "subject",
                   "'" + trim(part) + "' is not TYPE=value (e.g. CN=Contoso CA,O=Contoso,C=US)");
    std::string value = trim(std::string_view(part).substr(eq + 1));
    auto known = std::find_if(kDnTypes.begin(), kDnTypes.end(), [&](const char* t) {
      return std::equal(type.begin(), type.end(), t, t + std::char_traits<char>::length(t),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
    if (known == kDnTypes.end())
      return Error(
          ErrorKind::invalid_input, "subject",
          "unknown attribute type '" + type + "' (CN, O, OU, C, L, ST, DC, E, serialNumber)");
    if (value.empty())
      return Error(ErrorKind::invalid_input, "subject",
                   "attribute " + type + " has an empty value");
    if (std::string(*known) == "C" &&
        (value.size() != 2 || !std::isalpha(static_cast<unsigned char>(value[0])) ||
         !std::isalpha(static_cast<unsigned char>(value[1]))))
      return Error(ErrorKind::invalid_input, "subject",
                   "C must be a two-letter country code, got '" + value + "'");
    if (auto why = printable_text_problem(value, dn_upper_bound(*known)); !why.empty())
      return Error(ErrorKind::invalid_input, "subject", std::string(*known) + " " + why);
    out.push_back({*known, value});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string printable_text_problem(std::string_view text, std::size_t max_chars) {
  if (text.empty()) return "is empty";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    if (len == 0 || i + len > text.size()) return "is not valid UTF-8";
    std::uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc >> 6) != 0x2) return "is not valid UTF-8";
      cp = (cp << 6) | (cc & 0x3f);
    }
    const bool overlong =
        (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "is not valid UTF-8";
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      return std::string("holds a control character (") + code + ") at character " +
             std::to_string(chars + 1);
    }
    ++chars;
    i += len;
  }
  if (chars > max_chars)
    return "is " + std::to_string(chars) + " characters long; at most " +
           std::to_string(max_chars) + " are allowed";
  return "";
}

}  // namespace pkiflow::pki

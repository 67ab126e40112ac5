#include "engine/pki/x509_vocabulary.hpp"

#include <algorithm>
#include <array>

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
    if (std::string(*known) == "C" && value.size() != 2)
      return Error(ErrorKind::invalid_input, "subject",
                   "C must be a two-letter country code, got '" + value + "'");
    out.push_back({*known, value});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace pkiflow::pki

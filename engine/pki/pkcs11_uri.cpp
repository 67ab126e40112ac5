#include "engine/pki/pkcs11_uri.hpp"

#include "engine/pki/encoded_file.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace pkiflow::pki {

namespace {

Error bad(const std::string& what) {
  return Error(ErrorKind::invalid_input, "PKCS#11 URI", what);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one attribute value (RFC 3986 2.1).
Result<std::string> decode(std::string_view v, const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return bad("\"" + name + "\": a '%' must be followed by two hex digits");
    const int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return bad("\"" + name + "\": a '%' must be followed by two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// RFC 7512 2.3: beside the unreserved characters, these stay as they are in a path or query
// attribute's value; the rest is %XX.
constexpr std::string_view kPathPlain = ":[]@!$'()*+,=";
constexpr std::string_view kQueryPlain = ":[]@!$'()*+,=/?|";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const auto end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

bool is_pkcs11_uri(std::string_view text) {
  return text.rfind("pkcs11:", 0) == 0;
}

Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text) {
  if (!is_pkcs11_uri(text)) return bad("must begin with \"pkcs11:\"");
  std::string_view rest = text.substr(7);
  std::string_view path = rest, query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  Pkcs11Uri u;
  std::set<std::string> seen;
  auto take = [&](std::string_view attr, bool in_query) -> Status {
    const auto eq = attr.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return bad("\"" + std::string(attr) + "\" is not name=value");
    const std::string name(attr.substr(0, eq));
    if (!seen.insert(name).second) return bad("\"" + name + "\" is given twice");
    auto value = decode(attr.substr(eq + 1), name);
    if (!value) return value.error();
    const std::string& v = *value;
    if (name.rfind("x-", 0) == 0) return Ok{};  // vendor attributes: allowed, not used
    if (!in_query) {
      if (name == "token")
        u.token = v;
      else if (name == "manufacturer")
        u.manufacturer = v;
      else if (name == "serial")
        u.serial = v;
      else if (name == "model")
        u.model = v;
      else if (name == "object")
        u.object = v;
      else if (name == "id")
        u.id.assign(v.begin(), v.end());
      else if (name == "type") {
        if (v != "public" && v != "private" && v != "cert" && v != "secret-key" && v != "data")
          return bad("\"type\" must be public, private, cert, secret-key or data, not \"" + v +
                     "\"");
        u.type = v;
      } else if (name == "slot-id") {
        if (v.empty() || v.size() > 10 || !std::all_of(v.begin(), v.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c));
            }))
          return bad("\"slot-id\" must be a decimal number");
        u.slot_id = std::stoul(v);
      } else if (name == "library-manufacturer" || name == "library-description" ||
                 name == "library-version" || name == "slot-description" ||
                 name == "slot-manufacturer") {
        return Ok{};  // narrow the search in RFC 7512; one module and a token label suffice here
      } else {
        return bad("unknown path attribute \"" + name + "\"");
      }
      return Ok{};
    }
    if (name == "module-path")
      u.module_path = v;
    else if (name == "module-name")
      u.module_name = v;
    else if (name == "pin-value")
      return bad(
          "\"pin-value\" puts the PIN where a command line, a log and ps show it; use "
          "pin-source=file:/path/to/pin (a 0600 file) or pin-source=env:NAME");
    else if (name == "pin-source") {
      if (v.rfind("file://", 0) == 0)
        u.pin_file = v.substr(7);
      else if (v.rfind("file:", 0) == 0)
        u.pin_file = v.substr(5);
      else if (v.rfind("env:", 0) == 0)
        u.pin_env = v.substr(4);
      else
        return bad("\"pin-source\" must be file:/path or env:NAME, not \"" + v + "\"");
      if ((u.pin_file.empty() && u.pin_env.empty()) ||
          (!u.pin_file.empty() && u.pin_file[0] != '/'))
        return bad(
            "\"pin-source\" must name an absolute file (file:/path) or a variable (env:NAME)");
    } else {
      return bad("unknown query attribute \"" + name + "\"");
    }
    return Ok{};
  };
  for (auto attr : split(path, ';'))
    if (auto st = take(attr, false); !st) return st.error();
  for (auto attr : split(query, '&'))
    if (auto st = take(attr, true); !st) return st.error();
  if (u.token.empty() && !u.slot_id && u.serial.empty())
    return bad("names no token: add token=LABEL (or serial= or slot-id=)");
  if (u.object.empty() && u.id.empty()) return bad("names no key: add object=LABEL (or id=)");
  if (u.module_path.empty())
    return bad("names no PKCS#11 module: add ?module-path=/path/to/module.so");
  return u;
}

std::string Pkcs11Uri::to_string() const {
  std::string path, query;
  auto add = [](std::string& to, char sep, std::string_view plain, const char* name,
                const std::string& v) {
    if (v.empty()) return;
    if (!to.empty()) to += sep;
    to += std::string(name) + "=" + percent_encode(v, plain);
  };
  add(path, ';', kPathPlain, "token", token);
  add(path, ';', kPathPlain, "manufacturer", manufacturer);
  add(path, ';', kPathPlain, "serial", serial);
  add(path, ';', kPathPlain, "model", model);
  if (slot_id) add(path, ';', kPathPlain, "slot-id", std::to_string(*slot_id));
  add(path, ';', kPathPlain, "object", object);
  add(path, ';', kPathPlain, "id", std::string(id.begin(), id.end()));
  add(path, ';', kPathPlain, "type", type);
  add(query, '&', kQueryPlain, "module-path", module_path);
  add(query, '&', kQueryPlain, "module-name", module_name);
  if (!pin_file.empty()) add(query, '&', kQueryPlain, "pin-source", "file:" + pin_file);
  if (!pin_env.empty()) add(query, '&', kQueryPlain, "pin-source", "env:" + pin_env);
  return "pkcs11:" + path + (query.empty() ? "" : "?" + query);
}

}  // namespace pkiflow::pki

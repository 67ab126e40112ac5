#include "providers/graph/detail/json_reading.hpp"

#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::graph::detail {

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string common_name(const std::string& dn) {
  auto parsed = pki::parse_dn(dn);
  if (parsed)
    for (const auto& a : *parsed)
      if (a.type == "CN") return a.value;
  return "";
}

bool same_origin(const std::string& url, const std::string& base) {
  auto origin = [](const std::string& u) {
    const auto scheme = u.find("://");
    if (scheme == std::string::npos) return std::string();
    const auto path = u.find('/', scheme + 3);
    return u.substr(0, path);
  };
  const std::string o = origin(base);
  return !o.empty() && origin(url) == o;
}

Result<std::string> read_page(std::string_view body, std::vector<json>& out,
                              const std::string& what) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(ErrorKind::parse, what, "the response is not a JSON object");
  if (auto v = j.find("value"); v != j.end() && v->is_array())
    for (auto& item : *v)
      out.push_back(std::move(item));
  return str(j, "@odata.nextLink");
}

}  // namespace pkiflow::graph::detail

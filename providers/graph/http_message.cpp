#include "providers/graph/http_message.hpp"
#include "engine/pki/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace pkiflow::graph {

namespace {

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* find(const Headers& headers, const std::string& name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

// Replaces the values of the secret fields of an x-www-form-urlencoded body.
std::string redact_form(const std::string& body) {
  static const char* kSecret[] = {"client_secret", "client_assertion", "password", "refresh_token"};
  std::string out;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(pos, amp - pos);
    const std::string key = pair.substr(0, pair.find('='));
    if (std::any_of(std::begin(kSecret), std::end(kSecret),
                    [&](const char* s) { return key == s; }))
      pair = key + "=***";
    out += (out.empty() && pos == 0 ? "" : "&") + pair;
    pos = amp + 1;
  }
  return out;
}

}  // namespace

const std::string* HttpRequest::header(const std::string& name) const {
  return find(headers, name);
}
const std::string* HttpResponse::header(const std::string& name) const {
  return find(headers, name);
}

HttpRequest redacted(const HttpRequest& request) {
  HttpRequest r = request;
  for (auto& [k, v] : r.headers)
    if (iequals(k, "Authorization")) v = v.rfind("Bearer ", 0) == 0 ? "Bearer ***" : "***";
  const std::string* type = request.header("Content-Type");
  if (type && type->find("application/x-www-form-urlencoded") != std::string::npos)
    r.body = redact_form(r.body);
  return r;
}

std::string dry_run_json(const HttpRequest& request) {
  const HttpRequest r = redacted(request);
  nlohmann::ordered_json headers = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.headers)
    headers[k] = v;
  nlohmann::ordered_json j{{"method", r.method}, {"url", r.url}, {"headers", headers}};
  auto body = nlohmann::ordered_json::parse(r.body, nullptr, false);
  j["body"] = r.body.empty() ? nlohmann::ordered_json(nullptr)
                             : (body.is_discarded() ? nlohmann::ordered_json(r.body) : body);
  return json_text(j);
}

}  // namespace pkiflow::graph

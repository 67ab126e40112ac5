// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/graph/detail/json_calls.hpp"

#include <set>

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

HttpRequest json_request(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& crid) {
  HttpRequest r{method, url, {{"client-request-id", crid}}, body};
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  return r;
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

boost::asio::awaitable<Result<std::vector<json>>> get_all(GraphClient& client, std::string url,
                                                          std::function<std::string()> crid,
                                                          const std::string& what,
                                                          bool missing_is_empty) {
  std::vector<json> out;
  // Every page is read (a partial list would make a record's own object look absent), but not
  // forever: a link back to a page already read, or more pages than any tenant has, is an error.
  constexpr int kMaxPages = 1000;
  std::set<std::string> seen;
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxPages)
      co_return Error(ErrorKind::remote, what,
                      "the service's answer runs past " + std::to_string(kMaxPages) +
                          " pages; the list was not used");
    if (!seen.insert(url).second)
      co_return Error(ErrorKind::remote, what,
                      "the service's @odata.nextLink loops back to a page already read (" +
                          url.substr(0, 80) + "); the list was not used");
    auto reply = co_await client.call(json_request("GET", url, "", crid()), false);
    if (page == 0 && missing_is_empty && reply.outcome == Outcome::refused &&
        reply.response.status == 404)
      co_return out;
    if (!reply.ok()) co_return reply.to_error(what);
    auto j = json::parse(reply.response.body, nullptr, false);
    if (!j.is_object())
      co_return Error(ErrorKind::parse, what, "the response is not a JSON object");
    if (j.contains("value") && j["value"].is_array())
      for (const auto& v : j["value"])
        out.push_back(v);
    url = str(j, "@odata.nextLink");
    if (!url.empty() && !same_origin(url, client.base()))
      co_return Error(ErrorKind::remote, what,
                      "the service's @odata.nextLink points to another host (" + url.substr(0, 80) +
                          "); not followed, the token stays here");
  }
  co_return out;
}

}  // namespace pkiflow::graph::detail

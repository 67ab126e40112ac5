#include "providers/graph/cloud.hpp"

#include <algorithm>
#include <cctype>

namespace pkiflow::graph {

Result<Cloud> parse_cloud(std::string_view name) {
  if (name == "global") return Cloud::global;
  if (name == "usgov") return Cloud::us_gov;
  if (name == "dod") return Cloud::us_gov_dod;
  if (name == "china") return Cloud::china;
  return Error(ErrorKind::invalid_input, "cloud",
               "unknown cloud '" + std::string(name) + "' (global, usgov, dod, china)");
}

CloudEndpoints endpoints(Cloud cloud) {
  switch (cloud) {
    case Cloud::global:
      return {"https://graph.microsoft.com/beta", "https://login.microsoftonline.com",
              "https://graph.microsoft.com/.default"};
    case Cloud::us_gov:
      return {"https://graph.microsoft.us/beta", "https://login.microsoftonline.us",
              "https://graph.microsoft.us/.default"};
    case Cloud::us_gov_dod:
      return {"https://dod-graph.microsoft.us/beta", "https://login.microsoftonline.us",
              "https://dod-graph.microsoft.us/.default"};
    case Cloud::china:
      return {"https://microsoftgraph.chinacloudapi.cn/beta", "https://login.chinacloudapi.cn",
              "https://microsoftgraph.chinacloudapi.cn/.default"};
  }
  return endpoints(Cloud::global);
}

std::string token_url(const CloudEndpoints& e, const std::string& tenant) {
  return e.login_base + "/" + tenant + "/oauth2/v2.0/token";
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8, written as four decimal octets.
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

Result<Url> parse_url(std::string_view url, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::invalid_input, what, "'" + std::string(url) + "': " + why);
  };
  Url u;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return bad("not an absolute URL");
  u.scheme = std::string(url.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (u.scheme != "https" && u.scheme != "http")
    return bad("only https (or http to loopback) is supported");
  auto rest = url.substr(sep + 3);
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return bad("no host, or credentials in the URL");
  if (authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed IPv6 address");
    u.host = std::string(authority.substr(0, close + 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 address");
      u.port = std::string(after.substr(1));
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) return bad("no host");
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  if (!std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      u.port.size() > 5 || std::stoi(u.port) == 0 || std::stoi(u.port) > 65535)
    return bad("invalid port");
  if (u.scheme == "http" && !is_loopback_host(u.host))
    return bad("plain http is allowed only to loopback addresses; use https");
  return u;
}

}  // namespace pkiflow::graph

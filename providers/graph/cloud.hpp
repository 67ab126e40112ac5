// The Microsoft clouds pkiflow can talk to (graph-api.md 5, 6): each has its Graph host, its
// login host and its token scope; tokens do not work across clouds. Any base URL may be given
// instead (the local emulator); plain http:// is accepted for loopback hosts only.
#pragma once

#include <string>
#include <string_view>

#include "engine/pki/result.hpp"

namespace pkiflow::graph {

enum class Cloud { global, us_gov, us_gov_dod, china };

struct CloudEndpoints {
  std::string graph_base;  // e.g. https://graph.microsoft.com/beta
  std::string login_base;  // e.g. https://login.microsoftonline.com
  std::string scope;       // e.g. https://graph.microsoft.com/.default
};

Result<Cloud> parse_cloud(std::string_view name);  // "global", "usgov", "dod", "china"
CloudEndpoints endpoints(Cloud cloud);

// The v2.0 token endpoint of a tenant: {login_base}/{tenant}/oauth2/v2.0/token.
std::string token_url(const CloudEndpoints& e, const std::string& tenant);

// Parts of an absolute http(s) URL.
struct Url {
  std::string scheme;  // "https" or "http"
  std::string host;
  std::string port;    // always set ("443", "80" or explicit)
  std::string target;  // path and query, at least "/"
};

// Parses and checks a URL pkiflow may send requests to: https anywhere, http only to loopback
// (127.0.0.0/8, ::1, localhost). `what` names the setting in error messages.
Result<Url> parse_url(std::string_view url, const std::string& what);
bool is_loopback_host(std::string_view host);

}  // namespace pkiflow::graph

#include "providers/graph/token.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "providers/graph/encoding.hpp"

namespace pkiflow::graph {

std::string form_encode(const std::string& value) {
  return percent_encode(value, SpaceAs::plus);
}

HttpRequest token_request(const std::string& token_url, const std::string& client_id,
                          const std::string& scope, const ClientCredential& credential,
                          const std::string& client_request_id) {
  HttpRequest r;
  r.method = "POST";
  r.url = token_url;
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"client-request-id", client_request_id}};
  r.body = "client_id=" + form_encode(client_id) + "&scope=" + form_encode(scope) +
           "&grant_type=client_credentials";
  if (credential.kind == ClientCredential::Kind::secret)
    r.body += "&client_secret=" + form_encode(credential.value);
  else
    r.body += "&client_assertion_type=" +
              form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
              "&client_assertion=" + form_encode(credential.value);
  return r;
}

TokenResult parse_token_response(const HttpResponse& response,
                                 std::chrono::system_clock::time_point now) {
  TokenResult out;
  if (response.status == 200) {
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    const bool ok = j.is_object() && j.contains("access_token") && j["access_token"].is_string() &&
                    j.contains("expires_in") &&
                    (j["expires_in"].is_number_integer() || j["expires_in"].is_string());
    if (ok) {
      long secs = 0;
      if (j["expires_in"].is_string()) {  // some token services send the number as text
        const auto text = j["expires_in"].get<std::string>();
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
        if (ec != std::errc() || end != text.data() + text.size()) secs = 0;
      } else {
        secs = j["expires_in"].get<long>();
      }
      if (secs > 0) {
        // A lifetime past a day is taken as a day (Entra's are about an hour): a hostile
        // endpoint's 9223372036854775807 would overflow the time point.
        secs = std::min(secs, 86'400L);
        out.token =
            AccessToken{j["access_token"].get<std::string>(), now + std::chrono::seconds(secs)};
        return out;
      }
    }
    TokenError e;
    e.status = 200;
    e.error = "malformed_response";
    e.description =
        "the token endpoint answered 200 without access_token and a positive expires_in";
    out.error = e;
    return out;
  }
  out.error = parse_token_error(response.status, response.body);
  return out;
}

bool token_usable(const std::optional<AccessToken>& token,
                  std::chrono::system_clock::time_point now) {
  return token && !token->value.empty() && now + kTokenRefreshMargin < token->expires_at;
}

}  // namespace pkiflow::graph

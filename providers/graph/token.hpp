// App-only tokens (graph-api.md 6): the client-credentials request (secret or client
// assertion), the response, and the cache rule (reuse until shortly before expiry).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "engine/pki/result.hpp"
#include "providers/graph/graph_error.hpp"
#include "providers/graph/http_message.hpp"

namespace pkiflow::graph {

// The credential of the app: a secret, or a signed client assertion (client_assertion.hpp).
struct ClientCredential {
  enum class Kind { secret, assertion } kind = Kind::secret;
  std::string value;  // never logged: requests are redacted before they are shown
};

HttpRequest token_request(const std::string& token_url, const std::string& client_id,
                          const std::string& scope, const ClientCredential& credential,
                          const std::string& client_request_id);

struct AccessToken {
  std::string value;
  std::chrono::system_clock::time_point expires_at;
};

// 200 + {token_type: Bearer, expires_in, access_token} -> a token; anything else -> the token
// endpoint's error, with its description and trace id.
struct TokenResult {
  std::optional<AccessToken> token;
  std::optional<TokenError> error;
};
TokenResult parse_token_response(const HttpResponse& response,
                                 std::chrono::system_clock::time_point now);

// Refresh this long before the token expires (a request in flight must not carry a token that
// lapses on the way).
inline constexpr std::chrono::minutes kTokenRefreshMargin{5};
bool token_usable(const std::optional<AccessToken>& token,
                  std::chrono::system_clock::time_point now);

std::string form_encode(const std::string& value);  // application/x-www-form-urlencoded

}  // namespace pkiflow::graph

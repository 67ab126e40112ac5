// Requests and responses as the Graph client builds and reads them, independent of any
// transport (the real HTTPS one, or the dry-run recorder that only prints what would be sent).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pkiflow::graph {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, DELETE
  std::string url;     // absolute
  Headers headers;
  std::string body;
  const std::string* header(const std::string& name) const;  // case-insensitive
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  const std::string* header(const std::string& name) const;
};

// The request with every secret replaced by "***": the bearer token, and client_secret /
// client_assertion in a form body. What logs, the journal and dry-run output may show.
HttpRequest redacted(const HttpRequest& request);

// A dry-run line: the redacted request as one JSON object {method, url, headers, body}.
std::string dry_run_json(const HttpRequest& request);

}  // namespace pkiflow::graph

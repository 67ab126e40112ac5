// The errors Graph and the token endpoint return, as values with a message a user can act on
// (graph-api.md 5, 6): code + message + request ids for Graph; error + description + trace id
// for the token endpoint. Bodies that are not the documented JSON are reported by status with
// a short, printable excerpt.
#pragma once

#include <string>
#include <string_view>

namespace pkiflow::graph {

struct GraphError {
  int status = 0;
  std::string code;  // e.g. "BadRequest", "Request_ResourceNotFound"
  std::string message;
  std::string request_id;  // innerError.request-id (or the response header)
  std::string client_request_id;
  std::string date;
  std::string describe() const;  // "Graph 400 BadRequest: … (request-id …, client-request-id …)"
};

GraphError parse_graph_error(int status, std::string_view body,
                             std::string_view request_id_header = "");

struct TokenError {
  int status = 0;
  std::string error;        // e.g. "invalid_client"
  std::string description;  // the first line of error_description
  std::string trace_id;
  std::string correlation_id;
  std::string describe() const;
};

TokenError parse_token_error(int status, std::string_view body);

}  // namespace pkiflow::graph

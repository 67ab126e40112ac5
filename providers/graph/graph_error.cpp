#include "providers/graph/graph_error.hpp"

#include <nlohmann/json.hpp>

namespace pkiflow::graph {

namespace {

// A short, single-line, printable excerpt of an unexpected body.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200))
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  if (body.size() > 200) out += "…";
  return out.empty() ? "(empty body)" : out;
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

GraphError parse_graph_error(int status, std::string_view body,
                             std::string_view request_id_header) {
  GraphError e;
  e.status = status;
  e.request_id = std::string(request_id_header);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& err = j["error"];
    e.code = text(err, "code");
    e.message = text(err, "message");
    for (const char* inner_key : {"innerError", "innererror"}) {
      if (!err.contains(inner_key) || !err[inner_key].is_object()) continue;
      const auto& inner = err[inner_key];
      if (auto id = text(inner, "request-id"); !id.empty()) e.request_id = id;
      e.client_request_id = text(inner, "client-request-id");
      e.date = text(inner, "date");
    }
  } else {
    e.message = excerpt(body);
  }
  return e;
}

std::string GraphError::describe() const {
  std::string out = "Graph " + std::to_string(status);
  if (!code.empty()) out += " " + code;
  out += ": " + (message.empty() ? std::string("(no message)") : message);
  std::string ids;
  if (!request_id.empty()) ids += "request-id " + request_id;
  if (!client_request_id.empty())
    ids += (ids.empty() ? "" : ", ") + std::string("client-request-id ") + client_request_id;
  if (!ids.empty()) out += " (" + ids + ")";
  return out;
}

TokenError parse_token_error(int status, std::string_view body) {
  TokenError e;
  e.status = status;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    e.error = text(j, "error");
    e.description = text(j, "error_description");
    e.description = e.description.substr(0, e.description.find_first_of("\r\n"));
    e.trace_id = text(j, "trace_id");
    e.correlation_id = text(j, "correlation_id");
  }
  if (e.error.empty()) e.description = excerpt(body);
  return e;
}

std::string TokenError::describe() const {
  std::string out = "token endpoint " + std::to_string(status);
  if (!error.empty()) out += " " + error;
  out += ": " + (description.empty() ? std::string("(no description)") : description);
  if (!trace_id.empty()) out += " (trace_id " + trace_id + ")";
  return out;
}

}  // namespace pkiflow::graph

// Every parser of what Microsoft Graph and the token endpoint send back: GSA objects and
// lists (with @odata.nextLink), their status values, Graph error bodies, token responses and
// errors, Retry-After values. The first byte picks the parser.
#include "providers/graph/graph_error.hpp"
#include "providers/graph/retry_policy.hpp"
#include "providers/graph/token.hpp"
#include "providers/gsa_tls/gsa_messages.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::select(data, size, 7);
  const std::string_view body = fuzz::text(in.data, in.size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  switch (in.which) {
    case 0:
      (void)gsa::parse_remote_ca(body);
      break;
    case 1: {
      std::string next;
      (void)gsa::parse_remote_list(body, next);
      break;
    }
    case 2:
      (void)gsa::parse_status(body);
      break;
    case 3:
      (void)graph::parse_graph_error(400, body, "req-id").describe();
      break;
    case 4:
      (void)graph::parse_token_error(401, body).describe();
      break;
    case 5: {
      graph::HttpResponse r;
      r.status = 200;
      r.body = std::string(body);
      (void)graph::parse_token_response(r, now);
      break;
    }
    case 6: {
      auto ms = graph::parse_retry_after(body, now);
      if (ms && ms->count() < 0) __builtin_trap();  // a wait is never negative
      break;
    }
  }
  return 0;
}

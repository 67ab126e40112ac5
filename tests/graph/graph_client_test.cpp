// The Graph client's rules with a scripted transport (no sockets): the token cache, one refresh
// on a 401, Retry-After, no resend of a create after an ambiguous failure, 4xx not retried, the
// per-run attempt cap, and the headers every request carries.
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <deque>

#include "providers/graph/client.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace graph_client_test {

using namespace pkiflow;
using namespace pkiflow::graph;
namespace net = boost::asio;

namespace {

class ScriptedTransport : public Transport {
 public:
  std::deque<Exchange> script;
  std::vector<HttpRequest> seen;

  net::awaitable<Exchange> send(const HttpRequest& r) override {
    seen.push_back(r);
    if (script.empty()) co_return reply(599, "{}");
    Exchange e = script.front();
    script.pop_front();
    co_return e;
  }

  static Exchange reply(int status, std::string body, Headers headers = {}) {
    Exchange e;
    e.response = HttpResponse{status, std::move(headers), std::move(body)};
    return e;
  }
  static Exchange token(const std::string& value) {
    return reply(200,
                 R"({"token_type":"Bearer","expires_in":3600,"access_token":")" + value + R"("})");
  }
  static Exchange no_answer() {
    Exchange e;
    e.error = "127.0.0.1:1: reading the response failed: end of stream";
    e.maybe_delivered = true;
    return e;
  }
};

struct Harness {
  net::io_context ioc;
  ScriptedTransport transport;
  std::unique_ptr<GraphClient> client;
  int credentials_made = 0;

  explicit Harness(int attempts_per_run = 500) {
    ClientConfig c;
    c.graph_base = "https://graph.example/beta";
    c.token_url = "https://login.example/contoso/oauth2/v2.0/token";
    c.scope = "https://graph.microsoft.com/.default";
    c.tenant = "contoso";
    c.client_id = "app";
    c.credential = [this]() -> Result<ClientCredential> {
      ++credentials_made;
      return ClientCredential{ClientCredential::Kind::secret, "s3cret"};
    };
    c.retry.base = Millis(1);
    c.retry.cap = Millis(5);
    c.max_attempts_per_run = attempts_per_run;
    client = std::make_unique<GraphClient>(
        ioc.get_executor(), transport, c, [] { return std::chrono::system_clock::now(); },
        [] { return 0.5; });
  }

  Reply call(const std::string& method, bool mutating = false,
             GraphClient::Resend resend = GraphClient::Resend::by_client) {
    HttpRequest r{
        method, "https://graph.example/beta/thing", {{"client-request-id", "crid-1"}}, ""};
    Reply out;
    net::co_spawn(
        ioc, [&]() -> net::awaitable<void> { out = co_await client->call(r, mutating, resend); },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    ioc.restart();
    ioc.run();
    return out;
  }
  std::size_t token_requests() const {
    std::size_t n = 0;
    for (const auto& r : transport.seen)
      n += r.url.find("/oauth2/v2.0/token") != std::string::npos;
    return n;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_client)

// A create that another worker may make meanwhile is looked for again before it is resent: a
// throttled answer goes back to the caller (with its Retry-After) instead of being resent.
BOOST_AUTO_TEST_CASE(a_throttled_create_is_handed_back_to_look_again_before_it_is_resent) {
  Harness h;
  using T = ScriptedTransport;
  h.transport.script = {T::token("t"), T::reply(429, "{}", {{"Retry-After", "0.4"}}),
                        T::reply(503, "{}", {{"Retry-After", "2"}})};
  auto r = h.call("POST", true, GraphClient::Resend::after_read_back);
  BOOST_TEST(r.throttled);
  BOOST_TEST(!r.maybe_applied);
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST_REQUIRE(r.retry_after.has_value());
  BOOST_TEST(r.retry_after->count() == 400);
  auto by_client = Harness();
  by_client.transport.script = {T::token("t"), T::reply(429, "{}", {{"Retry-After", "0"}}),
                                T::reply(201, "{}")};
  BOOST_TEST(by_client.call("POST", true).ok());  // the default: the client waits and resends
}

BOOST_AUTO_TEST_CASE(the_token_is_cached_and_a_401_refreshes_it_once) {
  Harness h;
  using T = ScriptedTransport;
  h.transport.script = {
      T::token("tok1"),
      T::reply(200, "{}"),  // first call
      T::reply(200, "{}"),  // second: cached token
      T::reply(401, "{}"),
      T::token("tok2"),
      T::reply(200, "{}"),  // refresh
      T::reply(401, "{}"),
      T::token("tok3"),
      T::reply(401, R"({"error":{"code":"InvalidAuthenticationToken","message":"expired"}})")};
  BOOST_TEST(h.call("GET").ok());
  BOOST_TEST(h.call("GET").ok());
  BOOST_TEST(h.token_requests() == 1u);
  auto refreshed = h.call("GET");
  BOOST_TEST(refreshed.ok());
  BOOST_TEST(*h.transport.seen.back().header("Authorization") == "Bearer tok2");
  BOOST_TEST(h.token_requests() == 2u);
  auto twice = h.call("GET");  // a second 401 in a row is final
  BOOST_TEST(!twice.ok());
  BOOST_TEST((twice.outcome == Outcome::refused));
  BOOST_TEST(twice.response.status == 401);
  BOOST_TEST(twice.message.find("InvalidAuthenticationToken") != std::string::npos);
  BOOST_TEST(h.token_requests() == 3u);
  BOOST_TEST(h.credentials_made == 3);
}

BOOST_AUTO_TEST_CASE(every_request_asks_for_unknown_enum_members_and_keeps_its_request_id) {
  Harness h;
  h.transport.script = {ScriptedTransport::token("t"), ScriptedTransport::reply(503, "{}"),
                        ScriptedTransport::reply(200, "{}")};
  BOOST_TEST(h.call("GET").ok());
  for (std::size_t i = 1; i < h.transport.seen.size(); ++i) {
    const auto& r = h.transport.seen[i];
    BOOST_TEST(*r.header("Prefer") == "include-unknown-enum-members");
    BOOST_TEST(*r.header("client-request-id") == "crid-1");  // one id per logical call
  }
}

BOOST_AUTO_TEST_CASE(a_create_is_not_resent_after_an_ambiguous_failure) {
  using T = ScriptedTransport;
  for (const auto& ambiguous : {T::reply(500, "{}"), T::reply(502, "{}"), T::no_answer()}) {
    Harness h;
    h.transport.script = {T::token("t"), ambiguous, T::reply(201, "{}")};
    auto r = h.call("POST", /*mutating=*/true);
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.maybe_applied);
    BOOST_TEST((r.outcome == Outcome::unavailable));
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST(h.transport.script.size() == 1u);  // the 201 was never asked for
  }
  // Throttling is not ambiguous: the request was not taken, so it is sent again.
  Harness h;
  h.transport.script = {T::token("t"), T::reply(429, "{}", {{"Retry-After", "0"}}),
                        T::reply(201, "{}")};
  auto r = h.call("POST", true);
  BOOST_TEST(r.ok());
  BOOST_TEST(r.attempts == 2);
  // A read is retried after the same failures.
  Harness g;
  g.transport.script = {T::token("t"), T::reply(500, "{}"), T::no_answer(), T::reply(200, "{}")};
  BOOST_TEST(g.call("GET").ok());
}

BOOST_AUTO_TEST_CASE(client_errors_are_not_retried) {
  Harness h;
  h.transport.script = {
      ScriptedTransport::token("t"),
      ScriptedTransport::reply(
          404,
          R"({"error":{"code":"ResourceNotFound","message":"gone","innerError":{"request-id":"rid-9"}}})")};
  auto r = h.call("GET");
  BOOST_TEST((r.outcome == Outcome::refused));
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(r.message.find("ResourceNotFound") != std::string::npos);
  BOOST_TEST(r.message.find("rid-9") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(retry_after_is_waited_for) {
  Harness h;
  h.transport.script = {ScriptedTransport::token("t"),
                        ScriptedTransport::reply(503, "{}", {{"Retry-After", "0.25"}}),
                        ScriptedTransport::reply(200, "{}")};
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(h.call("GET").ok());
  const auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() >= 250);
}

BOOST_AUTO_TEST_CASE(the_run_attempt_cap_ends_a_storm) {
  Harness h(4);
  h.transport.script = {ScriptedTransport::token("t")};
  for (int i = 0; i < 10; ++i)
    h.transport.script.push_back(ScriptedTransport::reply(503, "{}", {{"Retry-After", "0"}}));
  auto r = h.call("GET");
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.message.find("attempt cap") != std::string::npos, r.message);
  BOOST_TEST(h.transport.seen.size() <= 5u);
}

BOOST_AUTO_TEST_CASE(a_refused_credential_says_why_with_the_trace_id) {
  Harness h;
  h.transport.script = {ScriptedTransport::reply(
      401,
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","trace_id":"tr-1"})")};
  auto r = h.call("GET");
  BOOST_TEST((r.outcome == Outcome::unauthenticated));
  BOOST_TEST(r.message.find("invalid_client") != std::string::npos, r.message);
  BOOST_TEST(r.message.find("AADSTS7000215") != std::string::npos);
  BOOST_TEST(r.message.find("tr-1") != std::string::npos);
  BOOST_TEST(r.message.find("s3cret") == std::string::npos);
  BOOST_TEST(h.transport.seen.size() == 1u);  // a refused credential is not retried
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace graph_client_test

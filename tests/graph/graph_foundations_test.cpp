// The socket-free foundations of the Graph client: clouds and URLs, Retry-After and retry
// decisions, Graph and token error bodies, client-request-ids, and the JWT client assertion
// (checked by openssl as well as by Botan).
#include <botan/base64.h>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/pki/local_ca.hpp"
#include "providers/graph/client_assertion.hpp"
#include "providers/graph/cloud.hpp"
#include "providers/graph/encoding.hpp"
#include "providers/graph/graph_error.hpp"
#include "providers/graph/retry_policy.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace graph_foundations_test {

using namespace pkiflow;
using namespace pkiflow::graph;
using pkiflow::test::quote;
using pkiflow::test::TempDir;

namespace {

std::vector<std::uint8_t> from_base64url(std::string s) {
  for (char& c : s)
    c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (s.size() % 4)
    s += '=';
  auto d = Botan::base64_decode(s);
  return std::vector<std::uint8_t>(d.begin(), d.end());
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0, next;
  while ((next = s.find(sep, pos)) != std::string::npos) {
    out.push_back(s.substr(pos, next - pos));
    pos = next + 1;
  }
  out.push_back(s.substr(pos));
  return out;
}

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_foundations)

BOOST_AUTO_TEST_CASE(each_cloud_has_its_own_hosts_and_scope) {
  BOOST_TEST(endpoints(Cloud::global).scope == "https://graph.microsoft.com/.default");
  BOOST_TEST(endpoints(Cloud::us_gov).graph_base == "https://graph.microsoft.us/beta");
  BOOST_TEST(endpoints(Cloud::us_gov_dod).scope == "https://dod-graph.microsoft.us/.default");
  BOOST_TEST(endpoints(Cloud::china).login_base == "https://login.chinacloudapi.cn");
  BOOST_TEST(token_url(endpoints(Cloud::global), "contoso.onmicrosoft.com") ==
             "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  BOOST_TEST((parse_cloud("dod").value() == Cloud::us_gov_dod));
  BOOST_TEST(parse_cloud("azure").error().message().find("global, usgov, dod, china") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(urls_are_https_except_to_loopback) {
  auto g = parse_url("https://graph.microsoft.com/beta/networkAccess", "graph_base");
  BOOST_REQUIRE(g.ok());
  BOOST_TEST(g->host == "graph.microsoft.com");
  BOOST_TEST(g->port == "443");
  BOOST_TEST(g->target == "/beta/networkAccess");
  for (const char* ok : {"http://127.0.0.1:8443/beta", "http://localhost:80", "http://[::1]:9000/x",
                         "http://127.10.0.1/"})
    BOOST_TEST(parse_url(ok, "graph_base").ok(), ok);
  auto plain = parse_url("http://graph.microsoft.com/beta", "graph_base");
  BOOST_REQUIRE(!plain.ok());
  BOOST_TEST(plain.error().message().find("only to loopback") != std::string::npos);
  BOOST_TEST(plain.error().subject() == "graph_base");
  for (const char* bad : {"ftp://x", "https://", "https://user:pw@host/", "https://host:99999/",
                          "graph.microsoft.com", "http://127.0.0.1.evil.example/", "https://[::1/"})
    BOOST_TEST(!parse_url(bad, "u").ok(), bad);
}

BOOST_AUTO_TEST_CASE(retry_after_takes_seconds_fractions_and_http_dates) {
  BOOST_TEST(parse_retry_after("2.128", kNow).value().count() == 2128);
  BOOST_TEST(parse_retry_after(" 5 ", kNow).value().count() == 5000);
  BOOST_TEST(parse_retry_after("0", kNow).value().count() == 0);
  // kNow is Fri, 15 Jan 2027 08:00:00 GMT.
  BOOST_TEST(parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", kNow).value().count() == 30'000);
  BOOST_TEST(parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", kNow).value().count() == 0);
  // A hostile or broken server's years: capped at one, still "longer than any run waits".
  BOOST_TEST(parse_retry_after("99999999", kNow).value() == std::chrono::hours(24 * 365));
  BOOST_TEST(parse_retry_after("Fri, 15 Jan 2200 08:00:30 GMT", kNow).value() >
             std::chrono::hours(24 * 365));
  for (const char* bad : {"", "soon", "-1", "1e999", "Fri, 15 Jan 2027 08:00:30 PST", "5s",
                          "Fri, +5 Jan 2027 08:00:30 GMT", "Fri,  5 Jan 2027 08:00:30 GMT",
                          "Fri, 15 Jan 2027 08:00:30 GMTX"})
    BOOST_TEST(!parse_retry_after(bad, kNow).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(retries_follow_the_graph_rules) {
  RetryPolicy p;  // 6 attempts, 500 ms doubling to 30 s, Retry-After up to 300 s
  struct Case {
    const char* sentence;
    int attempt, status;
    std::optional<Millis> retry_after;
    bool retry;
    long delay_ms;
  };
  const Case cases[] = {
      {"a 429 waits exactly as long as Retry-After says", 1, 429, Millis(2128), true, 2128},
      {"a 503 with Retry-After waits for it", 2, 503, Millis(7000), true, 7000},
      {"a 429 without Retry-After backs off", 1, 429, std::nullopt, true, 250},
      {"a 500 backs off and doubles", 3, 500, std::nullopt, true, 1000},
      {"a 500 ignores a Retry-After it was not promised", 1, 500, Millis(9000), true, 250},
      {"a timeout or reset backs off", 2, 0, std::nullopt, true, 500},
      {"a 408 is retried", 1, 408, std::nullopt, true, 250},
      {"back-off is capped", 5, 502, std::nullopt, true, 4000},
      {"a 400 is never retried", 1, 400, std::nullopt, false, 0},
      {"a 401 is never retried here (the token layer refreshes once)", 1, 401, std::nullopt, false,
       0},
      {"a 403 is never retried", 1, 403, std::nullopt, false, 0},
      {"a 404 is never retried", 1, 404, std::nullopt, false, 0},
      {"a 409 is never retried", 1, 409, std::nullopt, false, 0},
      {"the attempt cap ends retries", 6, 503, Millis(1000), false, 0},
      {"a Retry-After beyond the run's patience gives up", 1, 429, Millis(600'000), false, 0},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      auto d = decide_retry(p, c.attempt, c.status, c.retry_after, 0.0);
      BOOST_TEST(d.retry == c.retry, d.reason);
      BOOST_TEST(d.delay.count() == c.delay_ms);
      BOOST_TEST(!d.reason.empty());
    }
  }
  RetryPolicy capped{10, Millis(500), Millis(30'000), Millis(300'000)};
  BOOST_TEST(decide_retry(capped, 9, 500, std::nullopt, 0.999).delay.count() == 29'985);
}

BOOST_AUTO_TEST_CASE(graph_error_bodies_become_actionable_messages) {
  const char* body =
      R"({"error":{"code":"BadRequest","message":"The certificate's key does not match the CSR.",
    "innerError":{"date":"2026-11-25T09:00:00","request-id":"9f1c","client-request-id":"6b2a"}}})";
  auto e = parse_graph_error(400, body);
  BOOST_TEST(e.describe() ==
             "Graph 400 BadRequest: The certificate's key does not match the CSR. (request-id "
             "9f1c, client-request-id 6b2a)");
  auto lower = parse_graph_error(
      404, R"({"error":{"code":"NotFound","message":"x","innererror":{"request-id":"r1"}}})");
  BOOST_TEST(lower.request_id == "r1");
  auto html = parse_graph_error(502, "<html>\n<body>Bad Gateway</body></html>", "hdr-id");
  BOOST_TEST(html.describe() ==
             "Graph 502: <html> <body>Bad Gateway</body></html> (request-id hdr-id)");
  BOOST_TEST(parse_graph_error(500, "").describe() == "Graph 500: (empty body)");
}

BOOST_AUTO_TEST_CASE(token_errors_show_error_description_and_trace_id) {
  const char* body =
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0a\r\nCorrelation ID: 0b","error_codes":[7000215],"trace_id":"0a","correlation_id":"0b"})";
  BOOST_TEST(parse_token_error(401, body).describe() ==
             "token endpoint 401 invalid_client: AADSTS7000215: Invalid client secret provided. "
             "(trace_id 0a)");
  BOOST_TEST(parse_token_error(500, "oops").describe() == "token endpoint 500: oops");
}

BOOST_AUTO_TEST_CASE(client_request_ids_are_random_v4_guids) {
  auto rng = pki::Rng::system();
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    auto id = new_client_request_id(rng);
    BOOST_REQUIRE(id.size() == 36u);
    BOOST_TEST(id[14] == '4');
    BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
    BOOST_TEST(id[8] == '-');
    ids.insert(id);
  }
  BOOST_TEST(ids.size() == 200u);
  BOOST_TEST(base64url(std::string("\xfb\xff", 2)) == "-_8");
}

BOOST_AUTO_TEST_CASE(client_assertions_are_signed_as_entra_expects_and_openssl_agrees) {
  TempDir dir;
  auto rng = pki::Rng::system();
  auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::rsa2048, rng);
  auto cert = *pki::LocalCa::self_signed("CN=pkiflow app", key, *pki::find_profile("root-ca"),
                                         {kNow, std::chrono::days(365), {}}, rng);
  pkiflow::test::write_file(dir / "cert.pem", cert.pem());
  BOOST_REQUIRE(pkiflow::test::run("openssl x509 -in " + quote(dir / "cert.pem") +
                                   " -pubkey -noout > " + quote(dir / "pub.pem"))
                    .exit_code == 0);
  for (auto alg : {pki::JwsAlgorithm::ps256, pki::JwsAlgorithm::rs256}) {
    BOOST_TEST_CONTEXT(pki::to_string(alg)) {
      AssertionInput in{"00000000-aaaa-4bbb-8ccc-000000000001",
                        "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
                        &cert,
                        &key,
                        alg,
                        kNow,
                        std::chrono::seconds(600)};
      auto jwt = make_client_assertion(in, rng);
      BOOST_REQUIRE_MESSAGE(jwt.ok(), pkiflow::test::why(jwt));
      auto parts = split(*jwt, '.');
      BOOST_REQUIRE(parts.size() == 3u);
      auto header = nlohmann::json::parse(from_base64url(parts[0]));
      auto claims = nlohmann::json::parse(from_base64url(parts[1]));
      BOOST_TEST(header["alg"] == pki::to_string(alg));
      BOOST_TEST(header["typ"] == "JWT");
      if (alg == pki::JwsAlgorithm::ps256)
        BOOST_TEST(header["x5t#S256"] == base64url(cert.der_digest("SHA-256")));
      else
        BOOST_TEST(header["x5t"] == base64url(cert.der_digest("SHA-1")));
      BOOST_TEST(claims["aud"] == in.token_url);
      BOOST_TEST(claims["iss"] == in.client_id);
      BOOST_TEST(claims["sub"] == in.client_id);
      BOOST_TEST(claims["exp"].get<long>() - claims["nbf"].get<long>() == 600);
      BOOST_TEST(claims["jti"].get<std::string>().size() == 36u);
      const std::string input = parts[0] + "." + parts[1];
      auto sig = from_base64url(parts[2]);
      BOOST_TEST(pki::jws_verify(key.public_key().spki_der, alg, input, sig));
      pkiflow::test::write_file(dir / "input", input);
      pkiflow::test::write_file(dir / "sig", std::string(sig.begin(), sig.end()));
      std::string pss = alg == pki::JwsAlgorithm::ps256
                            ? " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt "
                              "rsa_mgf1_md:sha256"
                            : "";
      auto v =
          pkiflow::test::run("openssl dgst -sha256" + pss + " -verify " + quote(dir / "pub.pem") +
                             " -signature " + quote(dir / "sig") + " " + quote(dir / "input"));
      BOOST_TEST(v.out.find("Verified OK") != std::string::npos, v.out + v.err);
    }
  }
  auto other = pki::PrivateKey::generate(pki::KeyAlgorithm::rsa2048, rng);
  AssertionInput wrong{
      "id", "aud", &cert, &other, pki::JwsAlgorithm::ps256, kNow, std::chrono::seconds(600)};
  BOOST_TEST(make_client_assertion(wrong, rng).error().message().find("does not belong") !=
             std::string::npos);
  auto ec = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  BOOST_TEST(pki::jws_sign(ec, pki::JwsAlgorithm::ps256, "x", rng).error().kind() ==
             ErrorKind::unsupported);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace graph_foundations_test

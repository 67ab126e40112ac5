// Requests and responses without a network: what the client would send (and dry-run prints),
// with every secret redacted; token responses and the cache rule; the GSA endpoint's messages.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "providers/graph/detail/json_reading.hpp"
#include "providers/graph/token.hpp"
#include "providers/gsa_tls/gsa_messages.hpp"
#include "providers/intune_codesigning/intune_messages.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace graph_messages_test {

using namespace pkiflow;
using namespace pkiflow::graph;

namespace {
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
const std::string kBase = "https://graph.microsoft.com/beta";
}  // namespace

BOOST_AUTO_TEST_SUITE(graph_messages)

BOOST_AUTO_TEST_CASE(a_token_request_carries_the_credential_and_dry_run_hides_it) {
  auto secret = token_request("https://login.microsoftonline.com/t/oauth2/v2.0/token", "app-id",
                              "https://graph.microsoft.com/.default",
                              {ClientCredential::Kind::secret, "s3cr&t=x"}, "cr-1");
  BOOST_TEST(secret.body ==
             "client_id=app-id&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type="
             "client_credentials"
             "&client_secret=s3cr%26t%3Dx");
  auto shown = dry_run_json(secret);
  BOOST_TEST(shown.find("s3cr") == std::string::npos);
  BOOST_TEST(shown.find("client_secret=***") != std::string::npos);
  auto assertion = token_request("https://x/token", "app", "scope",
                                 {ClientCredential::Kind::assertion, "eyJ.sig"}, "cr-2");
  BOOST_TEST(assertion.body.find("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
                                 "assertion-type%3Ajwt-bearer") != std::string::npos);
  BOOST_TEST(dry_run_json(assertion).find("eyJ") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(dry_run_shows_graph_requests_with_the_token_redacted) {
  auto r = gsa::create_request(kBase, "pfABCDEFGHJK", "Contoso TLS CA", "Contoso", "cr-3");
  r.headers.emplace_back("Authorization", "Bearer eyJ0eXAiOiJKV1Qi.secret.token");
  auto j = nlohmann::json::parse(dry_run_json(r));
  BOOST_TEST(j["method"] == "POST");
  BOOST_TEST(j["url"] == kBase + "/networkAccess/tls/externalCertificateAuthorityCertificates");
  BOOST_TEST(j["headers"]["Authorization"] == "Bearer ***");
  BOOST_TEST(j["headers"]["Prefer"] == "include-unknown-enum-members");
  BOOST_TEST(j["headers"]["client-request-id"] == "cr-3");
  BOOST_TEST(j["body"]["@odata.type"] ==
             "#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate");
  BOOST_TEST(j["body"]["name"] == "pfABCDEFGHJK");
  BOOST_TEST(dry_run_json(r).find("eyJ0eXAi") == std::string::npos);
  BOOST_TEST(*r.header("prefer") ==
             "include-unknown-enum-members");  // header names are case-insensitive
}

BOOST_AUTO_TEST_CASE(token_responses_give_a_token_or_the_endpoints_error) {
  HttpResponse ok{200, {}, R"({"token_type":"Bearer","expires_in":3599,"access_token":"tok"})"};
  auto t = parse_token_response(ok, kNow);
  BOOST_REQUIRE(t.token.has_value());
  BOOST_TEST(t.token->value == "tok");
  BOOST_TEST((t.token->expires_at == kNow + std::chrono::seconds(3599)));
  HttpResponse text_expiry{200, {}, R"({"expires_in":"3600","access_token":"tok"})"};
  BOOST_TEST(parse_token_response(text_expiry, kNow).token.has_value());
  // Lifetimes a time point cannot hold are a day; text that is not only a number is no lifetime.
  for (const char* forever : {R"({"expires_in":9223372036854775807,"access_token":"tok"})",
                              R"({"expires_in":"9223372036854775807","access_token":"tok"})"}) {
    auto long_lived = parse_token_response(HttpResponse{200, {}, forever}, kNow);
    BOOST_REQUIRE(long_lived.token.has_value());
    BOOST_TEST((long_lived.token->expires_at == kNow + std::chrono::hours(24)));
  }
  HttpResponse junk_expiry{200, {}, R"({"expires_in":"3599abc","access_token":"tok"})"};
  BOOST_TEST(parse_token_response(junk_expiry, kNow).error->error == "malformed_response");
  HttpResponse bad{
      401,
      {},
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","trace_id":"t1"})"};
  auto e = parse_token_response(bad, kNow);
  BOOST_REQUIRE(e.error.has_value());
  BOOST_TEST(e.error->describe() ==
             "token endpoint 401 invalid_client: AADSTS7000215: Invalid client secret provided. "
             "(trace_id t1)");
  HttpResponse empty{200, {}, R"({"token_type":"Bearer"})"};
  BOOST_TEST(parse_token_response(empty, kNow).error->error == "malformed_response");
}

BOOST_AUTO_TEST_CASE(a_token_is_reused_until_five_minutes_before_it_expires) {
  std::optional<AccessToken> none;
  BOOST_TEST(!token_usable(none, kNow));
  AccessToken t{"tok", kNow + std::chrono::minutes(60)};
  BOOST_TEST(token_usable(t, kNow));
  BOOST_TEST(token_usable(t, kNow + std::chrono::minutes(54)));
  BOOST_TEST(!token_usable(t, kNow + std::chrono::minutes(55)));
  BOOST_TEST(!token_usable(t, kNow + std::chrono::minutes(61)));
}

BOOST_AUTO_TEST_CASE(gsa_names_fit_the_service_rules) {
  auto name = gsa::object_name("7Q4M2XKD9HJ3B8TW", 0);
  BOOST_TEST_REQUIRE(name.ok());
  BOOST_TEST(*name == "pf7Q4M2XKD90");
  BOOST_TEST(name->size() <= gsa::kMaxNameLength);
  BOOST_TEST(name->find(' ') == std::string::npos);
  BOOST_TEST(*gsa::object_name("7Q4M2XKD9HJ3B8TW", 1) == "pf7Q4M2XKD91");
  BOOST_TEST(*gsa::object_name("7Q4M2XKD9HJ3B8TW", 31) == "pf7Q4M2XKD9Z");
  BOOST_TEST(gsa::name_prefix("7Q4M2XKD9HJ3B8TW") == "pf7Q4M2XKD9");
  auto exhausted = gsa::object_name("7Q4M2XKD9HJ3B8TW", 32);
  BOOST_TEST_REQUIRE(!exhausted.ok());
  BOOST_TEST(exhausted.error().message().find("used up") != std::string::npos);
  auto req = gsa::find_by_prefix_request("https://g/beta", "pf7Q4M2XKD9", "c");
  BOOST_TEST(req.url.find("startsWith") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(gsa_statuses_keep_what_the_service_said) {
  BOOST_TEST(gsa::in_force(gsa::parse_status("active")));
  BOOST_TEST(gsa::in_force(gsa::parse_status("enabled")));
  for (const char* not_yet :
       {"csrGenerated", "enrolling", "creating", "unknownFutureValue", "disabled", "expired"})
    BOOST_TEST(!gsa::in_force(gsa::parse_status(not_yet)), not_yet);
  auto future = gsa::parse_status("quarantined");
  BOOST_TEST((future.status == gsa::TlsStatus::unrecognised));
  BOOST_TEST(future.raw == "quarantined");
  BOOST_TEST(!gsa::in_force(future));  // fail closed
}

BOOST_AUTO_TEST_CASE(gsa_responses_are_parsed_with_the_csr_and_validity) {
  const char* created =
      R"({"@odata.type":"#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate",
    "id":"b6a5c6ab-6d0b-4a3c-9c0e-2f0c6b1a7e11","name":"pf7Q4M2XKD9H","commonName":"Contoso TLS CA",
    "organizationName":"Contoso","status":"csrGenerated",
    "validity":{"startDateTime":"2026-11-25T09:00:00Z","endDateTime":"2027-11-25T09:00:00.123Z"},
    "certificateSigningRequest":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
    "certificate":null,"chain":null})";
  auto ca = gsa::parse_remote_ca(created);
  BOOST_REQUIRE(ca.ok());
  BOOST_TEST(ca->id == "b6a5c6ab-6d0b-4a3c-9c0e-2f0c6b1a7e11");
  BOOST_TEST((ca->status.status == gsa::TlsStatus::csrGenerated));
  BOOST_TEST(ca->csr_pem.find("BEGIN CERTIFICATE REQUEST") != std::string::npos);
  BOOST_TEST(ca->certificate_pem.empty());
  BOOST_REQUIRE(ca->valid_to.has_value());
  BOOST_TEST(!gsa::parse_remote_ca(R"({"name":"x"})").ok());
  std::string next;
  auto page = gsa::parse_remote_list(
      R"({"value":[{"id":"1","name":"a","status":"active"}],"@odata.nextLink":"https://graph/next"})",
      next);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->size() == 1u);
  BOOST_TEST(next == "https://graph/next");
  BOOST_TEST(!gsa::parse_remote_list(R"({"error":{}})", next).ok());
}

// One object is read by events (not into a document first): it must read every answer as a
// list page's items are read (from a document), odd ones included. An object with no id is an
// error; anything not an object, or not JSON, is too.
BOOST_AUTO_TEST_CASE(a_gsa_object_read_by_events_reads_as_from_a_document) {
  const std::vector<std::string> objects{
      R"({"id":"1","name":"pfA","commonName":"C","organizationName":"O","status":"disabled",
          "certificateSigningRequest":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n",
          "certificate":"-----BEGIN CERTIFICATE-----\nMIIC\u0041\n","chain":"x\"y",
          "validity":{"startDateTime":"2026-11-25T09:00:00Z","endDateTime":"2027-11-25T09:00:00Z"}})",
      R"({"id":"a","id":"b","status":"active","status":7})",  // the last value counts
      R"({"id":"a","name":"n","name":null,"chain":["c"],"certificate":{"x":"y"}})",
      R"({"id":"x","extra":{"id":"y","certificate":"z","validity":{"startDateTime":"2026-01-01T00:00:00Z"}}})",
      R"({"id":"x","validity":{"startDateTime":{"a":1},"x":[{"endDateTime":"2026-01-01T00:00:00Z"}],
          "endDateTime":"2026-02-01T00:00:00Z"}})",
      R"({"id":"x","validity":{"startDateTime":"2026-01-01T00:00:00Z"},"validity":"soon"})",
      R"({"id":"x","validity":"soon","validity":{"endDateTime":"2026-03-01T00:00:00Z"}})",
      R"({"status":"active","certificate":"c","id":"late"})",
      R"({"id":"x","validity":{"startDateTime":"2026-01-01T00:00:00Z","startDateTime":5}})",
  };
  for (const auto& object : objects) {
    BOOST_TEST_CONTEXT(object) {
      std::string next;
      auto listed = gsa::parse_remote_list(R"({"value":[)" + object + "]}", next);
      BOOST_REQUIRE(listed.ok());
      BOOST_REQUIRE(listed->size() == 1u);
      const auto& want = listed->front();
      auto got = gsa::parse_remote_ca(object);
      BOOST_REQUIRE_MESSAGE(got.ok(), test::why(got));
      BOOST_TEST(got->id == want.id);
      BOOST_TEST(got->name == want.name);
      BOOST_TEST(got->common_name == want.common_name);
      BOOST_TEST(got->organization_name == want.organization_name);
      BOOST_TEST(got->status.raw == want.status.raw);
      BOOST_TEST((got->status.status == want.status.status));
      BOOST_TEST(got->csr_pem == want.csr_pem);
      BOOST_TEST(got->certificate_pem == want.certificate_pem);
      BOOST_TEST(got->chain_pem == want.chain_pem);
      BOOST_TEST((got->valid_from == want.valid_from));
      BOOST_TEST((got->valid_to == want.valid_to));
    }
  }
  // Spot checks that the comparison above compares something.
  auto first = gsa::parse_remote_ca(objects[0]);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->certificate_pem == "-----BEGIN CERTIFICATE-----\nMIICA\n");
  BOOST_TEST(first->chain_pem == "x\"y");
  BOOST_TEST(first->valid_from.has_value());
  BOOST_TEST(gsa::parse_remote_ca(objects[1])->id == "b");
  BOOST_TEST(gsa::parse_remote_ca(objects[1])->status.raw == "");
  BOOST_TEST(gsa::parse_remote_ca(objects[3])->certificate_pem == "");
  BOOST_TEST(gsa::parse_remote_ca(objects[4])->valid_to.has_value());
  BOOST_TEST(!gsa::parse_remote_ca(objects[4])->valid_from.has_value());
  BOOST_TEST(!gsa::parse_remote_ca(objects[5])->valid_from.has_value());
  BOOST_TEST(gsa::parse_remote_ca(objects[6])->valid_to.has_value());
  for (const char* bad :
       {R"({"id":5})", R"({"id":"a","id":null})", R"({"name":"x"})", R"([{"id":"a"}])", R"("id")",
        "17", "", R"({"id":"a")", R"({"id":"a"} x)", "{\"id\":\"a\",}"})
    BOOST_TEST(!gsa::parse_remote_ca(bad).ok(), bad);
}

BOOST_AUTO_TEST_CASE(gsa_requests_match_the_documented_methods_and_bodies) {
  auto up = gsa::upload_request(kBase, "id-1", "CERT", "CHAIN", "cr");
  BOOST_TEST(up.method == "PATCH");
  BOOST_TEST(up.url == kBase + "/networkAccess/tls/externalCertificateAuthorityCertificates/id-1");
  BOOST_TEST(up.body == R"({"certificate":"CERT","chain":"CHAIN"})");
  BOOST_TEST(*up.header("Content-Type") == "application/json");
  BOOST_TEST(gsa::enable_request(kBase, "id-1", "cr").body == R"({"status":"enabled"})");
  BOOST_TEST(gsa::delete_request(kBase, "id-1", "cr").method == "DELETE");
  BOOST_TEST(gsa::get_request(kBase, "id-1", "cr").body.empty());
  BOOST_TEST(gsa::find_by_name_request(kBase, "pf7Q4M2XKD9H", "cr").url ==
             kBase +
                 "/networkAccess/tls/"
                 "externalCertificateAuthorityCertificates?$filter=name%20eq%20%27pf7Q4M2XKD9H%27");
  BOOST_TEST(gsa::find_by_name_request(kBase, "o'brien", "cr").url.find("o%27%27brien") !=
             std::string::npos);
}

// What Intune reports proves a record's certificate only when subject, issuer and expiry (to the
// second) all match; the years the service can send are far enough apart that their difference
// in nanoseconds does not fit (the sanitizer build checks for the overflow).
BOOST_AUTO_TEST_CASE(intune_reports_a_certificate_only_when_subject_issuer_and_expiry_match) {
  using namespace std::chrono;
  pki::CertFacts f;
  f.subject = "CN=Lab Apps,O=Lab";
  f.issuer = "CN=Lab CA,O=Lab";
  f.not_after = sys_days(year(2261) / 12 / 31);
  nlohmann::ordered_json j{
      {"subject", f.subject}, {"issuer", f.issuer}, {"expirationDateTime", "2261-12-31T00:00:01Z"}};
  BOOST_TEST(intune::reported_mismatch(j, f) == "");
  j["expirationDateTime"] = "2261-12-31T00:00:02Z";
  BOOST_TEST(intune::reported_mismatch(j, f) == "expirationDateTime");
  j["expirationDateTime"] = "1678-01-01T00:00:00Z";
  BOOST_TEST(intune::reported_mismatch(j, f) == "expirationDateTime");
  j["expirationDateTime"] = nullptr;
  BOOST_TEST(intune::reported_mismatch(j, f) == "expirationDateTime");
  j["issuer"] = "CN=Other CA";
  BOOST_TEST(intune::reported_mismatch(j, f) == "issuer");
  j["subject"] = 7;
  BOOST_TEST(intune::reported_mismatch(j, f) == "subject");
}

// A page of a collection: its items and its next link; what is not an object is an error.
BOOST_AUTO_TEST_CASE(a_page_gives_its_items_and_next_link_and_refuses_what_is_not_an_object) {
  std::vector<graph::detail::json> items;
  auto next = graph::detail::read_page(
      R"({"value":[{"id":"a"},{"id":"b"}],"@odata.nextLink":"https://graph.microsoft.com/beta/x?$skiptoken=2"})",
      items, "list x");
  BOOST_TEST_REQUIRE(next.ok());
  BOOST_TEST(*next == "https://graph.microsoft.com/beta/x?$skiptoken=2");
  BOOST_TEST(items.size() == 2u);
  next = graph::detail::read_page(R"({"value":{"id":"c"}})", items, "list x");
  BOOST_TEST_REQUIRE(next.ok());
  BOOST_TEST(next->empty());
  BOOST_TEST(items.size() == 2u);  // a value that is not an array holds no items
  auto bad = graph::detail::read_page("[1,2]", items, "list x");
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().what().find("list x") != std::string::npos, bad.error().what());
  BOOST_TEST(graph::detail::same_origin("https://graph.microsoft.com/beta/y", kBase));
  BOOST_TEST(!graph::detail::same_origin("https://graph.microsoft.com.evil.example/beta", kBase));
  BOOST_TEST(!graph::detail::same_origin("https://graph.microsoft.com:8443/beta", kBase));
  BOOST_TEST(!graph::detail::same_origin("http://graph.microsoft.com/beta", kBase));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace graph_messages_test

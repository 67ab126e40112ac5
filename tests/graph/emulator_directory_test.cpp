// The emulator's Entra CBA trust store and Intune code-signing families (graph-api.md 2, 3, 7),
// driven with raw JSON requests: the PKI container and its asynchronous upload job, the CA list
// (checks of the fields against the certificate, duplicates, both delta-CRL spellings, paging),
// soft delete, and code-signing status and content.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "engine/clock.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/time_format.hpp"
#include "tools/graph-emulator/emulator.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace emulator_directory_test {

using namespace pkiflow;
using json = nlohmann::json;

namespace {

const std::string kPkis =
    "/beta/directory/publicKeyInfrastructure/certificateBasedAuthConfigurations";
const std::string kCodeSigning = "/beta/deviceAppManagement/enterpriseCodeSigningCertificates";

struct Tenant {
  engine::FakeClock clock{engine::TimePoint(std::chrono::seconds(1'800'000'000))};
  emulator::GraphEmulator emu{[] {
                                emulator::Options o;
                                o.client_secret = "s";
                                o.activation_delay = std::chrono::seconds(30);
                                return o;
                              }(),
                              [this] { return clock.now(); }, 7};
  std::string token;

  Tenant() {
    emu.set_base_url("https://graph.test");
    auto r = emu.handle({"POST",
                         "/contoso/oauth2/v2.0/token",
                         {},
                         "grant_type=client_credentials&client_id=00000000-0000-4000-8000-"
                         "00000000c11e&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_"
                         "secret=s"});
    BOOST_REQUIRE_EQUAL(r.status, 200);
    token = json::parse(r.body)["access_token"];
  }
  std::pair<int, json> send(const std::string& method, const std::string& target,
                            const json& body = nullptr) {
    auto r = emu.handle({method,
                         target,
                         {{"Authorization", "Bearer " + token}, {"client-request-id", "c"}},
                         body.is_null() ? "" : body.dump()});
    return {r.status, r.body.empty() ? json() : json::parse(r.body)};
  }
};

// CA certificates to trust: a root and intermediates under it.
struct Pki {
  pki::Rng rng = pki::Rng::system();
  engine::TimePoint now;
  pki::PrivateKey root_key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  pki::Certificate root;
  explicit Pki(engine::TimePoint t)
      : now(t),
        root(*pki::LocalCa::self_signed("CN=Dir Root,O=Lab", root_key,
                                        *pki::find_profile("root-ca"),
                                        {t, std::chrono::days(3650), {}}, rng)) {}
  pki::Certificate issue(const std::string& cn, const char* profile = "cba-ca") {
    auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
    pki::CsrSpec spec;
    spec.subject = "CN=" + cn + ",O=Lab";
    auto csr = *pki::Csr::build(spec, key, rng);
    auto ca = *pki::LocalCa::create(root, root_key);
    return *ca.sign(csr, *pki::find_profile(profile),
                    {now, std::chrono::days(365), {"http://crl.lab.test/root.crl"}}, rng);
  }
};

json ca_body(const pki::Certificate& c) {
  const auto f = c.facts();
  return {{"certificate", c.base64_der()},
          {"certificateAuthorityType", f.self_signed ? "root" : "intermediate"},
          {"displayName", f.subject},
          {"issuer", f.issuer},
          {"issuerSubjectKeyIdentifier", f.authority_key_id},
          {"expirationDateTime", pki::format_rfc3339(f.not_after)},
          {"thumbprint", f.sha1_thumbprint},
          {"certificateRevocationListUrl", "http://crl.lab.test/root.crl"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(emulator_directory)

BOOST_AUTO_TEST_CASE(a_pki_container_runs_one_upload_job_at_a_time_and_is_soft_deleted) {
  Tenant t;
  auto [st, pki] = t.send("POST", kPkis, {{"displayName", "Lab PKI"}});
  BOOST_TEST(st == 201);
  BOOST_TEST(pki["@odata.type"] == "#microsoft.graph.certificateBasedAuthPki");
  BOOST_TEST(pki["deletedDateTime"].is_null());
  const std::string id = pki["id"];
  BOOST_TEST(t.send("POST", kPkis, {{"displayName", "x"}, {"status", "y"}}).first == 400);
  auto [pst, patched] = t.send("PATCH", kPkis + "/" + id, {{"displayName", "Renamed"}});
  BOOST_TEST(pst == 200);
  BOOST_TEST(patched["displayName"] == "Renamed");

  const json upload{{"uploadUrl", "https://files.lab.test/pki.p7b"},
                    {"sha256FileHash", std::string(64, 'a')}};
  BOOST_TEST(t.send("POST", kPkis + "/" + id + "/upload", upload).first == 204);
  BOOST_TEST(t.send("GET", kPkis + "/" + id).second["status"] == "running");
  auto busy = t.send("POST", kPkis + "/" + id + "/upload", upload);
  BOOST_TEST(busy.first == 400);  // one operation at a time
  BOOST_TEST(t.send("POST", kPkis + "/" + id + "/upload",
                    {{"uploadUrl", "http://plain"}, {"sha256FileHash", "zz"}})
                 .first == 400);
  t.clock.advance(std::chrono::seconds(31));
  BOOST_TEST(t.send("GET", kPkis + "/" + id).second["status"] == "succeeded");

  BOOST_TEST(t.send("DELETE", kPkis + "/" + id).first == 204);
  BOOST_TEST(t.send("GET", kPkis + "/" + id).first == 404);
  auto [dst, gone] = t.send("GET", "/beta/directory/deletedItems/" + id);
  BOOST_TEST(dst == 200);
  BOOST_TEST(!gone["deletedDateTime"].is_null());
}

BOOST_AUTO_TEST_CASE(certificate_authorities_must_match_their_certificate) {
  Tenant t;
  Pki lab(t.clock.now());
  const std::string pki_id = t.send("POST", kPkis, {{"displayName", "Lab"}}).second["id"];
  const std::string cas = kPkis + "/" + pki_id + "/certificateAuthorities";
  auto issuing = lab.issue("Issuing CA");

  auto wrong_thumb = ca_body(issuing);
  wrong_thumb["thumbprint"] = std::string(40, '0');
  auto r = t.send("POST", cas, wrong_thumb);
  BOOST_TEST(r.first == 400);
  BOOST_TEST(r.second["error"]["message"].get<std::string>().find("thumbprint") !=
             std::string::npos);
  auto wrong_expiry = ca_body(issuing);
  wrong_expiry["expirationDateTime"] = "2030-01-01T00:00:00Z";
  BOOST_TEST(t.send("POST", cas, wrong_expiry).first == 400);
  auto missing = ca_body(issuing);
  missing.erase("thumbprint");
  BOOST_TEST(t.send("POST", cas, missing).first == 400);
  auto unknown = ca_body(issuing);
  unknown["isRootAuthority"] = true;  // the old v1.0 model's field
  BOOST_TEST(t.send("POST", cas, unknown).first == 400);
  auto not_der = ca_body(issuing);
  not_der["certificate"] = "bm90IGEgY2VydGlmaWNhdGU=";
  BOOST_TEST(t.send("POST", cas, not_der).first == 400);

  auto body = ca_body(issuing);
  body["deltacertificateRevocationListUrl"] = "http://crl.lab.test/delta.crl";  // old spelling
  auto [st, created] = t.send("POST", cas, body);
  BOOST_TEST_REQUIRE(st == 201, created.dump());
  BOOST_TEST(created["@odata.type"] == "#microsoft.graph.certificateAuthorityDetail");
  BOOST_TEST(created["deltaCertificateRevocationListUrl"] == "http://crl.lab.test/delta.crl");
  BOOST_TEST(created["thumbprint"] == issuing.facts().sha1_thumbprint);
  auto dup = t.send("POST", cas, ca_body(issuing));
  BOOST_TEST(dup.first == 400);
  BOOST_TEST(dup.second["error"]["message"] == "Duplicate Certificate exists.");

  const std::string ca_id = created["id"];
  auto [pst, patched] = t.send("PATCH", cas + "/" + ca_id, {{"isIssuerHintEnabled", true}});
  BOOST_TEST(pst == 200);
  BOOST_TEST(patched["isIssuerHintEnabled"] == true);
  BOOST_TEST(t.send("PATCH", cas + "/" + ca_id, {{"thumbprint", std::string(40, 'F')}}).first ==
             400);
  BOOST_TEST(t.emu.cba_thumbprints().size() == 1u);
  BOOST_TEST(t.send("DELETE", cas + "/" + ca_id).first == 204);
  BOOST_TEST(t.emu.cba_thumbprints().empty());
}

BOOST_AUTO_TEST_CASE(the_ca_list_is_paged_with_next_links) {
  Tenant t;
  Pki lab(t.clock.now());
  const std::string pki_id = t.send("POST", kPkis, {{"displayName", "Lab"}}).second["id"];
  const std::string cas = kPkis + "/" + pki_id + "/certificateAuthorities";
  for (int i = 0; i < 5; ++i)
    BOOST_TEST_REQUIRE(t.send("POST", cas, ca_body(lab.issue("CA " + std::to_string(i)))).first ==
                       201);
  std::size_t seen = 0, pages = 0;
  std::string next = cas + "?$top=2";
  while (!next.empty()) {
    auto [st, page] = t.send("GET", next);
    BOOST_TEST_REQUIRE(st == 200);
    seen += page["value"].size();
    ++pages;
    next.clear();
    if (page.contains("@odata.nextLink")) {
      const std::string link = page["@odata.nextLink"];
      BOOST_TEST_REQUIRE(link.rfind("https://graph.test/beta/", 0) == 0);
      next = link.substr(std::string("https://graph.test").size());
    }
  }
  BOOST_TEST(seen == 5u);
  BOOST_TEST(pages == 3u);
}

BOOST_AUTO_TEST_CASE(code_signing_certificates_are_provisioned_and_their_content_nulled) {
  Tenant t;
  Pki lab(t.clock.now());
  auto cert = lab.issue("Lab Apps", "code-signing");
  const auto f = cert.facts();
  json body{{"content", cert.base64_der()},
            {"status", "notProvisioned"},
            {"subjectName", "Lab Apps"},
            {"subject", f.subject},
            {"issuerName", "Dir Root"},
            {"issuer", f.issuer},
            {"expirationDateTime", pki::format_rfc3339(f.not_after)},
            {"uploadDateTime", pki::format_rfc3339(t.clock.now())}};
  auto wrong = body;
  wrong["expirationDateTime"] = "2031-01-01T00:00:00Z";
  BOOST_TEST(t.send("POST", kCodeSigning, wrong).first == 400);
  wrong = body;
  wrong["subject"] = "CN=Someone Else";
  BOOST_TEST(t.send("POST", kCodeSigning, wrong).first == 400);
  auto [st, created] = t.send("POST", kCodeSigning, body);
  BOOST_TEST_REQUIRE(st == 201, created.dump());
  BOOST_TEST(created["status"] == "notProvisioned");
  const std::string id = created["id"];
  t.clock.advance(std::chrono::seconds(31));
  auto [gst, got] = t.send("GET", kCodeSigning + "/" + id);
  BOOST_TEST(gst == 200);
  BOOST_TEST(got["status"] == "provisioned");
  BOOST_TEST(got["content"].is_null());  // "Set to null once certificate has been uploaded"
  BOOST_TEST(got["subject"] == f.subject);
  BOOST_TEST(t.send("PATCH", kCodeSigning + "/" + id, {{"subjectName", "Apps"}}).first == 200);
  BOOST_TEST(t.emu.code_signing_count() == 1u);
  BOOST_TEST(t.send("DELETE", kCodeSigning + "/" + id).first == 204);
  BOOST_TEST(t.emu.code_signing_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace emulator_directory_test

// The client's messages against the emulator's behaviour, without sockets: requests built by
// providers/graph and providers/gsa_tls are handled by the emulator (which shares no code with
// them) and its answers are read by the client's parsers. A whole GSA TLS-inspection lifecycle,
// and each refusal the service makes.
#include <boost/test/unit_test.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/clock.hpp"
#include "engine/pki/local_ca.hpp"
#include "providers/graph/token.hpp"
#include "providers/gsa_tls/gsa_messages.hpp"
#include "tools/graph-emulator/emulator.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace emulator_contract_test {

using namespace pkiflow;

namespace {

const std::string kBase = "http://127.0.0.1:1/beta";  // the emulator sees only the target

struct Tenant {
  explicit Tenant(bool multi_tenant = false) : multi(multi_tenant) {}
  bool multi;
  engine::FakeClock clock{engine::TimePoint(std::chrono::seconds(1'800'000'000))};
  emulator::GraphEmulator emu{[this] {
                                emulator::Options o;
                                o.client_secret = "right-secret";
                                o.rsa_service_keys = false;  // P-256: fast
                                o.multi_tenant = multi;
                                return o;
                              }(),
                              [this] { return clock.now(); }, 42};
  std::string token;
  int next_id = 0;

  graph::HttpResponse send(graph::HttpRequest r, bool with_token = true) {
    if (with_token && !token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    emulator::Request e;
    e.method = r.method;
    e.target = r.url.substr(r.url.find('/', r.url.find("://") + 3));
    e.headers = r.headers;
    e.body = r.body;
    auto res = emu.handle(e);
    return {res.status, res.headers, res.body};
  }
  std::string crid() { return "cr-" + std::to_string(++next_id); }
  void login(const std::string& tenant = "contoso") {
    auto res =
        send(graph::token_request("http://127.0.0.1:1/" + tenant + "/oauth2/v2.0/token",
                                  "00000000-0000-4000-8000-00000000c11e",
                                  "https://graph.microsoft.com/.default",
                                  {graph::ClientCredential::Kind::secret, "right-secret"}, crid()),
             false);
    auto t = graph::parse_token_response(res, clock.now());
    BOOST_REQUIRE(t.token.has_value());
    token = t.token->value;
  }
};

// A local CA that signs the service's CSR under the tls-inspection-ca profile.
struct CustomerPki {
  pki::Rng rng = pki::Rng::system();
  pki::PrivateKey root_key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  pki::Certificate root;
  explicit CustomerPki(engine::TimePoint now)
      : root(*pki::LocalCa::self_signed("CN=Customer Root,O=Contoso", root_key,
                                        *pki::find_profile("root-ca"),
                                        {now, std::chrono::days(3650), {}}, rng)) {}
  pki::Certificate sign(const std::string& csr_pem, engine::TimePoint now) {
    auto csr = *pki::Csr::decode(pki::Bytes(csr_pem.begin(), csr_pem.end()));
    auto ca = *pki::LocalCa::create(root, root_key);
    return *ca.sign(csr, *pki::find_profile("tls-inspection-ca"), {now, {}, {}}, rng);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(emulator_contract)

BOOST_AUTO_TEST_CASE(a_wrong_secret_is_refused_as_entra_refuses_it) {
  Tenant t;
  auto res = t.send(graph::token_request("http://127.0.0.1:1/contoso/oauth2/v2.0/token",
                                         "00000000-0000-4000-8000-00000000c11e",
                                         "https://graph.microsoft.com/.default",
                                         {graph::ClientCredential::Kind::secret, "wrong"}, "cr"),
                    false);
  auto r = graph::parse_token_response(res, t.clock.now());
  BOOST_REQUIRE(r.error.has_value());
  BOOST_TEST(r.error->status == 401);
  BOOST_TEST(
      r.error->describe().find("invalid_client: AADSTS7000215: Invalid client secret provided.") !=
      std::string::npos);
  BOOST_TEST(!r.error->trace_id.empty());
  auto unauth = t.send(gsa::get_request(kBase, "x", "cr"), false);
  BOOST_TEST(unauth.status == 401);
  BOOST_TEST(graph::parse_graph_error(unauth.status, unauth.body).code ==
             "InvalidAuthenticationToken");
}

BOOST_AUTO_TEST_CASE(a_tls_inspection_ca_goes_from_csr_to_active) {
  Tenant t;
  t.login();
  CustomerPki pki(t.clock.now());
  auto created =
      t.send(gsa::create_request(kBase, "pf7Q4M2XKD9H", "Contoso TLS CA", "Contoso", t.crid()));
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  BOOST_TEST(!created.header("request-id")->empty());
  BOOST_TEST(*created.header("client-request-id") == "cr-2");
  auto ca = *gsa::parse_remote_ca(created.body);
  BOOST_TEST((ca.status.status == gsa::TlsStatus::csrGenerated));
  BOOST_REQUIRE(!ca.csr_pem.empty());
  // A later GET does not return the CSR: it must be kept from the POST response.
  auto got = *gsa::parse_remote_ca(t.send(gsa::get_request(kBase, ca.id, t.crid())).body);
  BOOST_TEST(got.csr_pem.empty());

  auto cert = pki.sign(ca.csr_pem, t.clock.now());
  BOOST_TEST(cert.subject() == "CN=Contoso TLS CA,O=Contoso");
  auto up = t.send(gsa::upload_request(kBase, ca.id, cert.pem(), pki.root.pem(), t.crid()));
  BOOST_REQUIRE_MESSAGE(up.status == 204, up.body);
  auto enrolling = *gsa::parse_remote_ca(t.send(gsa::get_request(kBase, ca.id, t.crid())).body);
  BOOST_TEST((enrolling.status.status == gsa::TlsStatus::enrolling));
  t.clock.advance(std::chrono::seconds(3));
  auto active = *gsa::parse_remote_ca(t.send(gsa::get_request(kBase, ca.id, t.crid())).body);
  BOOST_TEST(gsa::in_force(active.status));
  BOOST_TEST(active.certificate_pem == cert.pem());

  std::string next;
  auto found = *gsa::parse_remote_list(
      t.send(gsa::find_by_name_request(kBase, "pf7Q4M2XKD9H", t.crid())).body, next);
  BOOST_REQUIRE(found.size() == 1u);
  BOOST_TEST(found[0].id == ca.id);
  BOOST_TEST(next.empty());

  BOOST_TEST(t.send(gsa::enable_request(kBase, ca.id, t.crid())).status == 204);
  BOOST_TEST(
      (gsa::parse_remote_ca(t.send(gsa::get_request(kBase, ca.id, t.crid())).body)->status.status ==
       gsa::TlsStatus::enabled));
  // Without "Prefer: include-unknown-enum-members" the newer member reads as unknownFutureValue.
  auto plain = gsa::get_request(kBase, ca.id, t.crid());
  plain.headers.erase(std::remove_if(plain.headers.begin(), plain.headers.end(),
                                     [](const auto& h) { return h.first == "Prefer"; }),
                      plain.headers.end());
  BOOST_TEST((gsa::parse_remote_ca(t.send(plain).body)->status.status ==
              gsa::TlsStatus::unknownFutureValue));

  BOOST_TEST(t.send(gsa::delete_request(kBase, ca.id, t.crid())).status == 204);
  BOOST_TEST(t.emu.tls_object_count() == 0u);
  BOOST_TEST(t.send(gsa::get_request(kBase, ca.id, t.crid())).status == 404);
}

// A managed-service provider's tenants (Options::multi_tenant): each token is for one tenant,
// and each tenant sees only its own objects; one emulator without the option serves only its
// own tenant.
BOOST_AUTO_TEST_CASE(each_tenant_of_a_multi_tenant_emulator_holds_its_own_objects) {
  Tenant t(true);
  std::map<std::string, std::string> tokens, ids;
  for (const std::string tenant : {"contoso", "fabrikam", "tailspin.example"}) {
    t.login(tenant);
    tokens[tenant] = t.token;
    auto created =
        t.send(gsa::create_request(kBase, "pf" + tenant.substr(0, 8), "TLS CA", "Org", t.crid()));
    BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
    ids[tenant] = gsa::parse_remote_ca(created.body)->id;
  }
  for (const auto& [tenant, token] : tokens) {
    BOOST_TEST_CONTEXT(tenant) {
      t.token = token;
      std::string next;
      auto listed = *gsa::parse_remote_list(
          t.send(gsa::find_by_prefix_request(kBase, "pf", t.crid())).body, next);
      BOOST_REQUIRE(listed.size() == 1u);
      BOOST_TEST(listed[0].id == ids[tenant]);
      for (const auto& [other, id] : ids)
        if (other != tenant)
          BOOST_TEST(t.send(gsa::get_request(kBase, id, t.crid())).status == 404);
    }
  }
  BOOST_TEST(t.emu.tls_object_count() == 3u);
  std::set<std::string> seen;
  for (const auto& o : t.emu.tls_objects())
    seen.insert(o.tenant + "/" + o.id);
  BOOST_TEST(seen.count("fabrikam/" + ids["fabrikam"]) == 1u);
  BOOST_TEST(t.emu.tenants().size() == 3u);

  Tenant single;
  auto other = single.send(
      graph::token_request("http://127.0.0.1:1/fabrikam/oauth2/v2.0/token",
                           "00000000-0000-4000-8000-00000000c11e",
                           "https://graph.microsoft.com/.default",
                           {graph::ClientCredential::Kind::secret, "right-secret"}, "cr-x"),
      false);
  BOOST_TEST(other.status == 404);
}

BOOST_AUTO_TEST_CASE(bad_uploads_and_names_are_refused_with_graph_errors) {
  Tenant t;
  t.login();
  CustomerPki pki(t.clock.now());
  auto ca = *gsa::parse_remote_ca(
      t.send(gsa::create_request(kBase, "pfAAAAAAAAAA", "CA", "Contoso", t.crid())).body);
  // A certificate for another key.
  auto other_key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, pki.rng);
  pki::CsrSpec spec;
  spec.subject = "CN=CA,O=Contoso";
  auto other = pki.sign(pki::Csr::build(spec, other_key, pki.rng)->pem(), t.clock.now());
  struct Case {
    const char* sentence;
    std::string certificate, chain;
    const char* says;
  };
  auto leaf_cert = [&] {
    auto csr = *pki::Csr::decode(pki::Bytes(ca.csr_pem.begin(), ca.csr_pem.end()));
    return pki::LocalCa::create(pki.root, pki.root_key)
        ->sign(csr, *pki::find_profile("code-signing"), {t.clock.now(), {}, {}}, pki.rng)
        ->pem();
  }();
  const Case cases[] = {
      {"a certificate for another key", other.pem(), pki.root.pem(),
       "does not match the certificate signing request"},
      {"a certificate that is not a CA", leaf_cert, pki.root.pem(), "not a CA certificate"},
      {"an unparsable certificate",
       "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", pki.root.pem(),
       "not a valid PEM"},
      {"a missing chain", pki.sign(ca.csr_pem, t.clock.now()).pem(), "", "chain is missing"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      auto res = t.send(gsa::upload_request(kBase, ca.id, c.certificate, c.chain, t.crid()));
      BOOST_TEST(res.status == 400);
      auto e = graph::parse_graph_error(res.status, res.body);
      BOOST_TEST(e.message.find(c.says) != std::string::npos, e.describe());
      BOOST_TEST(!e.request_id.empty());
      BOOST_TEST(e.client_request_id == "cr-" + std::to_string(t.next_id));
    }
  }
  auto reused = t.send(gsa::create_request(kBase, "pfAAAAAAAAAA", "CA", "Contoso", t.crid()));
  BOOST_TEST(reused.status == 409);
  BOOST_TEST(t.send(gsa::delete_request(kBase, ca.id, t.crid())).status == 204);
  BOOST_TEST(t.send(gsa::create_request(kBase, "pfAAAAAAAAAA", "CA", "Contoso", t.crid())).status ==
             409);  // never reused
  BOOST_TEST(
      t.send(gsa::create_request(kBase, "far too long name", "CA", "Contoso", t.crid())).status ==
      400);
  auto unknown = gsa::create_request(kBase, "pfBBBBBBBBBB", "CA", "Contoso", t.crid());
  unknown.body =
      R"({"name":"pfBBBBBBBBBB","commonName":"CA","organizationName":"O","color":"red"})";
  auto res = t.send(unknown);
  BOOST_TEST(res.status == 400);
  BOOST_TEST(graph::parse_graph_error(res.status, res.body).message.find("'color'") !=
             std::string::npos);
  BOOST_TEST(t.emu.log().size() == static_cast<std::size_t>(t.next_id));  // every request logged
  BOOST_TEST(emulator::log_line_json(t.emu.log().back()).find("\"status\":400") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace emulator_contract_test

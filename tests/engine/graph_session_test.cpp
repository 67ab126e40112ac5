// The session over many tenants (issue 16: one process, 10,000 tenants): it keeps the clients of
// the tenants used last, never one a record still holds, and hands a held tenant's provider out
// again as the same object; tenants that sign in with one certificate credential open its key
// once.
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "engine/config.hpp"
#include "engine/graph_session.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace graph_session_test {

using namespace pkiflow;
using namespace pkiflow::engine;

namespace {

std::string tenant_name(std::size_t i) {
  return "t" + std::to_string(10000 + i);
}

Config many_tenants(std::size_t n) {
  std::string tenants;
  for (std::size_t i = 0; i < n; ++i)
    tenants += std::string(i ? "," : "") + "\"" + tenant_name(i) + "\": {\"tenant_id\": \"" +
               tenant_name(i) +
               "\", \"client_id\": \"a\", \"graph_url\": \"http://127.0.0.1:9/beta\", "
               "\"token_url\": \"http://127.0.0.1:9/t/oauth2/v2.0/token\", "
               "\"auth\": {\"client_secret_env\": \"PKIFLOW_TEST_UNSET_SECRET\"}}";
  auto c = parse_config("{\"tenants\": {" + tenants + "}}", "c.json");
  BOOST_TEST_REQUIRE(c.ok(), pkiflow::test::why(c));
  return *c;
}

state::Record record_of(std::size_t tenant, state::RecordKind kind) {
  state::Record r;
  r.id = "R" + std::to_string(tenant);
  r.kind = kind;
  r.tenant = tenant_name(tenant);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(graph_session)

BOOST_AUTO_TEST_CASE(a_held_tenant_is_kept_while_hundreds_of_others_come_and_go) {
  const std::size_t n = GraphSession::kTenantsKept * 3;
  const Config config = many_tenants(n);
  boost::asio::io_context ioc;
  SystemClock clock;
  GraphSession session(ioc.get_executor(), config, clock, {});
  auto held = session.provider(record_of(0, state::RecordKind::gsa_tls_ca));
  BOOST_TEST_REQUIRE(held.ok(), pkiflow::test::why(held));
  providers::Provider* first = held->get();
  for (std::size_t i = 1; i < n; ++i)
    for (auto kind : {state::RecordKind::gsa_tls_ca, state::RecordKind::intune_codesigning}) {
      auto p = session.provider(record_of(i, kind));
      BOOST_TEST_REQUIRE(p.ok(), pkiflow::test::why(p));
    }
  // Tenant 0 was used first, yet a record holds its provider: it is the same object still.
  auto again = session.provider(record_of(0, state::RecordKind::gsa_tls_ca));
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(again->get() == first);
  // A provider whose tenant the session let go stays usable by whoever holds it.
  auto last = session.provider(record_of(n - 1, state::RecordKind::gsa_tls_ca));
  BOOST_TEST_REQUIRE(last.ok());
  std::shared_ptr<providers::Provider> keep = *last;
  for (std::size_t i = 1; i < n; ++i)
    (void)session.provider(record_of(i, state::RecordKind::cba_ca));
  BOOST_TEST(keep->manual_activation() == false);  // still a live object (ASan checks)
}

BOOST_AUTO_TEST_CASE(tenants_that_share_a_certificate_credential_open_its_key_once) {
  pkiflow::test::TempDir dir;
  const auto pass = dir / "pass", key = dir / "app.key", cert = dir / "app.pem";
  pkiflow::test::write_file(pass, "app passphrase\n");
  std::filesystem::permissions(pass, std::filesystem::perms::owner_read);
  auto made = pkiflow::test::run_cli("ca new-root --subject CN=App --alg p256 --key-out " +
                                     pkiflow::test::quote(key) + " --cert-out " +
                                     pkiflow::test::quote(cert) + " --passphrase-file " +
                                     pkiflow::test::quote(pass));
  BOOST_TEST_REQUIRE(made.exit_code == 0, made.err);
  auto auth = [&](const std::filesystem::path& k) {
    return "{\"certificate\": \"" + cert.string() + "\", \"key\": \"" + k.string() +
           "\", \"key_passphrase_file\": \"" + pass.string() + "\"}";
  };
  std::string tenants;
  for (int i = 0; i < 3; ++i)
    tenants += "\"t" + std::to_string(i) + "\": {\"tenant_id\": \"t" + std::to_string(i) +
               "\", \"client_id\": \"a\", \"graph_url\": \"http://127.0.0.1:9/beta\", "
               "\"token_url\": \"http://127.0.0.1:9/t/oauth2/v2.0/token\", \"auth\": " +
               auth(key) + "},";
  tenants +=
      "\"other\": {\"tenant_id\": \"o\", \"client_id\": \"a\", \"graph_url\": "
      "\"http://127.0.0.1:9/beta\", \"token_url\": "
      "\"http://127.0.0.1:9/t/oauth2/v2.0/token\", \"auth\": " +
      auth(dir / "missing.key") + "}";
  auto config = parse_config("{\"tenants\": {" + tenants + "}}", "c.json");
  BOOST_TEST_REQUIRE(config.ok(), pkiflow::test::why(config));
  boost::asio::io_context ioc;
  SystemClock clock;
  GraphSession session(ioc.get_executor(), *config, clock, {});
  auto first = session.client("t0");
  BOOST_TEST_REQUIRE(first.ok(), pkiflow::test::why(first));
  // The key was opened for t0: t1 and t2 use it without reading the file again.
  std::filesystem::remove(key);
  for (const char* t : {"t1", "t2"}) {
    auto c = session.client(t);
    BOOST_TEST(c.ok(), t << ": " << pkiflow::test::why(c));
  }
  // Another key is its own credential, and its error names its file.
  auto other = session.client("other");
  BOOST_TEST_REQUIRE(!other.ok());
  BOOST_TEST(other.error().what().find("missing.key") != std::string::npos, other.error().what());
  // Without the session's cache, the key is read again (and is gone now).
  BOOST_TEST(!client_config(*config->tenant("t1"), clock).ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace graph_session_test

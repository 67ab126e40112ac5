// The emulator over real sockets on loopback: in-process on a free port, and as the
// pkiflow-graph-emulator process a user would start (URL printed, JSON-lines log, SIGTERM).
#include <utility>  // before Asio (Boost 1.74 + g++ 12, DESIGN.md)

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/test_support.hpp"
#include "tools/graph-emulator/server.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace emulator_server_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using pkiflow::test::TempDir;

namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::string request_id;
};

// A minimal synchronous client for these tests only; several requests share one connection.
class TestClient {
 public:
  TestClient(const std::string& host, std::uint16_t port) : stream_(ioc_) {
    net::ip::tcp::resolver resolver(ioc_);
    stream_.connect(resolver.resolve(host, std::to_string(port)));
  }
  ~TestClient() {
    boost::system::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  }
  Reply send(http::verb verb, const std::string& target, const std::string& body,
             const std::string& type, const std::string& bearer = "") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!type.empty()) req.set(http::field::content_type, type);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    req.set("client-request-id", "test-crid");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return {static_cast<int>(res.result_int()), res.body(), std::string(res["request-id"])};
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

const std::string kTokenBody =
    "client_id=00000000-0000-4000-8000-00000000c11e&scope=https%3A%2F%2Fgraph.microsoft.com%2F."
    "default"
    "&grant_type=client_credentials&client_secret=s3cret";
const std::string kGsa = "/beta/networkAccess/tls/externalCertificateAuthorityCertificates";

std::string token_of(TestClient& c) {
  auto r = c.send(http::verb::post, "/contoso/oauth2/v2.0/token", kTokenBody,
                  "application/x-www-form-urlencoded");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  return nlohmann::json::parse(r.body)["access_token"];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(emulator_server)

BOOST_AUTO_TEST_CASE(it_serves_graph_over_loopback_with_keep_alive) {
  pkiflow::emulator::Options opt;
  opt.client_secret = "s3cret";
  opt.rsa_service_keys = false;
  pkiflow::emulator::GraphEmulator emu(
      opt, [] { return std::chrono::system_clock::now(); }, 7);
  auto server = pkiflow::emulator::EmulatorServer::bind(emu, "127.0.0.1", 0, false);
  BOOST_REQUIRE_MESSAGE(server.ok(), pkiflow::test::why(server));
  std::vector<std::string> logged;
  (*server)->on_request([&](const pkiflow::emulator::LogEntry& e) { logged.push_back(e.target); });
  std::thread serving([&] { (*server)->run(); });
  {
    TestClient c("127.0.0.1", (*server)->port());
    const std::string token = token_of(c);
    auto created = c.send(http::verb::post, kGsa,
                          R"({"name":"pfSRV0000001","commonName":"CA","organizationName":"O"})",
                          "application/json", token);
    BOOST_TEST(created.status == 201, created.body);
    BOOST_TEST(!created.request_id.empty());
    auto list = c.send(http::verb::get, kGsa, "", "", token);  // same connection
    BOOST_TEST(nlohmann::json::parse(list.body)["value"].size() == 1u);
    BOOST_TEST(c.send(http::verb::get, kGsa, "", "").status == 401);
  }
  (*server)->stop();
  serving.join();
  BOOST_TEST(logged.size() == 4u);
  BOOST_TEST(emu.tls_object_count() == 1u);
}

BOOST_AUTO_TEST_CASE(it_refuses_to_listen_beyond_loopback_unless_asked) {
  pkiflow::emulator::Options opt;
  opt.client_secret = "x";
  pkiflow::emulator::GraphEmulator emu(
      opt, [] { return std::chrono::system_clock::now(); }, 7);
  auto r = pkiflow::emulator::EmulatorServer::bind(emu, "0.0.0.0", 0, false);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message().find("--allow-remote") != std::string::npos);
  BOOST_TEST(!pkiflow::emulator::EmulatorServer::bind(emu, "not-an-ip", 0, false).ok());
}

BOOST_AUTO_TEST_CASE(the_executable_prints_its_url_logs_requests_and_stops_on_sigterm) {
  TempDir dir;
  const auto log = (dir / "requests.jsonl").string();
  int out[2];
  BOOST_REQUIRE(::pipe(out) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::setenv("PKIFLOW_EMULATOR_SECRET", "s3cret", 1);
    ::execl(PKIFLOW_EMULATOR_PATH, PKIFLOW_EMULATOR_PATH, "--p256-service-keys", "--log",
            log.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);
  // Whatever happens below, the child does not outlive the test.
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (done) return;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  std::string line;
  char ch;
  while (::read(out[0], &ch, 1) == 1 && ch != '\n')
    line += ch;
  ::close(out[0]);
  BOOST_TEST_REQUIRE(line.find("pkiflow-graph-emulator listening on http://127.0.0.1:") == 0u,
                     line);
  const auto port_start = line.find("127.0.0.1:") + 10;
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(port_start)));
  {
    TestClient c("127.0.0.1", port);
    token_of(c);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  reaper.done = true;
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  auto logged = nlohmann::json::parse(pkiflow::test::read_file(log));
  BOOST_TEST(logged["target"] == "/contoso/oauth2/v2.0/token");
  BOOST_TEST(logged["status"] == 200);
  BOOST_TEST(pkiflow::test::read_file(log).find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_executable_needs_a_secret) {
  auto r = pkiflow::test::run("env -u PKIFLOW_EMULATOR_SECRET " +
                              pkiflow::test::quote(PKIFLOW_EMULATOR_PATH));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("no client secret") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace emulator_server_test

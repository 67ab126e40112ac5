// A hostile Graph (issue 15, part 2): a loopback server that accepts pkiflow's requests and then
// misbehaves — never answers, trickles a byte a second, sends an endless body or endless
// headers, asks to be retried in three years, redirects to another host, resets mid-body,
// sends JSON nested 100,000 deep, a 100 MB body, bytes that are not UTF-8, a Retry-After that
// is garbage or negative, list pages that link to themselves or to another host. The token comes
// from the emulator, so every request reaches the hostile server with a token. Each case runs
// `pkiflow run` with a 2 s request timeout and an 8 s run deadline, and checks that the run ends in
// time, that the record is left as it was (planned, with the reason in last_error), and that
// nothing was sent anywhere else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "tests/graph/e2e_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace hostile_server_test {

using namespace pkiflow;
using namespace pkiflow::test;
using namespace pkiflow::test::e2e;

namespace {

enum class Mode {
  silent,
  trickle,
  endless_body,
  endless_headers,
  retry_later,
  redirect,
  reset,
  nested,
  huge_body,       // a 100 MB answer, Content-Length and all
  huge_length,     // a Content-Length of 100 GB (the first 100 MB of it sent)
  bad_utf8,        // a 201 whose JSON holds bytes that are not UTF-8
  retry_garbage,   // 429 with Retry-After: soon
  retry_negative,  // 503 with Retry-After: -5
  next_loop,       // every list page links to itself
  next_elsewhere   // every list page links to another host
};

// One listening socket on 127.0.0.1; every connection is answered by `mode` on its own thread.
class HostileServer {
 public:
  // `host`: the last byte of the 127.0.0.x address to listen on. `redirect_to`: the port on
  // 127.0.0.2 that Mode::redirect sends pkiflow to.
  explicit HostileServer(Mode mode, int host = 1, int redirect_to = 0)
      : mode_(mode), host_(host), redirect_to_(redirect_to) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000000u | static_cast<unsigned>(host));
    BOOST_TEST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_TEST_REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accepter_ = std::thread([this] { accept_loop(); });
  }
  ~HostileServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    accepter_.join();            // no handler is added after this
    ::close(fd_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : conns_)  // the open ones only: a closed descriptor may belong to others now
        ::shutdown(c, SHUT_RDWR);
    }
    for (auto& t : handlers_)
      t.join();
  }
  std::string base() const {
    return "http://127.0.0." + std::to_string(host_) + ":" + std::to_string(port_);
  }
  int port() const { return port_; }
  int requests() const { return requests_; }
  bool saw_token() const { return saw_token_; }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      conns_.push_back(c);
      handlers_.emplace_back([this, c] {
        handle(c);
        std::lock_guard<std::mutex> done(mu_);
        conns_.erase(std::find(conns_.begin(), conns_.end(), c));
        ::close(c);
      });
    }
  }
  bool send_all(int c, const std::string& s) {
    return ::send(c, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  void pause_ms(int ms) {
    for (int i = 0; i < ms / 10 && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void handle(int c) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    ++requests_;
    if (head.find("Authorization: Bearer ") != std::string::npos) saw_token_ = true;
    const std::string target =
        head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
    const auto json_reply = [&](const std::string& status, const std::string& body) {
      send_all(c, "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
    };
    switch (mode_) {
      case Mode::silent:
        while (!stop_)
          pause_ms(50);
        return;
      case Mode::trickle:
        if (!send_all(c,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100000\r\n\r\n"))
          return;
        while (!stop_ && send_all(c, " "))
          pause_ms(1000);
        return;
      case Mode::endless_body: {
        if (!send_all(c,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"))
          return;
        const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
        while (!stop_ && send_all(c, chunk)) {
        }
        return;
      }
      case Mode::endless_headers: {
        if (!send_all(c, "HTTP/1.1 200 OK\r\n")) return;
        const std::string h = "X-Pad: " + std::string(1000, 'a') + "\r\n";
        while (!stop_ && send_all(c, h)) {
        }
        return;
      }
      case Mode::retry_later:
        send_all(c,
                 "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 99999999\r\n"
                 "Content-Length: 0\r\n\r\n");
        return;
      case Mode::redirect:
        send_all(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.2:" +
                        std::to_string(redirect_to_) +
                        "/beta/networkAccess/tls/externalCertificateAuthorityCertificates\r\n"
                        "Content-Length: 0\r\n\r\n");
        return;
      case Mode::reset: {
        send_all(c,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: 5000\r\n\r\n{\"value\": [");
        linger l{1, 0};  // RST instead of FIN
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return;
      }
      case Mode::huge_body:
      case Mode::huge_length: {
        // The header and the first mebibyte in one write, so they arrive in one read (Boost
        // 1.74's parser then lost its own body-limit error and read on).
        const std::string block(1 << 20, ' ');
        const std::string length = mode_ == Mode::huge_body ? "104857600" : "107374182400";
        if (!send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             length + "\r\n\r\n" + block))
          return;
        for (int i = 1; i < 100 && !stop_ && send_all(c, block); ++i) {
        }
        return;
      }
      case Mode::bad_utf8:
        json_reply("201 Created", "{\"id\": \"\xff\xfe\xc0\xaf\", \"name\": \"\xed\xa0\x80\"}");
        return;
      case Mode::retry_garbage:
        send_all(
            c, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n");
        return;
      case Mode::retry_negative:
        send_all(
            c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: -5\r\nContent-Length: 0\r\n\r\n");
        return;
      case Mode::next_loop:
        json_reply("200 OK", "{\"value\": [], \"@odata.nextLink\": \"" + base() + target + "\"}");
        return;
      case Mode::next_elsewhere:
        json_reply("200 OK", "{\"value\": [], \"@odata.nextLink\": \"http://127.0.0.2:" +
                                 std::to_string(redirect_to_) + target + "\"}");
        return;
      case Mode::nested: {
        const std::string body = std::string(100'000, '[') + std::string(100'000, ']');
        send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
        return;
      }
    }
  }

  Mode mode_;
  int host_ = 1;
  int redirect_to_ = 0;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<bool> saw_token_{false};
  std::thread accepter_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> handlers_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_server)

BOOST_AUTO_TEST_CASE(every_misbehaviour_ends_in_time_and_leaves_the_record_as_it_was) {
  LiveEmulator emulator(emulator_options(), 15);  // the token endpoint
  struct Case {
    Mode mode;
    const char* name;
    const char* state;   // what the record is left in
    const char* reason;  // in the record's last_error
  };
  const std::vector<Case> cases{
      {Mode::silent, "never answers", "planned", "timed out"},
      {Mode::trickle, "a byte a second", "planned", "timed out"},
      {Mode::endless_body, "an endless body", "planned", "body limit"},
      {Mode::endless_headers, "endless headers", "planned", "header limit"},
      {Mode::retry_later, "Retry-After: 99999999", "planned", "more than this run waits"},
      {Mode::redirect, "a redirect to another host", "planned", "pkiflow follows no redirect"},
      {Mode::reset, "a reset mid-body", "planned", "127.0.0.1"},
      // A 200 to the create whose body is no object: the service may have made something, so
      // the record fails with the reason instead of creating again.
      {Mode::nested, "JSON nested 100,000 deep", "failed", "not an object with an id"},
      {Mode::huge_body, "a 100 MB body", "planned", "body limit"},
      {Mode::huge_length, "a Content-Length of 100 GB", "planned", "body limit"},
      {Mode::bad_utf8, "a created object named in bytes that are not UTF-8", "failed",
       "not an object with an id"},
      {Mode::retry_garbage, "Retry-After: soon", "planned", "429"},
      {Mode::retry_negative, "Retry-After: -5", "planned", "503"},
  };
  HostileServer elsewhere(Mode::silent, 2);  // where the redirect points: never reached
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      HostileServer hostile(c.mode, 1, elsewhere.port());
      Lab lab({emulator.base(), "", "secret", kSecret});
      lab.configure([&](json& cfg) {
        cfg["tenants"]["lab"]["graph_url"] = hostile.base() + "/beta";
        cfg["run"]["request_timeout_seconds"] = 2;
        cfg["run"]["deadline_seconds"] = 8;
        cfg["run"]["max_retry_after_seconds"] = 5;
      });
      const std::string id = lab.request("hostile");
      const auto start = std::chrono::steady_clock::now();
      auto r = lab.cli("run", "--json");
      const auto took = std::chrono::steady_clock::now() - start;
      BOOST_TEST_INFO(r.out << r.err);
      BOOST_TEST(took < std::chrono::seconds(15));
      BOOST_TEST(r.exit_code < 128);  // and nothing crashed
      BOOST_TEST(hostile.requests() >= 1);
      BOOST_TEST(hostile.saw_token());
      const auto rec = lab.record(id);
      BOOST_TEST(rec["state"] == c.state, rec.dump());
      const std::string why = lab.column(id, "last_error");
      BOOST_TEST(why.find(c.reason) != std::string::npos, why);
      BOOST_TEST(why.find("Bearer") == std::string::npos, why);
    }
  }
  BOOST_TEST(elsewhere.requests() == 0);
}

// A list whose @odata.nextLink loops, or points to another host: `discover` reads neither
// forever nor elsewhere; each family says why it could not be listed, and the verb exits 6.
BOOST_AUTO_TEST_CASE(a_next_link_that_loops_or_leaves_graph_is_not_followed) {
  LiveEmulator emulator(emulator_options(), 18);
  HostileServer elsewhere(Mode::silent, 2);
  for (const auto& [mode, why] : {std::pair{Mode::next_loop, "loops back to a page already read"},
                                  std::pair{Mode::next_elsewhere, "points to another host"}}) {
    BOOST_TEST_CONTEXT(why) {
      HostileServer hostile(mode, 1, elsewhere.port());
      Lab lab({emulator.base(), "", "secret", kSecret});
      lab.configure([&](json& cfg) {
        cfg["tenants"]["lab"]["graph_url"] = hostile.base() + "/beta";
        cfg["run"]["request_timeout_seconds"] = 2;
      });
      const auto start = std::chrono::steady_clock::now();
      auto r = lab.cli("discover", "--tenant lab --json");
      BOOST_TEST_INFO(r.out << r.err);
      const auto took = std::chrono::steady_clock::now() - start;
      BOOST_TEST((took < std::chrono::seconds(20)));
      BOOST_TEST(r.exit_code == 6);
      BOOST_TEST((r.out + r.err).find(why) != std::string::npos);
      BOOST_TEST(hostile.requests() < 20);  // a page or two per family, not a thousand
    }
  }
  BOOST_TEST(elsewhere.requests() == 0);
}

// run.deadline_seconds cuts a request in flight (here well before its own timeout), retries
// nothing after it, and ends the run with exit 7 and deadline_passed.
BOOST_AUTO_TEST_CASE(the_run_deadline_cuts_a_request_in_flight_and_ends_the_run) {
  LiveEmulator emulator(emulator_options(), 17);
  HostileServer hostile(Mode::silent);
  Lab lab({emulator.base(), "", "secret", kSecret});
  lab.configure([&](json& cfg) {
    cfg["tenants"]["lab"]["graph_url"] = hostile.base() + "/beta";
    cfg["run"]["request_timeout_seconds"] = 60;
    cfg["run"]["deadline_seconds"] = 3;
  });
  const std::string id = lab.request("late");
  const auto start = std::chrono::steady_clock::now();
  auto r = lab.cli("run", "--json");
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_INFO(r.out << r.err);
  BOOST_TEST(took < std::chrono::seconds(10));
  BOOST_TEST(r.exit_code == 7);
  BOOST_TEST(r.err.find("stopped at the run's deadline (run.deadline_seconds = 3)") !=
             std::string::npos);
  const auto report = json::parse(r.out);
  BOOST_TEST(report["deadline_passed"] == true);
  BOOST_TEST(hostile.requests() == 1);  // cut, and not sent again
  BOOST_TEST(lab.record(id)["state"] == "planned");
  const std::string why = lab.column(id, "last_error");
  BOOST_TEST(why.find("run's deadline") != std::string::npos, why);
}

// A TLS certificate from a trusted CA, but for another name: refused before any request (the
// token request included) is sent, and the record is left as it was.
BOOST_AUTO_TEST_CASE(a_tls_certificate_for_another_name_is_refused_before_the_token_goes_out) {
  TempDir pki;
  auto sh = [](const std::string& cmd) {
    auto r = run(cmd);
    BOOST_TEST_REQUIRE(r.exit_code == 0, cmd << ": " << r.err);
  };
  const auto f = [&](const char* name) { return quote(pki / name); };
  sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + f("ca.key") +
     " -out " + f("ca.pem") +
     " -subj /CN=Hostile-CA -days 2 -addext "
     "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
  write_file(pki / "srv.ext",
             "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:graph.other.example\n");
  sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + f("srv.key") +
     " -subj /CN=graph.other.example -out " + f("srv.csr") + " && openssl x509 -req -in " +
     f("srv.csr") + " -CA " + f("ca.pem") + " -CAkey " + f("ca.key") + " -days 2 -extfile " +
     f("srv.ext") + " -out " + f("srv.pem") + " && openssl pkcs8 -topk8 -nocrypt -in " +
     f("srv.key") + " -out " + f("srv.p8"));
  auto identity =
      emulator::load_tls_identity((pki / "srv.pem").string(), (pki / "srv.p8").string());
  BOOST_TEST_REQUIRE(identity.ok(), test::why(identity));
  LiveEmulator live(emulator_options(), 16, &*identity);
  Lab lab({live.base(), (pki / "ca.pem").string(), "secret", kSecret});
  const std::string id = lab.request("elsewhere");
  auto r = lab.cli("run");
  BOOST_TEST(r.exit_code < 128);
  BOOST_TEST(live.emu().log().empty());  // not even the token request got through
  BOOST_TEST(lab.record(id)["state"] == "planned");
  const std::string why = lab.column(id, "last_error");
  BOOST_TEST(why.find("TLS certificate not trusted") != std::string::npos, why);
  BOOST_TEST(why.find("mismatch") != std::string::npos, why);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace hostile_server_test

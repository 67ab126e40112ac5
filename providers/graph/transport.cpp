// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/graph/transport.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <map>
#include <vector>

#include "providers/graph/async_semaphore.hpp"
#include "providers/graph/cloud.hpp"

namespace pkiflow::graph {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUserAgent = "pkiflow/0.1";
// Room each connection's read buffer starts with: most Graph answers fit whole.
constexpr std::size_t kReadBuffer = 8192;

// One kept-alive connection: plain (loopback http) or TLS.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  // `op(stream)` on the TLS stream or the plain one, whichever this connection has.
  template <class Op>
  auto on_stream(Op&& op) {
    return tls ? op(*tls) : op(*plain);
  }
};

std::string bare_host(const std::string& host) {  // "[::1]" -> "::1" for the resolver
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(bare_host(host), ec);
  return !ec;
}

// Idempotent methods may be resent on a fresh connection when a reused one turns out closed.
bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "PUT";
}

std::string step_error(const std::string& where, const std::string& step,
                       const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return where + ": " + step + " timed out";
  return where + ": " + step + " failed: " + ec.message();
}

class HttpsTransport : public Transport {
 public:
  HttpsTransport(const net::any_io_executor& ex, HttpsOptions opt)
      : ex_(ex),
        opt_(std::move(opt)),
        slots_(opt_.slots ? opt_.slots
                          : std::make_shared<AsyncSemaphore>(
                                ex, opt_.max_in_flight == 0 ? 1 : opt_.max_in_flight)) {}

  // A CA file is checked now, so a wrong path stops the run before its first record. The
  // system store waits for the first https connection: loading it is about 40 ms of CPU that
  // a run against the emulator (http on loopback) never needs.
  Status init() {
    if (opt_.ca_file.empty()) return Ok{};
    auto made = tls_context();
    if (!made) return made.error();
    return Ok{};
  }

  net::awaitable<Exchange> send(const HttpRequest& request) override {
    auto url = parse_url(request.url, "request URL");
    if (!url) co_return Exchange{std::nullopt, url.error().what(), false, false, true};
    const std::string key = url->scheme + "://" + url->host + ":" + url->port;
    const std::string where = url->host + ":" + url->port;
    auto permit = co_await slots_->acquire();
    auto deadline = Clock::now() + opt_.timeout;
    if (opt_.run_deadline) {
      if (*opt_.run_deadline <= Clock::now())
        co_return Exchange{std::nullopt,
                           where + ": not sent, the run's deadline (run.deadline_seconds) passed",
                           false, false, true};
      deadline = std::min<Clock::time_point>(deadline, *opt_.run_deadline);
    }

    http::request<http::string_body> req;
    auto verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown)
      co_return Exchange{std::nullopt, "unknown HTTP method " + request.method, false, false, true};
    req.method(verb);
    req.target(url->target);
    req.version(11);
    const bool default_port = (url->scheme == "https" && url->port == "443") ||
                              (url->scheme == "http" && url->port == "80");
    req.set(http::field::host, default_port ? url->host : url->host + ":" + url->port);
    req.set(http::field::user_agent, kUserAgent);
    for (const auto& [k, v] : request.headers)
      req.set(k, v);
    req.body() = request.body;
    req.keep_alive(true);
    req.prepare_payload();

    for (int round = 0;; ++round) {
      std::unique_ptr<Connection> conn = take_idle(key);
      const bool reused = conn != nullptr;
      if (!conn) {
        std::string error;
        bool permanent = false;
        conn = co_await connect(*url, deadline, error, permanent);
        if (!conn) co_return Exchange{std::nullopt, error, false, false, permanent};
      }
      conn->lowest().expires_at(deadline);
      boost::system::error_code ec;
      co_await conn->on_stream([&](auto& stream) {
        return http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
      });
      if (ec) {
        // A reused connection the server had closed: nothing complete reached it; go again.
        if (reused && round == 0 && ec != beast::error::timeout) continue;
        co_return Exchange{std::nullopt, step_error(where, "sending the request", ec), true, false};
      }
      // The header first, then its Content-Length against the limit, then the body. Boost
      // 1.74's parser checks that length as it finishes the header, but when body bytes came in
      // the same read, its eager loop goes on into the body and drops the error: a hostile
      // server's 100 MB (or 100 GB, reserved at once) was read whole.
      http::response_parser<http::string_body> parser;
      parser.body_limit(opt_.max_response_bytes);
      co_await conn->on_stream([&](auto& stream) {
        return http::async_read_header(stream, conn->buffer, parser,
                                       net::redirect_error(net::use_awaitable, ec));
      });
      if (!ec && parser.content_length() && *parser.content_length() > opt_.max_response_bytes)
        ec = http::error::body_limit;
      if (!ec && !parser.is_done())
        co_await conn->on_stream([&](auto& stream) {
          return http::async_read(stream, conn->buffer, parser,
                                  net::redirect_error(net::use_awaitable, ec));
        });
      if (!ec && parser.get().body().size() > opt_.max_response_bytes) ec = http::error::body_limit;
      if (ec) {
        const bool closed_early = ec == http::error::end_of_stream || ec == net::error::eof ||
                                  ec == net::error::connection_reset ||
                                  ec == net::ssl::error::stream_truncated;
        if (reused && round == 0 && closed_early && idempotent(request.method)) continue;
        co_return Exchange{std::nullopt, step_error(where, "reading the response", ec), true,
                           false};
      }
      auto res = parser.release();
      HttpResponse out;
      out.status = static_cast<int>(res.result_int());
      for (const auto& f : res)
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      out.body = std::move(res.body());
      if (res.keep_alive() && !res.need_eof()) put_idle(key, std::move(conn));
      co_return Exchange{std::move(out), "", true, false};
    }
  }

 private:
  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    while (!list.empty()) {
      auto c = std::move(list.back());
      list.pop_back();
      if (Clock::now() - c->idle_since < opt_.max_idle) return c;
    }
    return nullptr;
  }

  void put_idle(const std::string& key, std::unique_ptr<Connection> c) {
    auto& list = idle_[key];
    if (list.size() >= opt_.max_idle_per_host) return;
    c->idle_since = Clock::now();
    list.push_back(std::move(c));
  }

  net::awaitable<std::unique_ptr<Connection>> connect(const Url& url, Clock::time_point deadline,
                                                      std::string& error, bool& permanent) {
    const std::string where = url.host + ":" + url.port;
    const std::string host = bare_host(url.host);
    tcp::resolver resolver(ex_);
    boost::system::error_code ec;
    auto endpoints = co_await resolver.async_resolve(host, url.port,
                                                     net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      error = step_error(where, "resolving the host", ec);
      co_return nullptr;
    }
    auto c = std::make_unique<Connection>();
    // Beast reads what the buffer has room for, 512 bytes at the least: without room, a 2 KB
    // answer took four reads (a 1,000-record run made 24 recvmsg calls per record).
    c->buffer.reserve(kReadBuffer);
    beast::tcp_stream stream(ex_);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      error = step_error(where, "connecting", ec);
      co_return nullptr;
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    if (url.scheme == "http") {  // parse_url allows it for loopback hosts only
      c->plain = std::make_unique<beast::tcp_stream>(std::move(stream));
      co_return c;
    }
    auto tls = tls_context();
    if (!tls) {
      error = tls.error().what();
      permanent = true;
      co_return nullptr;
    }
    c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(stream), **tls);
    SSL* native = c->tls->native_handle();
    if (!is_ip_literal(url.host))  // SNI (SSL_set_tlsext_host_name, without its C cast)
      SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
    // The peer's name is checked by OpenSSL itself during the handshake (RFC 6125: DNS names,
    // or an IP address in subjectAltName for an IP literal).
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int named = is_ip_literal(url.host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                                        : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (named != 1) {
      error = where + ": cannot set the expected TLS peer name";
      co_return nullptr;
    }
    co_await c->tls->async_handshake(ssl::stream_base::client,
                                     net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      const long verify = SSL_get_verify_result(native);
      permanent = verify != X509_V_OK;
      if (verify != X509_V_OK)
        error = where + ": TLS certificate not trusted: " + X509_verify_cert_error_string(verify) +
                (opt_.ca_file.empty() ? " (checked against the system trust store)"
                                      : " (checked against " + opt_.ca_file + ")");
      else
        error = step_error(where, "TLS handshake", ec);
      co_return nullptr;
    }
    co_return c;
  }

  // Made by the first call; a failure is kept and returned again.
  Result<ssl::context*> tls_context() {
    if (tls_) return &*tls_;
    if (tls_error_) return *tls_error_;
    ssl::context ctx(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (opt_.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
      if (ec)
        tls_error_ = Error(ErrorKind::io, "system trust store", "cannot load: " + ec.message());
    } else {
      ctx.load_verify_file(opt_.ca_file, ec);
      if (ec)
        tls_error_ = Error(ErrorKind::io, opt_.ca_file,
                           "cannot load as PEM trust anchors for Graph's TLS: " + ec.message());
    }
    if (tls_error_) return *tls_error_;
    ctx.set_verify_mode(ssl::verify_peer, ec);
    tls_.emplace(std::move(ctx));
    return &*tls_;
  }

  net::any_io_executor ex_;
  HttpsOptions opt_;
  std::optional<ssl::context> tls_;
  std::optional<Error> tls_error_;
  std::shared_ptr<AsyncSemaphore> slots_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_https_transport(const net::any_io_executor& executor,
                                                        const HttpsOptions& options) {
  auto t = std::make_unique<HttpsTransport>(executor, options);
  if (auto st = t->init(); !st) return st.error();
  return std::unique_ptr<Transport>(std::move(t));
}

net::awaitable<Exchange> DryRunTransport::send(const HttpRequest& request) {
  if (sink_) sink_(dry_run_json(request));
  Exchange e;
  e.error = "dry run: " + request.method + " " + request.url + " recorded, not sent";
  e.not_sent = true;
  co_return e;
}

net::awaitable<Exchange> ReadOnlyTransport::send(const HttpRequest& request) {
  if (request.method == "GET" || (may_send_ && may_send_(request)))
    co_return co_await inner_.send(request);
  co_return co_await recorder_.send(request);
}

net::awaitable<Exchange> CountingTransport::send(const HttpRequest& request) {
  Exchange ex = co_await inner_.send(request);
  if (!ex.not_sent) ++(*counts_)[ex.response ? std::to_string(ex.response->status) : "none"];
  co_return ex;
}

}  // namespace pkiflow::graph

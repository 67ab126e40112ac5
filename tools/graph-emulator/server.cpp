// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "tools/graph-emulator/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

namespace pkiflow::emulator {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit =
    std::size_t{4} * 1024 * 1024;  // a GSA chain or a CBA CA is kilobytes
constexpr std::size_t kMaxSessions = 64;
constexpr std::chrono::seconds kStepTimeout{30};
static_assert(kMaxSessions > 0);

bool loopback(const net::ip::address& a) {
  return a.is_loopback();
}

}  // namespace

struct EmulatorServer::Impl {
  GraphEmulator& emulator;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::string address;
  std::size_t sessions = 0;
  std::function<void(const LogEntry&)> sink;
  std::unique_ptr<net::ssl::context> tls;  // set for HTTPS

  explicit Impl(GraphEmulator& e) : emulator(e) {}

  Response handle(const http::request<http::string_body>& req) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = req.body();
    LogEntry logged;
    Response out = emulator.handle(r, &logged);
    if (sink) sink(logged);
    return out;
  }

  // Requests in turn on one connection (keep-alive), a deadline before every read and write.
  template <class Stream>
  net::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      beast::get_lowest_layer(stream).expires_after(kStepTimeout);
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;  // closed, timed out, or malformed: drop the connection
      const auto& req = parser.get();
      Response out = handle(req);
      if (out.delay.count() > 0) {
        net::steady_timer t(ioc, out.delay);
        co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      if (out.drop_connection) co_return;  // the fault: no response at all
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      for (const auto& [k, v] : out.headers)
        res.set(k, v);
      res.body() = std::move(out.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(kStepTimeout);
      co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
      if (ec || !res.keep_alive()) co_return;
    }
  }

  net::awaitable<void> session(tcp::socket socket) {
    ++sessions;
    boost::system::error_code ec;
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      beast::get_lowest_layer(stream).expires_after(kStepTimeout);
      co_await stream.async_handshake(net::ssl::stream_base::server,
                                      net::redirect_error(net::use_awaitable, ec));
      if (!ec) co_await serve(stream);
      beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    }
    --sessions;
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted) co_return;
      if (ec) continue;
      if (sessions >= kMaxSessions) {  // bounded: refuse rather than grow without limit
        socket.close(ec);
        continue;
      }
      net::co_spawn(ioc, session(std::move(socket)), net::detached);
    }
  }
};

EmulatorServer::EmulatorServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmulatorServer::~EmulatorServer() = default;

Result<std::unique_ptr<EmulatorServer>> EmulatorServer::bind(GraphEmulator& emulator,
                                                             const std::string& address,
                                                             std::uint16_t port, bool allow_remote,
                                                             const TlsIdentity* tls) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(address, ec);
  if (ec)
    return Error(ErrorKind::invalid_input, "--listen", "'" + address + "' is not an IP address");
  if (!allow_remote && !loopback(addr))
    return Error(
        ErrorKind::invalid_input, "--listen",
        "'" + address + "' is not a loopback address; pass --allow-remote to listen on it");
  auto impl = std::make_unique<Impl>(emulator);
  if (tls) {
    impl->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(impl->tls->native_handle(), TLS1_2_VERSION);
    impl->tls->use_certificate_chain(net::buffer(tls->chain_pem), ec);
    if (!ec) impl->tls->use_private_key(net::buffer(tls->key_pem), net::ssl::context::pem, ec);
    if (ec)
      return Error(ErrorKind::invalid_input, "TLS identity",
                   "the certificate chain or key is unusable: " + ec.message());
  }
  impl->address = addr.is_v6() ? "[" + address + "]" : address;
  tcp::endpoint ep(addr, port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(ErrorKind::io, address + ":" + std::to_string(port),
                 "cannot listen: " + ec.message());
  auto server = std::unique_ptr<EmulatorServer>(new EmulatorServer(std::move(impl)));
  emulator.set_base_url(server->base_url());
  return server;
}

std::uint16_t EmulatorServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}
std::string EmulatorServer::base_url() const {
  return std::string(impl_->tls ? "https://" : "http://") + impl_->address + ":" +
         std::to_string(port());
}
void EmulatorServer::on_request(std::function<void(const LogEntry&)> sink) {
  impl_->sink = std::move(sink);
}

void EmulatorServer::run(bool stop_on_signals) {
  net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
  net::signal_set signals(impl_->ioc);
  if (stop_on_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      boost::system::error_code ignored;
      impl_->acceptor.close(ignored);
      impl_->ioc.stop();
    });
  }
  impl_->ioc.run();
}

void EmulatorServer::stop() {
  net::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
}

}  // namespace pkiflow::emulator

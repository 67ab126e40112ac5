// The emulator's HTTP(S) server: Boost.Beast over Asio coroutines on one thread, keep-alive,
// a deadline on every step, bounded body size and session count. HTTPS with a generated or
// given identity (tls_identity.hpp). Obeys the handler's faults: delays, dropped connections.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/pki/result.hpp"
#include "tools/graph-emulator/emulator.hpp"
#include "tools/graph-emulator/tls_identity.hpp"

namespace pkiflow::emulator {

class EmulatorServer {
 public:
  // Binds address:port (port 0 = a free one). Only loopback addresses unless allow_remote.
  static Result<std::unique_ptr<EmulatorServer>> bind(GraphEmulator& emulator,
                                                      const std::string& address,
                                                      std::uint16_t port, bool allow_remote,
                                                      const TlsIdentity* tls = nullptr);
  ~EmulatorServer();

  std::uint16_t port() const;
  std::string base_url() const;  // http(s)://address:port

  // Called after every handled request (e.g. to append the JSON-lines log).
  void on_request(std::function<void(const LogEntry&)> sink);

  // Serves until stop() (or SIGINT/SIGTERM when asked); call from one thread.
  void run(bool stop_on_signals = false);
  void stop();  // from any thread

  struct Impl;

 private:
  explicit EmulatorServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkiflow::emulator

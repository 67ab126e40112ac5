// A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package: initdb into a
// temporary directory, started with pg_ctl on a Unix socket in that directory and a free
// loopback port, stopped when the test process ends (or, should it die, by a watchdog that sees
// it gone). PostgreSQL refuses to run as root, so under root (CI) the server runs as the
// package's `postgres` user, which then owns the directory.
//
// Roles: `pkiflow` (the superuser initdb makes) logs in over the socket without a password and
// over TCP only with kPassword (scram-sha-256), so the tests exercise both.
#pragma once

#include <string>

#include "tests/support/test_support.hpp"

namespace pkiflow::test {

class PostgresServer {
 public:
  static constexpr const char* kPassword = "pg-test-password-6f41c2";

  // The server of this test process, started on first use. Throws with what is missing when it
  // cannot start (PostgreSQL not installed: tools/setup-deps.sh installs it for the tests).
  static PostgresServer& shared();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A new, empty database; its name.
  std::string fresh_database();
  // postgresql:///DB?host=SOCKETDIR&port=PORT&user=pkiflow (no password needed).
  std::string socket_url(const std::string& db) const;
  // postgresql://pkiflow@127.0.0.1:PORT/DB (a password needed).
  std::string tcp_url(const std::string& db) const;
  // psql on `db` as pkiflow, over the socket, stopping at the first error: a tool pkiflow did
  // not write, for looking at or tampering with what pkiflow stored.
  CommandResult psql(const std::string& db, const std::string& sql) const;
  int port() const { return port_; }
  const fs::path& dir() const { return dir_; }

 private:
  PostgresServer();
  std::string as_server_user(const std::string& command) const;
  std::string stop_command() const;  // pg_ctl stop, immediate (run as the server's user)

  fs::path bin_;
  fs::path dir_;
  int port_ = 0;
  int databases_ = 0;
  bool started_ = false;
};

}  // namespace pkiflow::test

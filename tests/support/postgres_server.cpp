#include "tests/support/postgres_server.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace pkiflow::test {

namespace {

// The newest installed server's bin directory (Debian: /usr/lib/postgresql/15/bin), or
// $PKIFLOW_PG_BINDIR.
fs::path server_bin() {
  if (const char* env = std::getenv("PKIFLOW_PG_BINDIR"); env && *env) return env;
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& v : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(v.path() / "bin/initdb")) found.push_back(v.path() / "bin");
  if (found.empty())
    throw std::runtime_error(
        "no PostgreSQL server (initdb) under /usr/lib/postgresql: install Debian's postgresql "
        "package (PKIFLOW_TEST_DEPS=1 tools/setup-deps.sh does)");
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) <
           std::stoi(b.parent_path().filename().string());
  });
  return found.back();
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free loopback port for PostgreSQL");
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

std::string PostgresServer::as_server_user(const std::string& command) const {
  if (::geteuid() != 0) return command;
  return "runuser -u postgres -- sh -c " + quote(command);
}

std::string PostgresServer::stop_command() const {
  return quote(bin_ / "pg_ctl") + " -D " + quote(dir_ / "data") + " -m immediate stop";
}

PostgresServer::PostgresServer() : bin_(server_bin()) {
  std::string tmpl = (fs::temp_directory_path() / "pkiflow-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a directory for PostgreSQL");
  dir_ = tmpl;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw)
      throw std::runtime_error(
          "running as root, and there is no `postgres` user to run the server as (Debian's "
          "postgresql package creates it)");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("cannot give " + dir_.string() + " to the postgres user");
  }
  port_ = free_loopback_port();
  const fs::path pwfile = dir_ / "pwfile";
  auto r = run(as_server_user(
      "umask 077 && printf '%s\\n' " + quote(fs::path(kPassword)) + " > " + quote(pwfile) + " && " +
      quote(bin_ / "initdb") + " -D " + quote(dir_ / "data") +
      " -U pkiflow --auth-local=trust --auth-host=scram-sha-256 --pwfile=" + quote(pwfile) +
      " -E UTF8 --no-locale --no-sync --no-instructions"));
  if (r.exit_code != 0) throw std::runtime_error("initdb failed: " + r.err + r.out);
  // fsync off: the tests kill clients, not the server, and this keeps them quick. A benchmark
  // of durable writes needs a server with PostgreSQL's defaults, not this one.
  const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                              dir_.string() +
                              " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                              " -c max_connections=200";
  r = run(as_server_user(quote(bin_ / "pg_ctl") + " -D " + quote(dir_ / "data") + " -l " +
                         quote(dir_ / "server.log") + " -w -t 60 -o " + quote(fs::path(options)) +
                         " start"));
  if (r.exit_code != 0)
    throw std::runtime_error("pg_ctl start failed: " + r.err + r.out + "\n" +
                             read_file(dir_ / "server.log"));
  started_ = true;
  // Should this process die without its destructors, the watchdog stops the server: no
  // orphaned postgres is left on a CI machine.
  const std::string stop = stop_command() + "; rm -rf " + quote(dir_);
  run("nohup sh -c " +
      quote(fs::path("while kill -0 " + std::to_string(::getpid()) +
                     " 2>/dev/null; do sleep 1; done; " + as_server_user(stop))) +
      " >/dev/null 2>&1 &");
}

PostgresServer::~PostgresServer() {
  if (started_) (void)run(as_server_user(stop_command()));
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::fresh_database() {
  const std::string name =
      "pkiflow_test_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  auto r = psql("postgres", "CREATE DATABASE " + name);
  if (r.exit_code != 0) throw std::runtime_error("CREATE DATABASE failed: " + r.err);
  return name;
}

std::string PostgresServer::socket_url(const std::string& db) const {
  return "postgresql:///" + db + "?host=" + dir_.string() + "&port=" + std::to_string(port_) +
         "&user=pkiflow";
}

std::string PostgresServer::tcp_url(const std::string& db) const {
  return "postgresql://pkiflow@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

CommandResult PostgresServer::psql(const std::string& db, const std::string& sql) const {
  return run("PGPASSWORD= " + quote(bin_ / "psql") + " -X -q -A -t -v ON_ERROR_STOP=1 -d " +
             quote(fs::path(socket_url(db))) + " -c " + quote(fs::path(sql)));
}

}  // namespace pkiflow::test

#include "engine/signers/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace pkiflow::engine::signers {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  int r = -1, w = -1;
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    r = fds[0];
    w = fds[1];
    return true;
  }
  void close_write() {
    if (w >= 0) ::close(w);
    w = -1;
  }
};

// Ends the child's process group: SIGTERM, a grace period, then SIGKILL.
void kill_group(pid_t pid) {
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ::kill(-pid, SIGKILL);  // what it left behind in its group
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace

std::string find_program(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::filesystem::path dir(path.substr(start, end - start));
    const auto candidate = (dir.empty() ? std::filesystem::path(".") : dir) / name;
    std::error_code ec;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate, ec))
      return candidate.string();
    start = end + 1;
  }
  return "";
}

std::string last_lines(const std::string& text, std::size_t lines) {
  std::vector<std::string> kept;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (!line.empty()) kept.push_back(std::move(line));
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = kept.size() > lines ? kept.size() - lines : 0; i < kept.size(); ++i)
    out += (out.empty() ? "" : " | ") + kept[i];
  return out;
}

Result<ProcessResult> run_process(const ProcessSpec& spec) {
  const std::string what = spec.argv.empty() ? "command" : "command " + spec.argv[0];
  if (spec.argv.empty()) return Error(ErrorKind::invalid_input, what, "is empty");
  auto path = spec.env.find("PATH");
  const std::string program =
      find_program(spec.argv[0], path != spec.env.end() ? path->second : kCommandPath);
  if (program.empty())
    return Error(ErrorKind::invalid_input, what,
                 "is not an executable file and not found on the PATH it runs with");
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  Pipe out, err;
  if (!out.open() || !err.open())
    return Error(ErrorKind::io, what, std::string("cannot make a pipe: ") + errno_text(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out.w, 1);
  posix_spawn_file_actions_adddup2(&fa, err.w, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // no descriptor of ours (store, sockets)
  if (!spec.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&fa, spec.working_directory.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout ends its children too
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Error(ErrorKind::io, what, std::string("could not be started: ") + errno_text(rc));
  out.close_write();
  err.close_write();

  ProcessResult res;
  std::string err_all;
  const auto deadline = Clock::now() + spec.timeout;
  bool out_open = true, err_open = true;
  char buf[8192];
  while (out_open || err_open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      res.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (out_open) fds[n++] = {out.r, POLLIN, 0};
    if (err_open) fds[n++] = {err.r, POLLIN, 0};
    const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n && ready > 0; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      const bool is_out = fds[i].fd == out.r;
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        (is_out ? out_open : err_open) = false;
        continue;
      }
      if (is_out) {
        if (res.out.size() + static_cast<std::size_t>(got) > spec.max_stdout) {
          res.out_truncated = true;
          out_open = false;
          kill_group(pid);
          pid = -1;
          break;
        }
        res.out.append(buf, static_cast<std::size_t>(got));
      } else {
        err_all.append(buf, static_cast<std::size_t>(got));
        if (err_all.size() > 4 * spec.stderr_tail)
          err_all.erase(0, err_all.size() - spec.stderr_tail);
      }
    }
    if (pid < 0) break;
  }
  if (pid > 0) {
    if (res.timed_out) {
      kill_group(pid);
    } else {
      // The pipes closed: it has ended, or closed them and goes on; wait until the deadline.
      int status = 0;
      for (;;) {
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) {
          if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
          if (WIFSIGNALED(status)) res.signal = WTERMSIG(status);
          break;
        }
        if (Clock::now() >= deadline) {
          res.timed_out = true;
          kill_group(pid);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ::kill(-pid, SIGKILL);  // nothing of its group outlives it
    }
  }
  if (err_all.size() > spec.stderr_tail) err_all.erase(0, err_all.size() - spec.stderr_tail);
  res.err_tail = std::move(err_all);
  return res;
}

}  // namespace pkiflow::engine::signers

#include "engine/run/run_owner.hpp"

#include <unistd.h>
#include <csignal>

#include <cerrno>

#include <fstream>
#include <sstream>

namespace pkiflow::engine {

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

std::optional<unsigned long long> process_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  unsigned long long start = 0;
  if (!(rest >> start)) return std::nullopt;
  // A zombie (state Z) has exited: it runs no more work.
  if (line.size() > close + 2 && line[close + 2] == 'Z') return std::nullopt;
  return start;
}

std::string RunOwner::str() const {
  return "host=" + host + " pid=" + std::to_string(pid) + " start=" + std::to_string(start_ticks) +
         " run=" + run_id;
}

std::optional<RunOwner> RunOwner::parse(const std::string& s) {
  RunOwner o;
  std::istringstream in(s);
  std::string item;
  int seen = 0;
  try {
    while (in >> item) {
      const auto eq = item.find('=');
      if (eq == std::string::npos) return std::nullopt;
      const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "host") o.host = v, seen |= 1;
      if (k == "pid") o.pid = std::stol(v), seen |= 2;
      if (k == "start") o.start_ticks = std::stoull(v), seen |= 4;
      if (k == "run") o.run_id = v, seen |= 8;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (seen != 15 || o.pid <= 0) return std::nullopt;
  return o;
}

RunOwner RunOwner::current(const std::string& run_id) {
  RunOwner o;
  o.host = this_host();
  o.pid = static_cast<long>(::getpid());
  o.start_ticks = process_start_ticks(o.pid).value_or(0);
  o.run_id = run_id;
  return o;
}

bool owner_is_dead(const RunOwner& owner) {
  if (owner.host != this_host()) return false;
  // Without /proc (or an owner that could not read its own start time) only the pid can tell:
  // a pid that does not exist is dead; a reused one is taken for alive (its lease expires).
  static const bool have_proc = process_start_ticks(static_cast<long>(::getpid())).has_value();
  if (!have_proc || owner.start_ticks == 0)
    return ::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH;
  const auto start = process_start_ticks(owner.pid);
  return !start || *start != owner.start_ticks;
}

bool owner_is_dead(const std::string& owner) {
  auto o = RunOwner::parse(owner);
  return o && owner_is_dead(*o);
}

}  // namespace pkiflow::engine

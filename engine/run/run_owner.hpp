// Who holds a lease (DESIGN.md, "Leases die with their run"): the host, the process id and the
// process's start time (so a reused pid is not mistaken for the run that died), plus a random
// run id. A run that finds a lease of a process of this host that is no longer running takes
// it over at once; a lease of another host is trusted until it expires, and its live run keeps
// it short and renews it by a heartbeat.
#pragma once

#include <optional>
#include <string>

namespace pkiflow::engine {

struct RunOwner {
  std::string host;
  long pid = 0;
  unsigned long long start_ticks = 0;  // /proc/PID/stat field 22 (clock ticks since boot)
  std::string run_id;

  // "host=H pid=P start=S run=R", as stored in the lease column.
  std::string str() const;
  static std::optional<RunOwner> parse(const std::string& s);
  // This process, with a fresh run id.
  static RunOwner current(const std::string& run_id);
};

// Whether `owner` is certainly dead: on this host, and its pid is not running or is another
// process (another start time). Owners of other hosts, and strings of older versions that
// cannot be parsed, are never declared dead (their lease expires instead).
bool owner_is_dead(const RunOwner& owner);
bool owner_is_dead(const std::string& owner);

// The start time of process `pid` (nullopt when it does not run).
std::optional<unsigned long long> process_start_ticks(long pid);
std::string this_host();

}  // namespace pkiflow::engine

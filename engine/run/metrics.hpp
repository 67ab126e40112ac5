// The Prometheus textfile a run leaves for monitoring (`pkiflow run --metrics-file F`, read by
// node_exporter's textfile collector): the records by state, each certificate's expiry and
// renewal time, and how the run went. Rendered here, written atomically by the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/workflow.hpp"
#include "state/record.hpp"

namespace pkiflow::engine {

struct RunFigures {
  TimePoint finished{};
  double duration_seconds = 0;
  int exit_code = 0;
  // When a run last ended with exit 0: this one, else what the previous file said.
  std::optional<TimePoint> last_success;
  // The run's Graph answers by HTTP status ("none": no response), token requests included.
  std::map<std::string, std::uint64_t> graph_requests;
};

// Every record of the store, handed to the visitor one by one (read a page at a time); it may
// be called several times.
using RecordSource = std::function<void(const std::function<void(const state::Record&)>&)>;

// The exposition text (format 0.0.4) for every record of `records` after `report`.
std::string prometheus_text(const RecordSource& records, const Config& config,
                            const RunReport& report, const RunFigures& figures);

// pkiflow_run_last_success_timestamp_seconds from an earlier file's text, if it has one.
std::optional<TimePoint> last_success_in(const std::string& previous_text);

}  // namespace pkiflow::engine

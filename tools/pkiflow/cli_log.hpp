// What `pkiflow run` says while it works, on stderr: with --log-format json one JSON object per
// line (time, level, run id, record id, event, from/to state, message, request-id; never a
// secret: messages come from errors and request summaries, which carry none); with text, the
// Graph requests under -v and, on a terminal, a progress line (records done, in flight).
#pragma once

#include <cstddef>
#include <string>

#include "pkiflow/engine.hpp"

namespace pkiflow::cli {

class RunLogger {
 public:
  enum class Format { text, json };
  RunLogger(Format format, std::string run_id, bool verbose);

  // The run's `claimed` event says how many records it works at once (what "in flight" can be
  // at most).
  void event(const RunEvent& e);
  // One Graph attempt (GraphClient's trace line): debug level, shown under -v.
  void graph(const std::string& line);
  // The run is over: the progress line is cleared.
  void finish();

 private:
  void line(const char* level, const std::string& event, const RunEvent* e,
            const std::string& message);
  void progress();

  Format format_;
  std::string run_id_;
  bool verbose_;
  bool tty_;
  std::size_t concurrency_ = 0;
  std::size_t total_ = 0, done_ = 0;
  bool progress_shown_ = false;
};

// "text" or "json" (CLI11 checks the choice).
RunLogger::Format parse_log_format(const std::string& s);

}  // namespace pkiflow::cli

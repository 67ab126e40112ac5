#include "tools/pkiflow/cli_log.hpp"

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"

namespace pkiflow::cli {

namespace {

// The request-id a Graph error message carries ("… request-id 1234-…"), for its own field.
std::string request_id_in(const std::string& message) {
  static const std::regex re("request-id[ :=]+([0-9A-Fa-f-]{8,})");
  std::smatch m;
  return std::regex_search(message, m, re) ? m[1].str() : "";
}

const char* level_of(const RunEvent& e) {
  if (e.type != RunEvent::Type::settled) return "info";
  if (e.result == "failed") return "error";
  if (!e.drift.empty()) return "warning";
  return "info";
}

}  // namespace

RunLogger::Format parse_log_format(const std::string& s) {
  return s == "json" ? RunLogger::Format::json : RunLogger::Format::text;
}

RunLogger::RunLogger(Format format, std::string run_id, bool verbose)
    : format_(format),
      run_id_(std::move(run_id)),
      verbose_(verbose),
      tty_(format == Format::text && ::isatty(STDERR_FILENO) != 0) {}

void RunLogger::line(const char* level, const std::string& event, const RunEvent* e,
                     const std::string& message) {
  if (format_ == Format::text) {
    if (progress_shown_) std::cerr << "\r\033[K";
    std::cerr << "pkiflow: " << message << "\n";
    progress_shown_ = false;
    progress();
    return;
  }
  nlohmann::ordered_json j{{"time", pki::format_rfc3339(std::chrono::system_clock::now())},
                           {"level", level},
                           {"run", run_id_},
                           {"event", event}};
  if (e) {
    if (!e->record_id.empty()) {
      j["record"] = e->record_id;
      j["name"] = e->name;
      j["kind"] = e->kind;
    }
    if (!e->from.empty()) j["from"] = e->from;
    if (!e->to.empty()) j["to"] = e->to;
    if (!e->result.empty()) j["result"] = e->result;
    if (!e->drift.empty()) j["drift"] = e->drift;
    if (e->type == RunEvent::Type::claimed) j["records"] = e->total;
  }
  if (!message.empty()) j["message"] = message;
  if (auto rid = request_id_in(message); !rid.empty()) j["request_id"] = rid;
  std::cerr << json_text(j) << "\n";
}

void RunLogger::event(const RunEvent& e) {
  using K = RunEvent::Type;
  switch (e.type) {
    case K::claimed:
      total_ = e.total;
      concurrency_ = e.concurrency;
      if (format_ == Format::json) line("info", "claimed", &e, "");
      progress();
      return;
    case K::transition:
      if (format_ == Format::json || verbose_)
        line("info", "transition", &e,
             format_ == Format::json ? ""
                                     : e.record_id + " " + e.name + " " + e.from + " -> " + e.to);
      return;
    case K::renewal:  // the report lists renewals too: text repeats them only under -v
      if (format_ == Format::json || verbose_)
        line("info", "renewal", &e,
             format_ == Format::json ? e.message : e.record_id + " " + e.name + ": " + e.message);
      return;
    case K::settled:
      ++done_;
      if (format_ == Format::json)
        line(level_of(e), "settled", &e, e.message);
      else
        progress();
      return;
  }
}

void RunLogger::graph(const std::string& text) {
  if (!verbose_) return;
  line("debug", "graph", nullptr, text);
}

void RunLogger::progress() {
  if (!tty_ || total_ == 0) return;
  const std::size_t in_flight =
      done_ < total_ ? std::min<std::size_t>(total_ - done_, concurrency_) : 0;
  std::cerr << "\r\033[Kpkiflow: " << done_ << "/" << total_ << " records done, " << in_flight
            << " in flight" << std::flush;
  progress_shown_ = true;
}

void RunLogger::finish() {
  if (progress_shown_) std::cerr << "\r\033[K" << std::flush;
  progress_shown_ = false;
}

}  // namespace pkiflow::cli

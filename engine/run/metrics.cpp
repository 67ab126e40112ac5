#include "engine/run/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "engine/run/renewals.hpp"

namespace pkiflow::engine {

namespace {

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string seconds_of(TimePoint t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f",
                std::chrono::duration<double>(t.time_since_epoch()).count());
  return buf;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void sample(const char* name, const std::vector<std::pair<const char*, std::string>>& labels,
              const std::string& value) {
    out_ << name;
    if (!labels.empty()) {
      out_ << "{";
      for (std::size_t i = 0; i < labels.size(); ++i)
        out_ << (i ? "," : "") << labels[i].first << "=\"" << label(labels[i].second) << "\"";
      out_ << "}";
    }
    out_ << " " << value << "\n";
  }
  std::string str() const { return out_.str(); }
  void append(const Writer& other) { out_ << other.out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

std::string prometheus_text(const RecordSource& records, const Config& config,
                            const RunReport& report, const RunFigures& figures) {
  Writer w;
  // One pass over the store; each per-record family collects its samples in a writer of its
  // own, printed in the order of the families. Whether an active record's renewal is planned is
  // known only once every record was seen: those samples are written after the pass.
  using Labels = std::vector<std::pair<const char*, std::string>>;
  auto ids = [](const state::Record& r) {
    return Labels{{"record", r.id},
                  {"kind", state::to_string(r.kind)},
                  {"tenant", r.tenant},
                  {"name", r.name}};
  };
  std::map<std::tuple<std::string, std::string, std::string>, int> by_state;
  Writer expiry, renewal, drift;
  std::set<std::string> renewing;                          // records a live successor renews
  std::vector<std::pair<std::string, Labels>> active_ids;  // id, labels of each active record
  records([&](const state::Record& r) {
    ++by_state[{state::to_string(r.state), state::to_string(r.kind), r.tenant}];
    if ((r.state == state::RecordState::active || r.state == state::RecordState::superseded) &&
        r.not_after)
      expiry.sample("pkiflow_certificate_expiration_timestamp_seconds", ids(r),
                    seconds_of(*r.not_after));
    if (!r.renews.empty() && r.state != state::RecordState::retired &&
        r.state != state::RecordState::failed)
      renewing.insert(r.renews);
    if (r.state != state::RecordState::active) return;
    if (auto t = renewal_due(r, config.renewal_policy(r.kind, r.name, r.tenant)))
      renewal.sample("pkiflow_certificate_renewal_timestamp_seconds", ids(r), seconds_of(t->at));
    active_ids.emplace_back(r.id, ids(r));
    auto labels = ids(r);
    labels.emplace_back("condition", r.drift.empty() ? "none" : r.drift);
    drift.sample("pkiflow_drift", labels, r.drift.empty() ? "0" : "1");
  });
  w.family("pkiflow_records", "gauge", "Records in the state store by state, kind and tenant.");
  for (const auto& [key, n] : by_state)
    w.sample(
        "pkiflow_records",
        {{"state", std::get<0>(key)}, {"kind", std::get<1>(key)}, {"tenant", std::get<2>(key)}},
        std::to_string(n));
  w.family("pkiflow_certificate_expiration_timestamp_seconds", "gauge",
           "notAfter of each certificate in the tenant (active or superseded), Unix time.");
  w.append(expiry);
  w.family("pkiflow_certificate_renewal_timestamp_seconds", "gauge",
           "When each active certificate is due for renewal under its policy, Unix time.");
  w.append(renewal);
  w.family("pkiflow_certificate_renewal_planned", "gauge",
           "1 when an active certificate's successor is on its way, else 0.");
  for (const auto& [id, labels] : active_ids)
    w.sample("pkiflow_certificate_renewal_planned", labels, renewing.count(id) ? "1" : "0");
  w.family("pkiflow_drift", "gauge",
           "1 when an active record's remote object no longer matches it (by condition), else 0.");
  w.append(drift);
  w.family("pkiflow_run_records", "gauge", "Records the last run worked, by result.");
  for (auto result : {RecordOutcome::Result::progressed, RecordOutcome::Result::waiting,
                      RecordOutcome::Result::failed, RecordOutcome::Result::unchanged,
                      RecordOutcome::Result::dry_run})
    w.sample("pkiflow_run_records", {{"result", to_string(result)}},
             std::to_string(report.count(result)));
  w.family("pkiflow_run_renewals_planned", "gauge", "Successors the last run planned.");
  std::size_t planned = 0;
  for (const auto& p : report.renewals)
    planned += !p.successor.empty();
  w.sample("pkiflow_run_renewals_planned", {}, std::to_string(planned));
  // A counter of the run that wrote the file (it starts again with every run): a textfile has no
  // memory, and rate() over a timer's runs would read the resets as restarts, as it should.
  w.family("pkiflow_graph_requests_total", "counter",
           "Graph requests of the last run by the answer's HTTP status (\"none\": no answer).");
  for (const auto& [code, n] : figures.graph_requests)
    w.sample("pkiflow_graph_requests_total", {{"code", code}}, std::to_string(n));
  w.family("pkiflow_run_exit_code", "gauge", "The exit code of the last run (0 = success).");
  w.sample("pkiflow_run_exit_code", {}, std::to_string(figures.exit_code));
  w.family("pkiflow_run_duration_seconds", "gauge", "How long the last run took.");
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.3f", figures.duration_seconds);
  w.sample("pkiflow_run_duration_seconds", {}, dur);
  w.family("pkiflow_run_timestamp_seconds", "gauge", "When the last run ended, Unix time.");
  w.sample("pkiflow_run_timestamp_seconds", {}, seconds_of(figures.finished));
  if (figures.last_success) {
    w.family("pkiflow_run_last_success_timestamp_seconds", "gauge",
             "When a run last ended with exit 0, Unix time.");
    w.sample("pkiflow_run_last_success_timestamp_seconds", {}, seconds_of(*figures.last_success));
  }
  return w.str();
}

std::optional<TimePoint> last_success_in(const std::string& previous_text) {
  std::istringstream in(previous_text);
  std::string line;
  const std::string name = "pkiflow_run_last_success_timestamp_seconds ";
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    char* end = nullptr;
    const double v = std::strtod(line.c_str() + name.size(), &end);
    if (end == line.c_str() + name.size() || !std::isfinite(v) || v < 0) return std::nullopt;
    return TimePoint(
        std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(v)));
  }
  return std::nullopt;
}

}  // namespace pkiflow::engine

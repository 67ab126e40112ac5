#include "engine/pki/validate/chain_report.hpp"

#include <algorithm>

namespace pkiflow::pki {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::pass:
      return "pass";
    case Outcome::warn:
      return "warn";
    case Outcome::fail:
      return "fail";
    case Outcome::unchecked:
      return "unchecked";
  }
  return "?";
}

void ChainReport::add(std::string rule, Outcome outcome, std::string reason,
                      std::optional<std::size_t> cert) {
  results.push_back({std::move(rule), outcome, std::move(reason), cert});
}

Verdict ChainReport::verdict() const {
  return count(Outcome::fail) == 0 ? Verdict::valid : Verdict::invalid;
}

std::size_t ChainReport::count(Outcome o) const {
  return static_cast<std::size_t>(std::count_if(
      results.begin(), results.end(), [o](const RuleResult& r) { return r.outcome == o; }));
}

const RuleResult* ChainReport::find(const std::string& rule, Outcome o) const {
  for (const auto& r : results)
    if (r.rule == rule && r.outcome == o) return &r;
  return nullptr;
}

}  // namespace pkiflow::pki

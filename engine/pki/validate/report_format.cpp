#include "engine/pki/validate/report_format.hpp"

#include <nlohmann/json.hpp>

#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/rule_catalog.hpp"

namespace pkiflow::pki {

namespace {

const char* label(Outcome o, bool color) {
  if (!color) {
    switch (o) {
      case Outcome::pass:
        return "PASS";
      case Outcome::warn:
        return "WARN";
      case Outcome::fail:
        return "FAIL";
      case Outcome::unchecked:
        return "----";
    }
  }
  switch (o) {
    case Outcome::pass:
      return "\033[32mPASS\033[0m";
    case Outcome::warn:
      return "\033[33mWARN\033[0m";
    case Outcome::fail:
      return "\033[31mFAIL\033[0m";
    case Outcome::unchecked:
      return "\033[2m----\033[0m";
  }
  return "?";
}

}  // namespace

std::string report_text(const ChainReport& r, bool color) {
  std::string out = r.verdict() == Verdict::valid ? "VALID" : "INVALID";
  out += " at " + format_rfc3339(r.at);
  if (r.profile) out += " for profile " + *r.profile;
  out += ": " + std::to_string(r.count(Outcome::fail)) + " failed, " +
         std::to_string(r.count(Outcome::warn)) + " warnings, " +
         std::to_string(r.count(Outcome::pass)) + " passed, " +
         std::to_string(r.count(Outcome::unchecked)) + " unchecked\n";
  out += "path:\n";
  for (std::size_t i = 0; i < r.path.size(); ++i)
    out += "  [" + std::to_string(i) + "] " + r.path[i].subject + "  (" + r.path[i].source + ")\n";
  for (const auto& l : r.limits_hit)
    out += "limit hit: " + l + "\n";
  if (!r.relaxed.empty()) {
    out += "relaxed by --lenient:";
    for (const auto& x : r.relaxed)
      out += " " + x;
    out += "\n";
  }
  out += "rules:\n";
  for (const auto& res : r.results) {
    std::string rule = res.rule;
    rule.resize(std::max<std::size_t>(rule.size(), 27), ' ');
    out += std::string("  ") + label(res.outcome, color) + "  " + rule + " " + res.reason + "\n";
  }
  return out;
}

std::string report_json(const ChainReport& r, int indent) {
  nlohmann::ordered_json j;
  j["verdict"] = r.verdict() == Verdict::valid ? "valid" : "invalid";
  j["at"] = format_rfc3339(r.at);
  j["profile"] = r.profile ? nlohmann::ordered_json(*r.profile) : nlohmann::ordered_json(nullptr);
  j["summary"] = {{"fail", r.count(Outcome::fail)},
                  {"warn", r.count(Outcome::warn)},
                  {"pass", r.count(Outcome::pass)},
                  {"unchecked", r.count(Outcome::unchecked)}};
  auto path = nlohmann::ordered_json::array();
  for (const auto& p : r.path)
    path.push_back(
        {{"subject", p.subject}, {"issuer", p.issuer}, {"sha256", p.sha256}, {"source", p.source}});
  j["path"] = path;
  j["candidates_checked"] = r.candidates_checked;
  j["limits_hit"] = r.limits_hit;
  j["crl_check"] = r.crl_check;
  if (r.policies) {
    j["policies"] = {{"authority_constrained", r.policies->authority},
                     {"user_constrained", r.policies->user},
                     {"explicit_required", r.policies->explicit_required}};
    if (r.policies->issued)
      j["policies"]["issued"] = {{"policies", *r.policies->issued},
                                 {"explicit_required", r.policies->issued_explicit_required}};
    else
      j["policies"]["issued"] = nullptr;
  } else
    j["policies"] = nullptr;
  j["relaxed"] = r.relaxed;
  auto results = nlohmann::ordered_json::array();
  for (const auto& res : r.results) {
    nlohmann::ordered_json x{
        {"rule", res.rule}, {"outcome", to_string(res.outcome)}, {"reason", res.reason}};
    x["cert"] = res.cert ? nlohmann::ordered_json(*res.cert) : nlohmann::ordered_json(nullptr);
    if (const auto* info = find_rule(res.rule)) x["clause"] = info->clause;
    results.push_back(std::move(x));
  }
  j["results"] = results;
  return json_text(j, indent);
}

}  // namespace pkiflow::pki

// The table of validation rules: each name, what it checks and the clause it comes from. The
// README's rule list and `pkiflow validate --list-rules` are generated from it.
#pragma once

#include <string>
#include <vector>

namespace pkiflow::pki {

struct RuleInfo {
  const char* name;
  const char* checks;
  const char* clause;
};

const std::vector<RuleInfo>& rule_catalog();
const RuleInfo* find_rule(const std::string& name);

}  // namespace pkiflow::pki

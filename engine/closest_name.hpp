// "Did you mean …?": the known name closest to what a user typed (a configuration key, a verb,
// a state), so a typo is answered with the fix rather than a list to read.
#pragma once

#include <string>
#include <vector>

namespace pkiflow::engine {

// The name of `known` closest to `got` by edit distance, or "" when none is close enough to be
// a typo of it (at most a third of its letters wrong, and never more than that plus two).
std::string closest_name(const std::string& got, const std::vector<std::string>& known);

}  // namespace pkiflow::engine

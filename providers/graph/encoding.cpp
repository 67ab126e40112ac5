#include "providers/graph/encoding.hpp"

#include <array>
#include <cctype>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/random_bytes.hpp"

namespace pkiflow::graph {

std::string base64url(const std::vector<std::uint8_t>& data) {
  std::string s = pki::base64_encode(data);
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  for (char& c : s)
    c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return s;
}

std::string base64url(std::string_view data) {
  return base64url(std::vector<std::uint8_t>(data.begin(), data.end()));
}

std::string percent_encode(std::string_view value, SpaceAs space) {
  if (space == SpaceAs::percent) return pki::percent_encode(value);
  // Form bodies: a space is '+', so a '+' of the value itself must be encoded (it is).
  std::string out;
  std::size_t from = 0;
  for (auto sp = value.find(' '); sp != std::string_view::npos; sp = value.find(' ', from)) {
    out += pki::percent_encode(value.substr(from, sp - from)) + "+";
    from = sp + 1;
  }
  return out + pki::percent_encode(value.substr(from));
}

std::string new_client_request_id(pki::Rng& rng) {
  return pki::random_guid(rng);
}

}  // namespace pkiflow::graph

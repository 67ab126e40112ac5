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
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && space == SpaceAs::plus) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string new_client_request_id(pki::Rng& rng) {
  return pki::random_guid(rng);
}

}  // namespace pkiflow::graph

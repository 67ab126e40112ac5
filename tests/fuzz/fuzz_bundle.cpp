// The air-gap bundle's manifests (engine/bundle): manifest.json as the offline host reads it, and
// signed.json as it comes back across the gap. The first byte picks which. What one of them
// accepts must survive being written out and read again unchanged (export writes what import
// reads), and its file names must stay plain names inside the bundle directory.
#include "engine/bundle/bundle.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow::engine::bundle;

namespace {

bool plain(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

template <typename M, typename Parse>
void round_trip(const M& m, Parse parse) {
  const std::string once = to_json(m);
  auto again = parse("/bundle/again.json", once);
  if (!again || to_json(*again) != once) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = pkiflow::fuzz::select(data, size, 2);
  const std::string text(pkiflow::fuzz::text(in.data, in.size));
  if (in.which == 0) {
    auto m = parse_manifest("/bundle/manifest.json", text);
    if (!m) return 0;
    for (const auto& e : m->records)
      if (!plain(e.csr_file)) __builtin_trap();
    round_trip(*m, parse_manifest);
  } else {
    auto m = parse_signed("/bundle/signed.json", text);
    if (!m) return 0;
    for (const auto& e : m->certificates)
      if (!plain(e.certificate_file) || !plain(e.chain_file)) __builtin_trap();
    round_trip(*m, parse_signed);
  }
  return 0;
}

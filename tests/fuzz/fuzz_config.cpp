// The configuration loader: JSON text from the operator's file, every key checked.
#include "engine/config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(pkiflow::fuzz::text(data, size));
  auto config = pkiflow::engine::parse_config(text, "/nonexistent/pkiflow-fuzz/config.json");
  (void)config;
  return 0;
}

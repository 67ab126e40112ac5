// Replays fuzz inputs through the targets without libFuzzer, in the normal and the sanitizer
// builds (ctest: fuzz_replay_*): the seed corpus and every input that once crashed a target
// (tests/fuzz/regressions/TARGET) must go through cleanly.
//   fuzz_replay TARGET FILE-OR-DIRECTORY...
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#define PKIFLOW_FUZZ_TARGET(name) \
  extern "C" int fuzz_##name##_one(const std::uint8_t* data, std::size_t size);
PKIFLOW_FUZZ_TARGET(certificate)
PKIFLOW_FUZZ_TARGET(csr)
PKIFLOW_FUZZ_TARGET(crl)
PKIFLOW_FUZZ_TARGET(validate)
PKIFLOW_FUZZ_TARGET(private_key)
PKIFLOW_FUZZ_TARGET(config)
PKIFLOW_FUZZ_TARGET(graph)
PKIFLOW_FUZZ_TARGET(emulator)
PKIFLOW_FUZZ_TARGET(bundle)

int main(int argc, char** argv) {
  using Fn = int (*)(const std::uint8_t*, std::size_t);
  const std::map<std::string, Fn> targets{{"certificate", fuzz_certificate_one},
                                          {"csr", fuzz_csr_one},
                                          {"crl", fuzz_crl_one},
                                          {"validate", fuzz_validate_one},
                                          {"private_key", fuzz_private_key_one},
                                          {"config", fuzz_config_one},
                                          {"graph", fuzz_graph_one},
                                          {"emulator", fuzz_emulator_one},
                                          {"bundle", fuzz_bundle_one}};
  if (argc < 3 || !targets.count(argv[1])) {
    std::fprintf(stderr, "usage: fuzz_replay TARGET FILE-OR-DIRECTORY...\n");
    return 2;
  }
  const Fn one = targets.at(argv[1]);
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (std::filesystem::exists(p)) {
      files.push_back(p);
    }
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
    one(data.data(), data.size());
  }
  std::printf("fuzz_replay %s: %zu inputs\n", argv[1], files.size());
  return files.empty() ? 1 : 0;
}

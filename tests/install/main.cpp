#include <iostream>
#include <pkiflow.hpp>
int main(int argc, char** argv) {
  auto cert = pkiflow::pki::Certificate::load(argv[1]);
  if (!cert) {
    std::cerr << cert.error().what() << "\n";
    return 2;
  }
  std::cout << cert->facts().sha1_thumbprint << "\n";
  return argc > 0 ? 0 : 1;
}

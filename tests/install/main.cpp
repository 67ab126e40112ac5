// An outside program on the installed package: the PKI core (a certificate's thumbprint) and
// the embedding API (an Engine plans a record in a store of its own, and reads it back).
#include <iostream>
#include <pkiflow.hpp>
#include <pkiflow/engine.hpp>

int main(int argc, char** argv) {
  if (argc != 3) return 1;
  auto cert = pkiflow::pki::Certificate::load(argv[1]);
  if (!cert) {
    std::cerr << cert.error().what() << "\n";
    return 2;
  }
  std::cout << cert->facts().sha1_thumbprint << "\n";
  pkiflow::EngineOptions o;
  o.config_json = R"({"tenants": {"t": {"tenant_id": "t.example", "client_id": "app",
                      "auth": {"client_secret_env": "PKIFLOW_INSTALL_UNUSED"}}}})";
  o.state_url = std::string("sqlite://") + argv[2] + "/state.db";
  auto engine = pkiflow::Engine::open(o);
  if (!engine) {
    std::cerr << engine.error().what() << "\n";
    return 3;
  }
  auto planned = engine->request(
      R"({"kind": "cba-ca", "name": "users", "tenant": "t", "subject": "CN=Users"})");
  auto records = engine->status();
  if (!planned || !records || records->size() != 1) {
    std::cerr << (planned ? (records ? "not one record" : records.error().what())
                          : planned.error().what())
              << "\n";
    return 4;
  }
  std::cout << records->front().state << "\n";
  return 0;
}

#include "tools/graph-emulator/tls_identity.hpp"

#include <botan/auto_rng.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/pkcs8.h>
#include <botan/x509_ca.h>
#include <botan/x509self.h>

#include <chrono>

#include "engine/pki/encoded_file.hpp"

namespace pkiflow::emulator {

Result<TlsIdentity> make_tls_identity() {
  try {
    Botan::AutoSeeded_RNG rng;
    const auto group = Botan::EC_Group::from_name("secp256r1");
    Botan::ECDSA_PrivateKey ca_key(rng, group);
    Botan::ECDSA_PrivateKey server_key(rng, group);
    const auto now = std::chrono::system_clock::now();

    Botan::X509_Cert_Options ca_opts("pkiflow-graph-emulator test CA/US/pkiflow/emulator",
                                     7 * 86400);
    ca_opts.CA_key(0);
    ca_opts.start = Botan::X509_Time(now - std::chrono::minutes(5));
    ca_opts.end = Botan::X509_Time(now + std::chrono::hours(24 * 7));
    auto ca_cert = Botan::X509::create_self_signed_cert(ca_opts, ca_key, "SHA-256", rng);

    Botan::X509_Cert_Options opts("localhost/US/pkiflow/emulator");
    opts.dns = "localhost";
    opts.more_dns = {"localhost"};
    opts.ip = "127.0.0.1";
    opts.add_ex_constraint("PKIX.ServerAuth");
    opts.constraints = Botan::Key_Constraints::DigitalSignature;
    auto req = Botan::X509::create_cert_req(opts, server_key, "SHA-256", rng);
    Botan::X509_CA ca(ca_cert, ca_key, "SHA-256", rng);
    auto cert = ca.sign_request(req, rng, Botan::X509_Time(now - std::chrono::minutes(5)),
                                Botan::X509_Time(now + std::chrono::hours(24 * 7)));
    TlsIdentity id;
    id.chain_pem = cert.PEM_encode() + ca_cert.PEM_encode();
    id.key_pem = Botan::PKCS8::PEM_encode(server_key);
    id.ca_pem = ca_cert.PEM_encode();
    return id;
  } catch (const std::exception& e) {
    return Error(ErrorKind::crypto, "emulator TLS identity", e.what());
  }
}

Result<TlsIdentity> load_tls_identity(const std::string& chain_file, const std::string& key_file) {
  auto chain = pki::read_file_bytes(chain_file, 1024 * 1024);
  if (!chain) return chain.error();
  auto key = pki::read_file_bytes(key_file, 1024 * 1024);
  if (!key) return key.error();
  return TlsIdentity{std::string(chain->begin(), chain->end()),
                     std::string(key->begin(), key->end()), ""};
}

}  // namespace pkiflow::emulator

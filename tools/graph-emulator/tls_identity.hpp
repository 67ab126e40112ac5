// The emulator's HTTPS identity: given (certificate chain + key files), or made at start: a
// throw-away CA and a server certificate for localhost, 127.0.0.1 and ::1 signed by it. Clients
// trust the CA file the emulator writes (pkiflow: tenants.*.tls_ca_file).
#pragma once
#include <string>

#include "engine/pki/result.hpp"

namespace pkiflow::emulator {

struct TlsIdentity {
  std::string chain_pem;  // the server certificate first, then its issuers
  std::string key_pem;    // PKCS#8, unencrypted: it lives in memory only
  std::string ca_pem;     // the CA that issued it (empty when given)
};

// A fresh CA (P-256) and a server certificate valid for a week.
Result<TlsIdentity> make_tls_identity();
// Loads a given certificate chain and key (PEM files).
Result<TlsIdentity> load_tls_identity(const std::string& chain_file, const std::string& key_file);

}  // namespace pkiflow::emulator

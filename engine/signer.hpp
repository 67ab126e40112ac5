// Signers (DESIGN.md, "Core interfaces"): turn a CSR into a certificate and its chain under
// the endpoint's profile. `local-ca` signs with a CA key on this host. A record whose tenant has
// no signer waits in csrGenerated for an operator, who signs elsewhere and imports the result
// (`pkiflow import`).
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"

namespace pkiflow::engine {

struct Issued {
  pki::Certificate certificate;
  std::vector<pki::Certificate> chain;  // issuer first, up to and including the root
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual const std::string& name() const = 0;
  virtual Result<Issued> sign(const pki::Csr& csr, const pki::SigningProfile& profile,
                              int validity_days, pki::TimePoint now) = 0;
  // Why it cannot sign now, or "" when it can: a record then waits in csrGenerated (nothing is
  // written) and the run says why.
  virtual std::string unavailable() const { return ""; }
};

// A local CA whose key is kept offline (removable media, a host not always reachable; the
// signer's "offline_key": true) and is not on this host now.
std::unique_ptr<Signer> make_offline_key_signer(std::string name, std::filesystem::path key);

struct LocalCaSettings {
  std::string name;
  std::filesystem::path certificate;           // the CA certificate
  std::filesystem::path key;                   // its key (encrypted PKCS#8 preferred)
  std::optional<std::filesystem::path> chain;  // the CA's own chain up to the root, if any
  std::optional<pki::Passphrase> passphrase;
  std::vector<std::string> crl_urls;  // CRL distribution points to embed
};

// Loads the CA (its key must match its certificate) and its chain.
Result<std::unique_ptr<Signer>> make_local_ca_signer(const LocalCaSettings& settings);

}  // namespace pkiflow::engine

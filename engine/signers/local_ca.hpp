// The `local-ca` signer: a CA certificate and its key on this host (or kept offline).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/key.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/signer.hpp"

namespace pkiflow::engine::signers {

struct LocalCaSettings {
  std::string name;
  std::filesystem::path certificate;  // the CA certificate
  std::string key;  // its key: a file (encrypted PKCS#8 preferred) or a pkcs11: URI (an HSM)
  std::optional<std::filesystem::path> chain;  // the CA's own chain up to the root, if any
  std::optional<pki::Passphrase> passphrase;
  std::vector<std::string> crl_urls;  // CRL distribution points to embed
};

// Loads the CA (its key must match its certificate) and its chain.
Result<std::unique_ptr<Signer>> make_local_ca_signer(const LocalCaSettings& settings);
// The same with the CA key already open (settings.key is then only named in messages).
Result<std::unique_ptr<Signer>> make_local_ca_signer(const LocalCaSettings& settings,
                                                     pki::PrivateKey key);

// A local CA whose key is kept offline (removable media, a host not always reachable; the
// signer's "offline_key": true) and is not on this host now.
std::unique_ptr<Signer> make_offline_key_signer(std::string name, std::filesystem::path key);

// A CA on an air-gapped host ("type": "offline"): it never signs here; its records wait for
// `pkiflow bundle export`, `pkiflow sign --bundle` there, and `pkiflow bundle import`.
std::unique_ptr<Signer> make_offline_bundle_signer(std::string name);

}  // namespace pkiflow::engine::signers

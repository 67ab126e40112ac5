// Internal: the Botan objects behind pkiflow's public PKI types. Not installed; only engine/pki
// sources include it, so Botan headers stay out of the public API (STYLE.md, 9).
#pragma once

#include <botan/pk_keys.h>
#include <botan/pkcs10.h>
#include <botan/rng.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>
#include <atomic>
#include <memory>

#include "engine/pki/certificate.hpp"
#include "engine/pki/crl.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::pki {

struct Rng::Impl {
  // Shared: every Rng::system() is the process's one buffered system generator.
  std::shared_ptr<Botan::RandomNumberGenerator> rng;
};

struct PrivateKey::Impl {
  std::unique_ptr<Botan::Private_Key> key;
  // A key in a PKCS#11 token: its URI, and its public half (what key only delegates to).
  std::string token_uri;
  std::unique_ptr<Botan::Public_Key> token_public;
};

struct Certificate::Impl {
  Botan::X509_Certificate cert;
};

struct Csr::Impl {
  explicit Impl(Botan::PKCS10_Request r) : req(std::move(r)) {}
  Botan::PKCS10_Request req;
  // The signature's verdict once checked (-1: not yet): a run checks one CSR when it signs and
  // again when it validates the result, and an ECDSA verification is the costly part of both.
  mutable std::atomic<int> signature_ok{-1};
};

struct Crl::Impl {
  Botan::X509_CRL crl;
};

inline Botan::RandomNumberGenerator& botan(Rng& r) {
  return *r.impl().rng;
}
inline const Botan::Private_Key& botan(const PrivateKey& k) {
  return *k.impl().key;
}
inline const Botan::X509_Certificate& botan(const Certificate& c) {
  return c.impl().cert;
}
inline const Botan::PKCS10_Request& botan(const Csr& c) {
  return c.impl().req;
}
inline const Botan::X509_CRL& botan(const Crl& c) {
  return c.impl().crl;
}

PublicKeyInfo describe_public_key(const Botan::Public_Key& key);

// Wraps Botan objects (used by the CA, the CSR builder and the validator).
Certificate wrap(const Botan::X509_Certificate& cert);  // shares its data: no copy
Csr wrap(Botan::PKCS10_Request req);

}  // namespace pkiflow::pki

// Air-gap bundles (README "Offline and HSM-held CAs"): the CSRs of records waiting for an
// offline CA go out in a directory, come back signed, and go in again only if every byte is
// what left and what the CA wrote.
//
//   DIR/manifest.json        what went out: bundle id, format, created-at, and per record its
//                            id, name, kind, tenant, profile, validity, subject, key and CSR
//                            file with its SHA-256
//   DIR/ID.csr               each record's CSR (PEM)
//   -- written by `pkiflow sign --bundle` on the offline host --
//   DIR/ID.pem, ID.chain.pem each record's certificate and its chain up to the root
//   DIR/signed.json          what came back: the manifest's SHA-256, the CA, and per record
//                            its certificate and chain files with their SHA-256
//   DIR/signed.json.sig      signed.json signed with the CA's key (hex)
//
// Reading either half checks every hash, refuses a file the manifests do not name, and reports
// the first problem with the file it concerns.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"
#include "engine/signer.hpp"

namespace pkiflow::engine::bundle {

namespace fs = std::filesystem;
using TimePoint = std::chrono::system_clock::time_point;

inline constexpr const char* kFormat = "pkiflow-bundle/1";
inline constexpr const char* kSignedFormat = "pkiflow-bundle-signed/1";
inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kSigned = "signed.json";
inline constexpr const char* kSignature = "signed.json.sig";

struct Entry {
  std::string record_id;
  std::string name;
  std::string kind;  // gsa-tls-ca, cba-ca, intune-codesigning
  std::string tenant;
  std::string profile;  // the signing profile (tls-inspection-ca, cba-ca, code-signing)
  int validity_days = 0;
  std::string subject;  // the CSR's
  std::string key;      // the CSR's key, e.g. "ECDSA P-256"
  std::string csr_file;
  std::string csr_sha256;
};

struct Manifest {
  std::string bundle_id;
  TimePoint created_at{};
  std::vector<Entry> records;
};

struct SignedEntry {
  std::string record_id;
  std::string certificate_file;
  std::string certificate_sha256;
  std::string chain_file;
  std::string chain_sha256;
};

struct SignedManifest {
  std::string bundle_id;
  std::string manifest_sha256;
  TimePoint signed_at{};
  std::string ca_subject;
  std::string ca_sha256;  // the signing CA certificate's SHA-256 thumbprint (upper-case hex)
  std::vector<SignedEntry> certificates;
};

// "ECDSA P-256", "RSA 3072": a key as the manifest and the confirmation prompt show it.
std::string describe_key(const pki::PublicKeyInfo& key);

std::string to_json(const Manifest& m);
std::string to_json(const SignedManifest& m);
// Strict readings of manifest.json and signed.json (`text`, read from `file`, which errors
// name): only the known fields, each of its type; file names plain names in the bundle.
Result<Manifest> parse_manifest(const fs::path& file, const std::string& text);
Result<SignedManifest> parse_signed(const fs::path& file, const std::string& text);

// What goes out: one record waiting for a signature.
struct Outgoing {
  Entry entry;  // everything but the file names and hashes, which export fills in
  std::string csr_pem;
};

// Writes a new bundle into `dir` (absent or empty; made 0700, files 0600).
Result<Manifest> write_bundle(const fs::path& dir, const std::string& bundle_id,
                              const std::vector<Outgoing>& records, TimePoint now);

// A bundle as it reached the offline host: manifest and CSRs, each hash checked, each CSR's
// self-signature verified; `manifest_text` is the manifest's exact bytes.
struct Outbound {
  Manifest manifest;
  std::string manifest_text;
  std::map<std::string, pki::Csr> csrs;  // by record id
};
Result<Outbound> read_bundle(const fs::path& dir);

// Signs every CSR of the bundle with `signer` (the CA whose key and certificate are given) and
// writes the certificates, chains, signed.json and its signature beside them.
Result<SignedManifest> sign_bundle(const fs::path& dir, const Outbound& bundle, Signer& signer,
                                   const pki::Certificate& ca_certificate,
                                   const pki::PrivateKey& ca_key, TimePoint now, pki::Rng& rng);

// A bundle as it came back: both manifests, every hash, the signature of signed.json by the CA
// that issued the certificates, the same records in the same order, nothing extra.
struct Returned {
  Manifest manifest;
  SignedManifest signed_manifest;
  std::map<std::string, Issued> issued;  // by record id
  std::optional<pki::Certificate> ca;    // the CA that signed signed.json and the certificates
};
Result<Returned> read_signed_bundle(const fs::path& dir);

}  // namespace pkiflow::engine::bundle

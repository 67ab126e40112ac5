#include "engine/local_keys.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "engine/pki/csr.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"

namespace pkiflow::engine {

Result<CsrArtifacts> make_local_csr(const state::Record& r, const pki::SigningProfile& profile,
                                    const LocalKeys& keys, pki::Rng& rng, bool persist) {
  const std::string subject_of = "record " + r.id + " (" + r.name + ")";
  if (!keys.passphrase)
    return Error(ErrorKind::passphrase, "keys",
                 "no passphrase for the keys pkiflow makes: set \"keys\": {\"passphrase_file\": …} "
                 "or \"passphrase_env\" in the configuration (keys are never written in the "
                 "clear)");
  auto p = nlohmann::json::parse(r.profile_json, nullptr, false);
  const std::string subject =
      p.is_object() && p.contains("subject") && p["subject"].is_string() ? p["subject"] : "";
  if (subject.empty())
    return Error(ErrorKind::invalid_input, subject_of,
                 "no subject: give \"subject\": \"CN=…,O=…\" for a key made by pkiflow");
  const std::string alg_name =
      p.is_object() && p.contains("key_algorithm") && p["key_algorithm"].is_string()
          ? p["key_algorithm"].get<std::string>()
          : "rsa3072";
  auto alg = pki::parse_key_algorithm(alg_name);
  if (!alg) return alg.error().about(subject_of);

  std::error_code ec;
  if (persist) {
    std::filesystem::create_directories(keys.dir, ec);
    if (ec) return Error(ErrorKind::io, keys.dir.string(), "cannot create: " + ec.message());
    ::chmod(keys.dir.c_str(), 0700);
  }
  const auto path = keys.dir / (r.id + ".key");
  std::optional<pki::PrivateKey> key;
  if (!persist) {
    key = pki::PrivateKey::generate(*alg, rng);
  } else if (std::filesystem::exists(path, ec)) {  // an earlier attempt made it: the same key again
    // Only a key pkiflow itself could have made is reused: private to this user, encrypted.
    // A key planted there (plaintext, or readable by others) is refused, naming the file.
    // A problem of this host, not of the record: it is left as it is (ErrorKind::io).
    if (auto st = pki::check_private_file(path, "the key of " + subject_of); !st)
      return Error(ErrorKind::io, path.string(), st.error().message());
    auto bytes = pki::read_file_bytes(path, std::uintmax_t{1024} * 1024);
    if (!bytes) return bytes.error();
    const std::string text(bytes->begin(), bytes->end());
    if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") == std::string::npos)
      return Error(ErrorKind::io, path.string(),
                   "the key of " + subject_of +
                       " is not encrypted; pkiflow only writes encrypted keys here, so this file "
                       "was put there by someone else: remove it (a new key is made) or "
                       "investigate");
    auto loaded = pki::PrivateKey::load(path, &*keys.passphrase);
    if (!loaded) return loaded.error();
    key = std::move(*loaded);
    if (!r.csr_pem.empty()) {  // the record already has a CSR: the key must be its key
      auto csr = pki::Csr::decode(pki::Bytes(r.csr_pem.begin(), r.csr_pem.end()));
      if (csr && csr->facts().key.spki_der != key->public_key().spki_der)
        return Error(ErrorKind::io, path.string(),
                     "this key is not the key of the CSR stored for " + subject_of +
                         "; it was replaced after the CSR was made");
    }
  } else {
    key = pki::PrivateKey::generate(*alg, rng);
    if (auto st = key->save(path, &*keys.passphrase, rng); !st) return st.error();
  }
  pki::CsrSpec spec;
  spec.subject = subject;
  spec.key_usage = profile.key_usage;
  spec.ext_key_usage = profile.ext_key_usage;
  if (profile.is_ca) spec.is_ca = true;
  auto csr = pki::Csr::build(spec, *key, rng);
  if (!csr) return csr.error().about(subject_of);
  return CsrArtifacts{csr->pem(), path.string(), "", ""};
}

}  // namespace pkiflow::engine

// Keys made on this host (CBA CAs, code-signing certificates: the engine makes the key and the
// CSR; DESIGN.md, "The lifecycle"). Each record's key is one file, DIR/<record id>.key,
// encrypted PKCS#8 (PBES2) with mode 0600, written atomically; a file an interrupted earlier
// attempt left is reused, so a rerun never makes a second key for a record.
#pragma once
#include <filesystem>
#include <optional>

#include "engine/lifecycle.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::engine {

struct LocalKeys {
  std::filesystem::path dir;                  // created 0700 when missing
  std::optional<pki::Passphrase> passphrase;  // required: keys are never written in the clear
};

// The record's key (made once) and a CSR for the subject of its profile, asking for what the
// endpoint's profile issues (CA, key usage, EKU), so an external CA sees the intent.
// With persist = false (dry run) the key stays in memory and no file is written.
Result<CsrArtifacts> make_local_csr(const state::Record& record, const pki::SigningProfile& profile,
                                    const LocalKeys& keys, pki::Rng& rng, bool persist = true);

}  // namespace pkiflow::engine

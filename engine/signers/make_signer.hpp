// The signer a configuration's "signers" entry describes (engine/signers/).
#pragma once

#include <memory>

#include "engine/config.hpp"
#include "engine/signer.hpp"

namespace pkiflow::engine::signers {

// local-ca (an offline_key signer whose key is absent waits instead), or command. Reads the
// CA key and its passphrase, or the environment a command is given, now.
Result<std::unique_ptr<Signer>> make_signer(const SignerConfig& config);

}  // namespace pkiflow::engine::signers

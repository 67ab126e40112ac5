#include "engine/signers/make_signer.hpp"

#include <cstdlib>

#include "engine/signers/command.hpp"
#include "engine/signers/local_ca.hpp"

namespace pkiflow::engine::signers {

Result<std::unique_ptr<Signer>> make_signer(const SignerConfig& s) {
  if (s.type == "command") {
    CommandSettings cs;
    cs.name = s.name;
    cs.command = s.command;
    cs.environment = s.environment;
    for (const auto& n : s.pass_environment)
      if (const char* v = std::getenv(n.c_str())) cs.environment[n] = v;
    cs.working_directory = s.working_directory;
    cs.chain = s.chain;
    cs.timeout = s.timeout;
    return make_command_signer(std::move(cs));
  }
  if (s.type == "offline") return make_offline_bundle_signer(s.name);
  std::error_code ec;
  const bool in_token = pki::is_pkcs11_uri(s.key.string());
  if (s.offline_key && !in_token && !std::filesystem::exists(s.key, ec))
    return make_offline_key_signer(s.name, s.key);
  LocalCaSettings ls;
  ls.name = s.name;
  ls.certificate = s.certificate;
  ls.key = s.key.string();
  if (!s.chain.empty()) ls.chain = s.chain;
  ls.crl_urls = s.crl_urls;
  if (in_token) {
    // A token kept offline (plugged in to sign) that is not there now: records wait.
    auto signer = make_local_ca_signer(ls);
    if (!signer && s.offline_key && signer.error().kind() == ErrorKind::unavailable)
      return make_offline_key_signer(s.name, s.key);
    return signer;
  }
  std::optional<std::filesystem::path> pass_file;
  if (!s.passphrase_file.empty()) pass_file = s.passphrase_file;
  auto pass = pki::find_passphrase(
      pass_file, s.passphrase_env.empty() ? pki::kPassphraseEnv : s.passphrase_env.c_str());
  if (!pass) return pass.error().about("signers." + s.name);
  ls.passphrase = std::move(*pass);
  return make_local_ca_signer(ls);
}

}  // namespace pkiflow::engine::signers

// pkiflow key new
#include <iostream>

#include "engine/pki/key.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

struct KeyNew {
  std::string alg = "p256";
  std::string out;
  bool no_encrypt = false;
  bool force = false;
  bool json = false;
  PassphraseOption pass;

  void run() const {
    auto algorithm = take(pki::parse_key_algorithm(alg));
    auto passphrase = pass.get();
    if (!passphrase && !no_encrypt)
      fail(kBadInput,
           "no passphrase for the new key: set PKIFLOW_PASSPHRASE or --passphrase-file, or pass "
           "--no-encrypt to write it unencrypted");
    check_new_file(out, force);
    auto rng = pki::Rng::system();
    auto key = pki::PrivateKey::generate(algorithm, rng);
    auto st = key.save(out, no_encrypt ? nullptr : &*passphrase, rng);
    if (!st) fail(st.error(), kCannotWrite);
    auto info = key.public_key();
    if (json) {
      auto j = to_json(info);
      j["file"] = out;
      j["encrypted"] = !no_encrypt;
      print_json(j);
    } else {
      std::cout << "wrote " << (no_encrypt ? "UNENCRYPTED " : "encrypted ")
                << pki::to_string(algorithm) << " private key to " << out << " (mode 0600)\n";
    }
  }
};

}  // namespace

void add_key_commands(CLI::App& app) {
  auto* key = app.add_subcommand("key", "private keys");
  key->require_subcommand(1);
  auto opts = std::make_shared<KeyNew>();
  auto* cmd =
      key->add_subcommand("new", "generate a private key, written as encrypted PKCS#8 (0600)");
  cmd->add_option("--alg", opts->alg, "rsa2048, rsa3072, rsa4096, p256 or p384")
      ->capture_default_str();
  cmd->add_option("--out", opts->out, "file to write the key to")->required();
  cmd->add_flag("--no-encrypt", opts->no_encrypt, "write the key without encryption");
  cmd->add_flag("--force", opts->force, "overwrite an existing file");
  cmd->add_flag("--json", opts->json, "machine-readable output");
  opts->pass.add_to(*cmd);
  cmd->callback([opts] { opts->run(); });
  example(cmd, "pkiflow key new --alg p384 --out issuing.key --passphrase-file key-passphrase");
}

}  // namespace pkiflow::cli

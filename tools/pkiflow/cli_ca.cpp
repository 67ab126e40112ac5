// pkiflow ca new-root | ca sign
#include <iostream>

#include "engine/pki/local_ca.hpp"
#include "engine/pki/time_format.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

std::chrono::days days_option(int days) {
  if (days < 0) fail(kBadInput, "--days must be positive");
  return std::chrono::days(days);
}

struct NewRoot {
  std::string subject, key_out, cert_out, key_in, alg = "p384";
  std::vector<std::string> crl_urls;
  int days = 0;
  bool no_encrypt = false, force = false, json = false, reuse_key = false;
  PassphraseOption pass;

  void run() const {
    auto rng = pki::Rng::system();
    std::optional<pki::PrivateKey> key;
    const bool in_token = pki::is_pkcs11_uri(key_in);
    if (reuse_key && !in_token)
      fail(kBadInput, "--reuse-key is for a key in a PKCS#11 token (--key pkcs11:...)");
    std::optional<pki::Passphrase> passphrase;
    if (in_token) {
      // The root's key is made inside the token and never leaves it (or, with --reuse-key, a key
      // already there is used). Nothing to encrypt or write but the certificate.
      if (!key_out.empty()) fail(kBadInput, "--key-out and a pkcs11: --key exclude each other");
      check_new_file(cert_out, force);
      auto uri = take(pki::parse_pkcs11_uri(key_in));
      key =
          reuse_key
              ? take(pki::PrivateKey::open_token(uri))
              : take(pki::PrivateKey::generate_in_token(uri, take(pki::parse_key_algorithm(alg))));
    } else if (!key_in.empty()) {
      passphrase = pass.get();
      key = take(pki::PrivateKey::load(key_in, passphrase ? &*passphrase : nullptr));
    } else {
      passphrase = pass.get();
      if (key_out.empty()) fail(kBadInput, "--key-out is required (or --key for an existing key)");
      if (!passphrase && !no_encrypt)
        fail(kBadInput,
             "no passphrase for the new CA key: set PKIFLOW_PASSPHRASE or "
             "--passphrase-file, or pass --no-encrypt");
      check_new_file(key_out, force);
      key = pki::PrivateKey::generate(take(pki::parse_key_algorithm(alg)), rng);
    }
    check_new_file(cert_out, force);
    pki::SignOptions opts{std::chrono::system_clock::now(), days_option(days), crl_urls};
    auto cert =
        take(pki::LocalCa::self_signed(subject, *key, *pki::find_profile("root-ca"), opts, rng));
    if (key_in.empty()) {
      auto st = key->save(key_out, no_encrypt ? nullptr : &*passphrase, rng);
      if (!st) fail(st.error(), kCannotWrite);
    }
    write_output(cert_out, cert.pem(), 0644);
    if (json) {
      auto j = to_json(cert.facts(), cert);
      j["cert_file"] = cert_out;
      if (key_in.empty()) j["key_file"] = key_out;
      if (in_token) {
        j["key_uri"] = key->token_uri();
        j["key_generated"] = !reuse_key;
      }
      print_json(j);
    } else {
      auto f = cert.facts();
      std::cout << "wrote root CA " << f.subject << " to " << cert_out << " (thumbprint "
                << f.sha1_thumbprint << ")\n";
      if (in_token)
        std::cout << (reuse_key ? "its key is in the token: "
                                : "its key was made in the token "
                                  "and cannot leave it: ")
                  << key->token_uri() << "\n";
    }
  }
};

struct Sign {
  std::string csr, ca_cert, ca_key, profile, out;
  std::vector<std::string> crl_urls;
  int days = 0;
  bool force = false, json = false;
  PassphraseOption pass;

  void run() const {
    const auto* prof = pki::find_profile(profile);
    if (!prof)
      fail(kBadInput,
           "--profile: unknown profile '" + profile + "' (" + pki::profile_names() + ")");
    auto request = take(pki::Csr::load(csr));
    auto passphrase = pass.get();
    auto ca = take(pki::LocalCa::create(
        take(pki::Certificate::load(ca_cert)),
        take(pki::PrivateKey::open(ca_key, passphrase ? &*passphrase : nullptr))));
    check_new_file(out, force);
    auto rng = pki::Rng::system();
    pki::SignOptions opts{std::chrono::system_clock::now(), days_option(days), crl_urls};
    auto cert = take(ca.sign(request, *prof, opts, rng));
    write_output(out, cert.pem(), 0644);
    if (json) {
      auto j = to_json(cert.facts(), cert);
      j["file"] = out;
      j["profile"] = prof->name;
      print_json(j);
    } else {
      auto f = cert.facts();
      std::cout << "signed " << f.subject << " under " << prof->name << ", valid until "
                << pki::format_rfc3339(f.not_after) << ", written to " << out << "\n";
    }
  }
};

}  // namespace

void add_ca_commands(CLI::App& app) {
  auto* ca = app.add_subcommand("ca", "a local CA: make a root, sign requests");
  ca->require_subcommand(1);
  auto r = std::make_shared<NewRoot>();
  auto* root =
      ca->add_subcommand("new-root", "generate a key and a self-signed root CA certificate");
  root->add_option("--subject", r->subject, "subject, e.g. \"CN=Contoso Root CA,O=Contoso,C=US\"")
      ->required();
  root->add_option("--key-out", r->key_out, "file for the new CA key (encrypted PKCS#8, 0600)");
  root->add_option("--key", r->key_in,
                   "use this existing key file instead of generating one; or a PKCS#11 URI "
                   "(pkcs11:token=T;object=K?module-path=M&pin-source=file:P) to generate the "
                   "key inside that token");
  root->add_flag("--reuse-key", r->reuse_key,
                 "with a pkcs11: --key, use the key already in the token instead of making one");
  root->add_option("--cert-out", r->cert_out, "file for the root certificate (PEM)")->required();
  root->add_option("--alg", r->alg, "key algorithm for a new key")->capture_default_str();
  root->add_option("--days", r->days, "validity in days (default 3650)")
      ->check(CLI::Range(engine::kValidityDaysBounds.min, engine::kValidityDaysBounds.max));
  root->add_option("--crl-url", r->crl_urls, "CRL distribution point to embed (repeatable)");
  root->add_flag("--no-encrypt", r->no_encrypt, "write the new key without encryption");
  root->add_flag("--force", r->force, "overwrite existing files");
  root->add_flag("--json", r->json, "machine-readable output");
  r->pass.add_to(*root);
  root->callback([r] { r->run(); });
  example(root,
          "pkiflow ca new-root --subject 'CN=Contoso Root CA,O=Contoso,C=US' --alg p384 "
          "--key-out root.key --cert-out root.pem --passphrase-file ca-passphrase");

  auto s = std::make_shared<Sign>();
  auto* sign = ca->add_subcommand("sign", "sign a CSR with a CA key under a profile");
  sign->add_option("--csr", s->csr, "the request (PEM or DER)")->required();
  sign->add_option("--ca-cert", s->ca_cert, "the CA certificate")->required();
  sign->add_option("--ca-key", s->ca_key, "the CA private key: a file, or a pkcs11: URI (an HSM)")
      ->required();
  sign->add_option("--profile", s->profile, "tls-inspection-ca, cba-ca, code-signing or root-ca")
      ->required();
  sign->add_option("--days", s->days, "validity in days (default: the profile's)")
      ->check(CLI::Range(engine::kValidityDaysBounds.min, engine::kValidityDaysBounds.max));
  sign->add_option("--out", s->out, "file for the certificate (PEM)")->required();
  sign->add_option("--crl-url", s->crl_urls, "CRL distribution point to embed (repeatable)");
  sign->add_flag("--force", s->force, "overwrite an existing file");
  sign->add_flag("--json", s->json, "machine-readable output");
  s->pass.add_to(*sign);
  sign->callback([s] { s->run(); });
  example(sign,
          "pkiflow ca sign --csr request.csr --ca-cert root.pem --ca-key root.key "
          "--profile cba-ca --days 1825 --out issuing.pem --passphrase-file ca-passphrase");
}

}  // namespace pkiflow::cli

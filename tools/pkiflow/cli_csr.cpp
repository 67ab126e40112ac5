// pkiflow csr new | csr show
#include <iostream>

#include "engine/pki/csr.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

struct CsrNew {
  std::string key_file, subject, out, key_usage, eku;
  std::vector<std::string> dns, emails, uris;
  bool ca = false, force = false, json = false;
  int path_len = -1;
  PassphraseOption pass;

  void run() const {
    auto passphrase = pass.get();
    auto key = take(pki::PrivateKey::load(key_file, passphrase ? &*passphrase : nullptr));
    pki::CsrSpec spec;
    spec.subject = subject;
    spec.dns_names = dns;
    spec.emails = emails;
    spec.uris = uris;
    if (!key_usage.empty()) spec.key_usage = take(pki::KeyUsageSet::parse(key_usage));
    for (size_t pos = 0; pos < eku.size();) {
      size_t comma = eku.find(',', pos);
      if (comma == std::string::npos) comma = eku.size();
      if (comma > pos) spec.ext_key_usage.push_back(eku.substr(pos, comma - pos));
      pos = comma + 1;
    }
    if (ca) spec.is_ca = true;
    if (path_len >= 0) spec.path_len = static_cast<std::size_t>(path_len);
    check_new_file(out, force);
    auto rng = pki::Rng::system();
    auto csr = take(pki::Csr::build(spec, key, rng));
    write_output(out, csr.pem(), 0644);
    if (json) {
      auto j = to_json(csr.facts());
      j["file"] = out;
      print_json(j);
    } else {
      std::cout << "wrote CSR for " << csr.subject() << " to " << out << "\n";
    }
  }
};

void print_csr(const std::string& file, bool json) {
  auto csr = take(pki::Csr::load(file));
  auto f = csr.facts();
  if (json) {
    print_json(to_json(f));
  } else {
    std::cout << "subject:    " << f.subject << "\n"
              << "key:        " << f.key.algorithm << " " << f.key.bits
              << (f.key.curve.empty() ? "" : " (" + f.key.curve + ")") << "\n"
              << "signature:  " << f.signature_algorithm << ", "
              << (f.signature_valid ? "verifies" : "DOES NOT VERIFY") << "\n";
    for (const auto& d : f.dns_names)
      std::cout << "dns:        " << d << "\n";
    auto ku = f.key_usage.names();
    if (!ku.empty()) {
      std::cout << "key usage:  ";
      for (size_t i = 0; i < ku.size(); ++i)
        std::cout << (i ? ", " : "") << ku[i];
      std::cout << "\n";
    }
    if (!f.ext_key_usage.empty()) {
      std::cout << "ext usage:  ";
      for (size_t i = 0; i < f.ext_key_usage.size(); ++i)
        std::cout << (i ? ", " : "") << f.ext_key_usage[i];
      std::cout << "\n";
    }
    if (f.is_ca) std::cout << "CA:         " << (*f.is_ca ? "requested" : "no") << "\n";
  }
  if (!f.signature_valid) fail(kBadInput, file + ": the CSR's self-signature does not verify");
}

}  // namespace

void add_csr_commands(CLI::App& app) {
  auto* csr = app.add_subcommand("csr", "certificate signing requests (PKCS#10)");
  csr->require_subcommand(1);
  auto o = std::make_shared<CsrNew>();
  auto* cmd = csr->add_subcommand("new", "build a CSR signed by a private key");
  cmd->add_option("--key", o->key_file, "private key file")->required();
  cmd->add_option("--subject", o->subject, "subject, e.g. \"CN=Contoso TLS CA,O=Contoso,C=US\"")
      ->required();
  cmd->add_option("--out", o->out, "file to write the CSR (PEM) to")->required();
  cmd->add_option("--dns", o->dns, "subjectAltName DNS name (repeatable)");
  cmd->add_option("--email", o->emails, "subjectAltName e-mail (repeatable)");
  cmd->add_option("--uri", o->uris, "subjectAltName URI (repeatable)");
  cmd->add_option("--key-usage", o->key_usage,
                  "requested key usage, e.g. digitalSignature,keyCertSign");
  cmd->add_option("--eku", o->eku, "requested extended key usage, e.g. serverAuth,codeSigning");
  cmd->add_flag("--ca", o->ca, "request CA:TRUE");
  cmd->add_option("--path-len", o->path_len, "requested pathLenConstraint (with --ca)");
  cmd->add_flag("--force", o->force, "overwrite an existing file");
  cmd->add_flag("--json", o->json, "machine-readable output");
  o->pass.add_to(*cmd);
  cmd->callback([o] { o->run(); });
  example(cmd,
          "pkiflow csr new --key issuing.key --subject 'CN=Contoso User CA,O=Contoso' --ca "
          "--path-len 0 --out issuing.csr --passphrase-file key-passphrase");

  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* show =
      csr->add_subcommand("show", "print what a CSR says and whether its signature verifies");
  show->add_option("file", *file, "CSR file (PEM or DER)")->required();
  show->add_flag("--json", *json, "machine-readable output");
  show->callback([file, json] { print_csr(*file, *json); });
  example(show, "pkiflow csr show issuing.csr");
}

}  // namespace pkiflow::cli

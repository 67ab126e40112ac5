// pkiflow cert show
#include <iostream>

#include "engine/pki/time_format.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

void print_text(const pki::CertFacts& f) {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
      s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("-") : s;
  };
  std::cout << "subject:            " << f.subject << "\n"
            << "issuer:             " << f.issuer << "\n"
            << "serial:             " << f.serial_hex << "\n"
            << "thumbprint (SHA-1): " << f.sha1_thumbprint << "\n"
            << "SHA-256:            " << f.sha256_thumbprint << "\n"
            << "not before:         " << pki::format_rfc3339(f.not_before) << "\n"
            << "not after:          " << pki::format_rfc3339(f.not_after) << "\n"
            << "CA:                 " << (f.is_ca ? "yes" : "no")
            << (f.path_len ? ", pathlen " + std::to_string(*f.path_len) : "") << "\n"
            << "key:                " << f.key.algorithm << " " << f.key.bits
            << (f.key.curve.empty() ? "" : " (" + f.key.curve + ")") << "\n"
            << "signature:          " << f.signature_algorithm << "\n"
            << "key usage:          " << list(f.key_usage.names())
            << (f.key_usage_critical ? " (critical)" : "") << "\n"
            << "extended key usage: " << list(f.ext_key_usage) << "\n"
            << "subject key id:     " << (f.subject_key_id.empty() ? "-" : f.subject_key_id) << "\n"
            << "authority key id:   " << (f.authority_key_id.empty() ? "-" : f.authority_key_id)
            << "\n"
            << "CRL URLs:           " << list(f.crl_urls) << "\n";
}

void show(const std::string& file, bool json) {
  auto certs = take(pki::Certificate::load_all(file));
  if (certs.empty()) fail(kBadInput, file + ": empty file, expected a certificate");
  if (json) {
    if (certs.size() == 1) {
      print_json(to_json(certs[0].facts(), certs[0]));
    } else {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& c : certs)
        arr.push_back(to_json(c.facts(), c));
      print_json(arr);
    }
    return;
  }
  for (std::size_t i = 0; i < certs.size(); ++i) {
    if (certs.size() > 1)
      std::cout << (i ? "\n" : "") << "certificate " << i + 1 << " of " << certs.size() << "\n";
    print_text(certs[i].facts());
  }
}

}  // namespace

void add_cert_commands(CLI::App& app) {
  auto* cert = app.add_subcommand("cert", "certificates");
  cert->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = cert->add_subcommand(
      "show", "print the facts pkiflow derives from a certificate (all of a bundle)");
  cmd->add_option("file", *file, "certificate file (PEM, one or many, or DER)")->required();
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([file, json] { show(*file, *json); });
  example(cmd, "pkiflow cert show chain.pem --json");
}

}  // namespace pkiflow::cli

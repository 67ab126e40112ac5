#include "engine/config_check.hpp"

#include <filesystem>
#include <set>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/pkcs11_uri.hpp"
#include "engine/signers/process.hpp"

namespace pkiflow::engine {

namespace {

class Checker {
 public:
  explicit Checker(const Config& c) : c_(c) {}

  void exists(const std::filesystem::path& p, const std::string& where) {
    if (p.empty()) return;
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
      out.push_back(
          {Error(ErrorKind::io, c_.file.string(), where + ": " + p.string() + " does not exist"),
           false});
  }

  void secret(const std::filesystem::path& p, const std::string& where) {
    if (p.empty() || fine_.count(p)) return;  // 10,000 tenants may share one secret file
    auto st = pki::check_private_file(p, where);
    if (st) {
      fine_.insert(p);
      return;
    }
    const bool missing = st.error().kind() == ErrorKind::io;
    const bool mode_only = !missing && pki::check_private_file(p, where, false).ok();
    out.push_back(
        {Error(st.error().kind(), c_.file.string(),
               missing ? where + ": " + p.string() + " does not exist" : st.error().message()),
         mode_only});
  }

  // A command signer's program: runnable as it will be run (its PATH, without a shell).
  void program(const SignerConfig& s, const std::string& where) {
    if (s.command.empty()) return;
    const std::string& name = s.command.front();
    auto env = s.environment.find("PATH");
    const std::string found = signers::find_program(
        name, env != s.environment.end() ? env->second : signers::kCommandPath);
    if (found.empty())
      out.push_back(
          {Error(ErrorKind::io, c_.file.string(),
                 where + ": " + name +
                     (name.find('/') != std::string::npos
                          ? " is not an executable file"
                          : " is not found on the PATH it runs with (" +
                                (env != s.environment.end() ? env->second
                                                            : std::string(signers::kCommandPath)) +
                                "); give its full path")),
           false});
  }

  std::vector<ConfigProblem> out;

 private:
  const Config& c_;
  std::set<std::filesystem::path> fine_;  // secret files found private already
};

}  // namespace

std::vector<ConfigProblem> check_config_files(const Config& c) {
  Checker k(c);
  k.exists(c.trust_anchors, "trust_anchors");
  k.secret(c.keys.passphrase_file, "keys.passphrase_file");
  k.secret(c.state_password_file, "state_password_file");
  for (const auto& t : c.tenants) {
    const std::string w = "tenants." + t.name;
    k.secret(t.auth->secret_file, w + ".auth.client_secret_file");
    k.exists(t.auth->certificate, w + ".auth.certificate");
    k.secret(t.auth->key, w + ".auth.key");
    k.secret(t.auth->key_passphrase_file, w + ".auth.key_passphrase_file");
    k.exists(t.extras->tls_ca_file, w + ".tls_ca_file");
  }
  for (const auto& s : c.signers) {
    const std::string w = "signers." + s.name;
    if (s.type == "offline") {
      k.exists(s.certificate, w + ".certificate");
      k.exists(s.chain, w + ".chain");
      continue;
    }
    if (s.type == "command") {
      k.program(s, w + ".command");
      k.exists(s.working_directory, w + ".working_directory");
      k.exists(s.chain, w + ".chain");
      continue;
    }
    k.exists(s.certificate, w + ".certificate");
    std::error_code ec;
    if (pki::is_pkcs11_uri(s.key.string())) {
      // The token itself is reached when a run makes the signer; here its module and PIN file.
      if (auto uri = pki::parse_pkcs11_uri(s.key.string())) {
        k.exists(uri->module_path, w + ".key (module-path)");
        if (!uri->pin_file.empty()) k.secret(uri->pin_file, w + ".key (pin-source)");
      }
    } else if (!s.offline_key || std::filesystem::exists(s.key, ec)) {
      k.secret(s.key, w + ".key");
    }
    k.exists(s.chain, w + ".chain");
    k.secret(s.passphrase_file, w + ".passphrase_file");
  }
  return std::move(k.out);
}

Status accept_config_files(const Config& c, bool allow_insecure_permissions,
                           const std::function<void(const Error&)>& read_anyway) {
  for (const auto& problem : check_config_files(c)) {
    if (!(problem.permissions && allow_insecure_permissions)) return problem.error;
    read_anyway(problem.error);
  }
  return Ok{};
}

}  // namespace pkiflow::engine

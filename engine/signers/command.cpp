// The `command` signer: an external program signs (openssl ca, a script around AD CS certreq or
// step-ca). It gets the CSR as a file and writes the certificate (and chain) to files named by
// placeholders; pkiflow then validates what it wrote like any other signer's output.
#include "engine/signers/command.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/signers/process.hpp"

namespace pkiflow::engine::signers {

namespace {

namespace fs = std::filesystem;

// The exit code that means "not yet, ask again later" (sysexits.h EX_TEMPFAIL): a CA that holds
// the request for approval (AD CS "pending"), or one that cannot be reached now.
constexpr int kPendingExit = 75;

const std::vector<std::string>& known_placeholders() {
  static const std::vector<std::string> names{"csr",  "cert",    "chain", "profile",
                                              "days", "subject", "record"};
  return names;
}

// The placeholders in an argv item: each "{name}" with a name of lower-case letters and '_',
// as (position, length, name).
struct Placeholder {
  std::size_t pos, len;
  std::string name;
};
std::vector<Placeholder> placeholders_in(const std::string& item) {
  std::vector<Placeholder> out;
  for (std::size_t open = item.find('{'); open != std::string::npos;
       open = item.find('{', open + 1)) {
    std::size_t end = open + 1;
    while (end < item.size() && ((item[end] >= 'a' && item[end] <= 'z') || item[end] == '_'))
      ++end;
    if (end > open + 1 && end < item.size() && item[end] == '}')
      out.push_back({open, end + 1 - open, item.substr(open + 1, end - open - 1)});
  }
  return out;
}

bool uses(const std::vector<std::string>& argv, const std::string& name) {
  for (const auto& a : argv)
    for (const auto& p : placeholders_in(a))
      if (p.name == name) return true;
  return false;
}

std::string substitute(const std::string& item, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t last = 0;
  for (const auto& p : placeholders_in(item)) {
    out += item.substr(last, p.pos - last);
    out += values.at(p.name);
    last = p.pos + p.len;
  }
  return out + item.substr(last);
}

// A private directory for one signing (0700), removed with everything in it.
class WorkDir {
 public:
  WorkDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/pkiflow-sign.XXXXXX";
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Result<std::string> read_small(const fs::path& p, std::size_t limit) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return std::string();
  if (size > limit)
    return Error(ErrorKind::invalid_input, p.filename().string(),
                 "is " + std::to_string(size) + " bytes; more than " + std::to_string(limit) +
                     " is not a certificate");
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class CommandSigner final : public Signer {
 public:
  explicit CommandSigner(CommandSettings s) : s_(std::move(s)) {}

  const std::string& name() const override { return s_.name; }
  bool acts_outside() const override { return true; }

  Result<Issued> sign(const SignRequest& req) override {
    const std::string who = "signer " + s_.name;
    WorkDir dir;
    if (dir.path().empty())
      return Error(ErrorKind::io, who, "cannot make a private temporary directory");
    const fs::path csr_file = dir.path() / "request.csr";
    const fs::path cert_file = dir.path() / "certificate.pem";
    const fs::path chain_file = dir.path() / "chain.pem";
    {
      std::ofstream out(csr_file, std::ios::binary);
      out << req.csr.pem();
      if (!out) return Error(ErrorKind::io, who, "cannot write the CSR to " + csr_file.string());
    }
    const std::map<std::string, std::string> values{{"csr", csr_file.string()},
                                                    {"cert", cert_file.string()},
                                                    {"chain", chain_file.string()},
                                                    {"profile", req.profile.name},
                                                    {"days", std::to_string(req.validity_days)},
                                                    {"subject", req.csr.subject()},
                                                    {"record", req.record_id}};
    ProcessSpec spec;
    for (const auto& item : s_.command)
      spec.argv.push_back(substitute(item, values));
    spec.env = s_.environment;
    if (!spec.env.count("PATH")) spec.env["PATH"] = kCommandPath;
    spec.env["PKIFLOW_SIGN_DIR"] = dir.path().string();
    spec.working_directory = s_.working_directory;
    spec.timeout = s_.timeout;
    auto ran = run_process(spec);
    if (!ran) return ran.error().about(who);
    const std::string said = last_lines(ran->err_tail, 5);
    const std::string tail = said.empty() ? "" : "; it said: " + said;
    const std::string cmd = "its command (" + s_.command.front() + ")";
    if (ran->timed_out)
      return Error(ErrorKind::unavailable, who,
                   cmd + " did not finish within " + std::to_string(s_.timeout.count() / 1000) +
                       " s and was stopped; the record is tried again on a later run" + tail);
    if (ran->out_truncated)
      return Error(ErrorKind::remote, who,
                   cmd + " wrote more than " + std::to_string(spec.max_stdout) +
                       " bytes to its output and was stopped" + tail);
    if (ran->exit_code == kPendingExit)
      return Error(ErrorKind::unavailable, who,
                   "pending: " + cmd +
                       " exited with 75 (not yet signed; asked again on a later "
                       "run)" +
                       tail);
    if (ran->signal != 0)
      return Error(ErrorKind::remote, who,
                   cmd + " was ended by signal " + std::to_string(ran->signal) + tail);
    if (ran->exit_code != 0)
      return Error(ErrorKind::remote, who,
                   cmd + " failed with exit code " + std::to_string(ran->exit_code) + tail);

    // The certificate: the {cert} file, else what it printed.
    std::string cert_text = ran->out;
    if (uses(s_.command, "cert")) {
      auto read = read_small(cert_file, kMaxCertificateFile);
      if (!read) return read.error().about(who);
      cert_text = std::move(*read);
    }
    auto certs = pki::Certificate::decode_all(pki::Bytes(cert_text.begin(), cert_text.end()));
    if (!certs || certs->empty())
      return Error(ErrorKind::parse, who,
                   cmd + " exited 0 but left no certificate " +
                       (uses(s_.command, "cert") ? "in {cert}" : "on its output") +
                       (certs ? std::string() : " (" + certs.error().message() + ")") + tail);
    Issued issued{std::move(certs->front()), {}};
    // The chain: the {chain} file, else the certificates after the first, else the configured
    // chain file.
    if (uses(s_.command, "chain")) {
      auto read = read_small(chain_file, kMaxCertificateFile);
      if (!read) return read.error().about(who);
      if (!read->empty()) {
        auto chain = pki::Certificate::decode_all(pki::Bytes(read->begin(), read->end()));
        if (!chain) return chain.error().about(who + ": the chain it wrote");
        issued.chain = std::move(*chain);
      }
    }
    if (issued.chain.empty()) issued.chain.assign(certs->begin() + 1, certs->end());
    if (issued.chain.empty() && !s_.chain.empty()) {
      auto chain = pki::Certificate::load_all(s_.chain);
      if (!chain) return chain.error().about(who);
      issued.chain = std::move(*chain);
    }
    return issued;
  }

 private:
  CommandSettings s_;
};

}  // namespace

Status check_command(const std::vector<std::string>& command) {
  if (command.empty() || command.front().empty())
    return Error(ErrorKind::invalid_input, "command", "must name a program to run");
  for (const auto& item : command)
    for (const auto& p : placeholders_in(item)) {
      const std::string& name = p.name;
      bool known = false;
      for (const auto& k : known_placeholders())
        known = known || k == name;
      if (!known)
        return Error(ErrorKind::invalid_input, "command",
                     "unknown placeholder {" + name +
                         "} (known: {csr}, {cert}, {chain}, {profile}, {days}, {subject}, "
                         "{record})");
    }
  if (!uses(command, "csr"))
    return Error(ErrorKind::invalid_input, "command",
                 "never names the request: put {csr} (the CSR file) in one of its items");
  return Ok{};
}

Result<std::unique_ptr<Signer>> make_command_signer(CommandSettings settings) {
  if (auto st = check_command(settings.command); !st)
    return st.error().about("signers." + settings.name);
  return std::unique_ptr<Signer>(std::make_unique<CommandSigner>(std::move(settings)));
}

}  // namespace pkiflow::engine::signers

#include "engine/signers/local_ca.hpp"

#include "engine/pki/key.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/rng.hpp"

namespace pkiflow::engine::signers {

namespace {

class LocalCaSigner : public Signer {
 public:
  LocalCaSigner(std::string name, pki::LocalCa ca, std::vector<pki::Certificate> chain,
                std::vector<std::string> crl_urls, bool in_token)
      : name_(std::move(name)),
        ca_(std::move(ca)),
        chain_(std::move(chain)),
        crl_urls_(std::move(crl_urls)),
        in_token_(in_token) {}

  const std::string& name() const override { return name_; }
  // A key in an HSM signs outside this process (and an HSM may log every signature): a dry run
  // does not sign with it.
  bool acts_outside() const override { return in_token_; }

  Result<Issued> sign(const SignRequest& req) override {
    pki::SignOptions opts;
    opts.not_before = req.now - std::chrono::minutes(5);  // tolerate clocks slightly behind
    opts.validity = std::chrono::days(req.validity_days);
    opts.crl_urls = crl_urls_;
    auto rng = pki::Rng::system();
    auto cert = ca_.sign(req.csr, req.profile, opts, rng);
    if (!cert) return cert.error().about("signer " + name_);
    Issued out{std::move(*cert), {}};
    out.chain.push_back(ca_.certificate());
    for (const auto& c : chain_)
      if (!c.same_as(ca_.certificate())) out.chain.push_back(c);
    return out;
  }

 private:
  std::string name_;
  pki::LocalCa ca_;
  std::vector<pki::Certificate> chain_;
  std::vector<std::string> crl_urls_;
  bool in_token_;
};

}  // namespace

Result<std::unique_ptr<Signer>> make_local_ca_signer(const LocalCaSettings& s) {
  auto key = pki::PrivateKey::open(s.key, s.passphrase ? &*s.passphrase : nullptr);
  if (!key) return key.error().about("signer " + s.name);
  return make_local_ca_signer(s, std::move(*key));
}

Result<std::unique_ptr<Signer>> make_local_ca_signer(const LocalCaSettings& s,
                                                     pki::PrivateKey key) {
  auto cert = pki::Certificate::load(s.certificate);
  if (!cert) return cert.error();
  const bool in_token = !key.token_uri().empty();
  auto ca = pki::LocalCa::create(*cert, std::move(key));
  if (!ca) return ca.error().about("signer " + s.name + " (" + s.certificate.string() + ")");
  std::vector<pki::Certificate> chain;
  if (s.chain) {
    auto all = pki::Certificate::load_all(*s.chain);
    if (!all) return all.error();
    chain = std::move(*all);
  }
  return std::unique_ptr<Signer>(std::make_unique<LocalCaSigner>(
      s.name, std::move(*ca), std::move(chain), s.crl_urls, in_token));
}

namespace {

class OfflineKeySigner final : public Signer {
 public:
  OfflineKeySigner(std::string name, std::filesystem::path key)
      : name_(std::move(name)), key_(std::move(key)) {}
  const std::string& name() const override { return name_; }
  Result<Issued> sign(const SignRequest&) override {
    return Error(ErrorKind::unavailable, "signer " + name_, unavailable());
  }
  std::string unavailable() const override {
    return "signer " + name_ + " keeps its key offline and " + key_.string() +
           " is not on this host now; bring it online and run again, or sign the CSR elsewhere "
           "(pkiflow show ID --csr) and `pkiflow import` the certificate";
  }

 private:
  std::string name_;
  std::filesystem::path key_;
};

}  // namespace

std::unique_ptr<Signer> make_offline_key_signer(std::string name, std::filesystem::path key) {
  return std::make_unique<OfflineKeySigner>(std::move(name), std::move(key));
}

namespace {

class OfflineBundleSigner final : public Signer {
 public:
  explicit OfflineBundleSigner(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  Result<Issued> sign(const SignRequest&) override {
    return Error(ErrorKind::unavailable, "signer " + name_, unavailable());
  }
  std::string unavailable() const override {
    return "waiting for an offline signature: signer " + name_ +
           " is a CA on an air-gapped host; `pkiflow bundle export DIR` takes the CSR there";
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<Signer> make_offline_bundle_signer(std::string name) {
  return std::make_unique<OfflineBundleSigner>(std::move(name));
}

}  // namespace pkiflow::engine::signers

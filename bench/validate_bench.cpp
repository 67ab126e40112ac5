// validate_bench: chains validated per second on one core.
//   validate_bench [N=1000] [--seconds S=1.5] [--openssl-processes K=40]
// Builds N 3-certificate chains (root -> intermediate -> leaf, every certificate distinct) once
// per key type (RSA-2048, P-256), then times on the same parsed chains:
//   pkiflow single   Validator::validate, one chain at a time (a fresh Validator per pass, so
//                    nothing is remembered from an earlier pass over the same chains)
//   pkiflow batch    validate_all(..., jobs=1) (and jobs=2 for reference)
//   Botan bare       Botan::x509_path_validate with an in-memory store
//   OpenSSL          X509_verify_cert in-process
//   openssl verify   a loop of `openssl verify` processes
// and prints the ratios. Objects are parsed once; only validation is timed.
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <botan/certstor.h>
#include <botan/x509path.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/validate/batch.hpp"
#include "engine/pki/validate/validator.hpp"

using namespace pkiflow::pki;
using Clock = std::chrono::steady_clock;

namespace {

struct Chains {
  std::string name;
  Certificate root;
  std::vector<Certificate> intermediates;
  std::vector<Certificate> leaves;
};

// Keys are reused across chains (key generation is not what we measure); every certificate,
// and so every signature, is distinct.
Chains build(const std::string& name, KeyAlgorithm alg, std::size_t n) {
  Rng rng = Rng::deterministic(42);
  auto now = std::chrono::system_clock::now();
  auto root_key = PrivateKey::generate(alg, rng);
  auto root = *LocalCa::self_signed("CN=Bench Root,O=pkiflow", root_key, *find_profile("root-ca"),
                                    {now, std::chrono::days(3650), {}}, rng);
  auto root_ca = *LocalCa::create(root, root_key);
  std::vector<PrivateKey> int_keys, leaf_keys;
  for (int i = 0; i < 4; ++i) {
    int_keys.push_back(PrivateKey::generate(alg, rng));
    leaf_keys.push_back(PrivateKey::generate(alg, rng));
  }
  Chains c{name, root, {}, {}};
  for (std::size_t i = 0; i < n; ++i) {
    CsrSpec spec;
    spec.subject = "CN=Bench Issuing CA " + std::to_string(i) + ",O=pkiflow";
    auto int_csr = *Csr::build(spec, int_keys[i % 4], rng);
    auto inter =
        *root_ca.sign(int_csr, *find_profile("cba-ca"), {now, std::chrono::days(1800), {}}, rng);
    auto int_ca = *LocalCa::create(inter, int_keys[i % 4]);
    spec.subject = "CN=Bench Leaf " + std::to_string(i) + ",O=pkiflow";
    auto leaf_csr = *Csr::build(spec, leaf_keys[i % 4], rng);
    c.leaves.push_back(*int_ca.sign(leaf_csr, *find_profile("code-signing"),
                                    {now, std::chrono::days(365), {}}, rng));
    c.intermediates.push_back(inter);
  }
  return c;
}

// Runs `pass` (which validates every chain once) until `seconds` have passed; chains/s.
double rate(std::size_t n, double seconds, const std::function<std::size_t()>& pass) {
  std::size_t done = 0, ok = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    ok += pass();
    done += n;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  if (ok != done) std::printf("  (warning: %zu of %zu validations failed)\n", done - ok, done);
  return static_cast<double>(done) / elapsed;
}

X509* to_openssl(const Certificate& c) {
  auto der = c.der();
  const unsigned char* p = der.data();
  return d2i_X509(nullptr, &p, static_cast<long>(der.size()));
}

double openssl_processes(const Chains& c, int k) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("pkiflow-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const fs::path& p, const std::string& s) {
    std::FILE* f = std::fopen(p.c_str(), "w");
    std::fputs(s.c_str(), f);
    std::fclose(f);
  };
  write(dir / "root.pem", c.root.pem());
  write(dir / "int.pem", c.intermediates[0].pem());
  write(dir / "leaf.pem", c.leaves[0].pem());
  std::string cmd = "openssl verify -CAfile '" + (dir / "root.pem").string() + "' -untrusted '" +
                    (dir / "int.pem").string() + "' '" + (dir / "leaf.pem").string() +
                    "' >/dev/null 2>&1";
  auto start = Clock::now();
  int ok = 0;
  for (int i = 0; i < k; ++i)
    ok += std::system(cmd.c_str()) == 0;
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  fs::remove_all(dir);
  if (ok != k) std::printf("  (warning: openssl verify failed %d times)\n", k - ok);
  return k / s;
}

void run(const Chains& c, double seconds, int processes) {
  const std::size_t n = c.leaves.size();
  const auto at = std::chrono::system_clock::now();
  std::printf("\n%s: %zu chains (root -> intermediate -> leaf), %.1f s per measurement\n",
              c.name.c_str(), n, seconds);

  auto trust = std::make_shared<const TrustStore>(std::vector<Certificate>{c.root});
  std::vector<ValidationRequest> reqs;
  for (std::size_t i = 0; i < n; ++i)
    reqs.push_back({c.leaves[i], {c.intermediates[i]}, trust, std::nullopt, nullptr, {}, at, 30});

  // Every pass starts cold (a new Validator): repeated passes over the same chains must not
  // be answered from the signature memo of the previous pass.
  double single = rate(n, seconds, [&] {
    Validator validator;
    std::size_t ok = 0;
    for (const auto& r : reqs)
      ok += validator.validate(r).verdict() == Verdict::valid;
    return ok;
  });
  double batch1 = rate(n, seconds, [&] {
    std::size_t ok = 0;
    for (const auto& r : validate_all(reqs, {}, 1))
      ok += r.verdict() == Verdict::valid;
    return ok;
  });
  double batch2 = rate(n, seconds, [&] {
    std::size_t ok = 0;
    for (const auto& r : validate_all(reqs, {}, 2))
      ok += r.verdict() == Verdict::valid;
    return ok;
  });

  Botan::Certificate_Store_In_Memory store;
  store.add_certificate(botan(c.root));
  Botan::Path_Validation_Restrictions restrictions;
  std::vector<std::vector<Botan::X509_Certificate>> botan_chains;
  for (std::size_t i = 0; i < n; ++i)
    botan_chains.push_back({botan(c.leaves[i]), botan(c.intermediates[i])});
  double bare = rate(n, seconds, [&] {
    std::size_t ok = 0;
    for (const auto& chain : botan_chains)
      ok += Botan::x509_path_validate(chain, restrictions, store, "",
                                      Botan::Usage_Type::UNSPECIFIED, at)
                .successful_validation();
    return ok;
  });

  X509_STORE* ostore = X509_STORE_new();
  X509* oroot = to_openssl(c.root);
  X509_STORE_add_cert(ostore, oroot);
  std::vector<X509*> oleaves, oints;
  for (std::size_t i = 0; i < n; ++i) {
    oleaves.push_back(to_openssl(c.leaves[i]));
    oints.push_back(to_openssl(c.intermediates[i]));
  }
  double ossl = rate(n, seconds, [&] {
    std::size_t ok = 0;
    for (std::size_t i = 0; i < n; ++i) {
      STACK_OF(X509)* untrusted = sk_X509_new_null();
      sk_X509_push(untrusted, oints[i]);
      X509_STORE_CTX* ctx = X509_STORE_CTX_new();
      X509_STORE_CTX_init(ctx, ostore, oleaves[i], untrusted);
      ok += X509_verify_cert(ctx) == 1;
      X509_STORE_CTX_free(ctx);
      sk_X509_free(untrusted);
    }
    return ok;
  });
  for (auto* x : oleaves)
    X509_free(x);
  for (auto* x : oints)
    X509_free(x);
  X509_free(oroot);
  X509_STORE_free(ostore);

  double procs = openssl_processes(c, processes);

  std::printf("  %-34s %10.0f chains/s\n", "pkiflow validator, single", single);
  std::printf("  %-34s %10.0f chains/s\n", "pkiflow batch, 1 thread", batch1);
  std::printf("  %-34s %10.0f chains/s\n", "pkiflow batch, 2 threads", batch2);
  std::printf("  %-34s %10.0f chains/s\n", "Botan 3 x509_path_validate (bare)", bare);
  std::printf("  %-34s %10.0f chains/s\n", "OpenSSL X509_verify_cert (in-process)", ossl);
  std::printf("  %-34s %10.1f chains/s\n", "`openssl verify` processes", procs);
  std::printf("  ratio pkiflow single / Botan bare      %6.2f  (target >= 0.90)\n", single / bare);
  std::printf("  ratio pkiflow batch(1) / Botan bare    %6.2f\n", batch1 / bare);
  std::printf("  ratio pkiflow batch(1) / OpenSSL       %6.2f\n", batch1 / ossl);
  std::printf("  ratio pkiflow batch(2) / OpenSSL       %6.2f\n", batch2 / ossl);
  std::printf("  ratio pkiflow single / openssl verify  %6.0f\n", single / procs);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 1000;
  double seconds = 1.5;
  int processes = 40;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--openssl-processes" && i + 1 < argc)
      processes = std::atoi(argv[++i]);
    else
      n = static_cast<std::size_t>(std::atol(argv[i]));
  }
  std::printf("validate_bench: one core unless stated; Botan %s\n", "3");
  run(build("RSA-2048", KeyAlgorithm::rsa2048, n), seconds, processes);
  run(build("ECDSA P-256", KeyAlgorithm::p256, n), seconds, processes);
  return 0;
}

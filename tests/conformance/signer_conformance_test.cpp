// The signer contract (issue 13, part 4), one suite every signer passes: the local CA key file,
// the same CA with its key in a PKCS#11 token (SoftHSM2), the command signer (openssl ca,
// samples/signers/), and the offline bundle (a signer that says "pending", and the bundle's
// round trip that signs for it). Each one signs under every profile
// a certificate that validates for upload, never copies an extension from the request, and
// never signs beyond its CA's validity; a CSR whose self-signature is bad reaches none of them.
#include <boost/test/unit_test.hpp>
#include <functional>

#include "engine/bundle/bundle.hpp"
#include "engine/pki/detached_signature.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/record_id.hpp"
#include "engine/signers/command.hpp"
#include "engine/signers/local_ca.hpp"
#include "engine/workflow.hpp"
#include "tests/support/softhsm.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace signer_conformance_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::TempDir;
using pkiflow::test::write_file;

namespace {

using SysClock = std::chrono::system_clock;

// A CA for the signers under test: a P-256 root valid for 400 days, its key and certificate in
// files (the local CA and the bundle read those) and in an `openssl ca` directory.
struct TestCa {
  TempDir dir;
  pki::Rng rng = pki::Rng::system();
  pki::PrivateKey key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  pki::Certificate cert = *pki::LocalCa::self_signed(
      "CN=Conformance Root,O=Lab", key, *pki::find_profile("root-ca"),
      {SysClock::now() - std::chrono::hours(1), std::chrono::days(400), {}}, rng);
  TestCa() {
    write_file(dir / "ca.pem", cert.pem());
    BOOST_TEST_REQUIRE(key.save(dir / "ca.key", nullptr, rng).ok());
    test::make_openssl_ca_dir(dir / "ca", dir / "ca.pem", dir / "ca.key");
  }
  std::shared_ptr<const pki::TrustStore> trust() const {
    return std::make_shared<pki::TrustStore>(std::vector<pki::Certificate>{cert});
  }
};

// The record-independent part of a signer under test: sign one request.
using SignFn = std::function<Result<Issued>(const pki::Csr&, const std::string& profile, int days)>;

struct SignerUnderTest {
  std::string name;
  std::function<SignFn(const TestCa&)> make;
};

Result<Issued> sign_with(Signer& s, const pki::Csr& csr, const std::string& profile, int days) {
  return s.sign(
      SignRequest{csr, *pki::find_profile(profile), days, SysClock::now(), "REC0000000000001"});
}

std::vector<SignerUnderTest> signers_under_test() {
  return {
      {"local-ca",
       [](const TestCa& ca) -> SignFn {
         signers::LocalCaSettings s;
         s.name = "file";
         s.certificate = ca.dir / "ca.pem";
         s.key = (ca.dir / "ca.key").string();
         std::shared_ptr<Signer> signer = std::move(*signers::make_local_ca_signer(s));
         return [signer](const pki::Csr& csr, const std::string& p, int d) {
           return sign_with(*signer, csr, p, d);
         };
       }},
      {"local-ca, key in a PKCS#11 token",
       [](const TestCa& ca) -> SignFn {
         // The CA's key imported into a SoftHSM2 token by OpenSC's tool, as an admin moves an
         // existing CA key into an HSM; pkiflow then reaches it only through its URI.
         auto dir = std::make_shared<TempDir>();
         auto hsm = std::make_shared<test::SoftHsm>(dir->path());
         hsm->import_key(ca.dir / "ca.key", "ca");
         signers::LocalCaSettings s;
         s.name = "hsm";
         s.certificate = ca.dir / "ca.pem";
         s.key = hsm->uri("ca");
         auto made = signers::make_local_ca_signer(s);
         BOOST_TEST_REQUIRE(made.ok(), test::why(made));
         // Held in this order so the signer (its token session) goes first, the token after.
         struct Held {
           std::shared_ptr<TempDir> dir;
           std::shared_ptr<test::SoftHsm> hsm;
           std::unique_ptr<Signer> signer;
         };
         auto held = std::make_shared<Held>(Held{dir, hsm, std::move(*made)});
         return [held](const pki::Csr& csr, const std::string& p, int d) {
           return sign_with(*held->signer, csr, p, d);
         };
       }},
      {"command (openssl ca)",
       [](const TestCa& ca) -> SignFn {
         signers::CommandSettings s;
         s.name = "openssl";
         s.command = {std::string(PKIFLOW_SOURCE_DIR) + "/samples/signers/openssl-ca.sh",
                      (ca.dir / "ca").string(),
                      "{csr}",
                      "{cert}",
                      "{chain}",
                      "{profile}",
                      "{days}"};
         std::shared_ptr<Signer> signer = std::move(*signers::make_command_signer(s));
         return [signer](const pki::Csr& csr, const std::string& p, int d) {
           return sign_with(*signer, csr, p, d);
         };
       }},
      {"offline bundle",
       [](const TestCa& ca) -> SignFn {
         // Out, signed on the "offline host" by the local CA code, and back in, checked whole.
         return [&ca](const pki::Csr& csr, const std::string& p, int d) -> Result<Issued> {
           TempDir work;
           const auto dir = work / "bundle";
           bundle::Entry e;
           e.record_id = "REC0000000000001";
           e.name = "conformance";
           e.kind = "cba-ca";
           e.tenant = "lab";
           e.profile = p;
           e.validity_days = d;
           e.subject = csr.subject();
           e.key = bundle::describe_key(csr.public_key());
           auto rng = pki::Rng::system();
           auto written =
               bundle::write_bundle(dir, new_record_id(rng), {{e, csr.pem()}}, SysClock::now());
           if (!written) return written.error();
           auto out = bundle::read_bundle(dir);
           if (!out) return out.error();
           signers::LocalCaSettings s;
           s.name = "offline";
           s.certificate = ca.dir / "ca.pem";
           s.key = (ca.dir / "ca.key").string();
           auto signer = signers::make_local_ca_signer(s);
           if (!signer) return signer.error();
           auto sm =
               bundle::sign_bundle(dir, *out, **signer, ca.cert, ca.key, SysClock::now(), rng);
           if (!sm) return sm.error();
           auto back = bundle::read_signed_bundle(dir);
           if (!back) return back.error();
           return back->issued.at(e.record_id);
         };
       }},
  };
}

pki::Csr request(const pki::CsrSpec& spec) {
  auto rng = pki::Rng::system();
  auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
  return *pki::Csr::build(spec, key, rng);
}

pki::Csr request(const std::string& subject) {
  pki::CsrSpec spec;
  spec.subject = subject;
  return request(spec);
}

// The DER of a CSR with one bit of its signature flipped.
pki::Bytes with_bad_signature(const pki::Csr& csr) {
  const std::string pem = csr.pem();
  auto objects = pki::decode_objects(pki::Bytes(pem.begin(), pem.end()));
  BOOST_TEST_REQUIRE((objects.ok() && objects->size() == 1u));
  auto der = objects->front().der;
  der.back() ^= 0x01;
  return der;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(signer_conformance)

BOOST_AUTO_TEST_CASE(every_signer_signs_under_every_profile_what_validates_for_upload) {
  TestCa ca;
  for (const auto& s : signers_under_test()) {
    const auto sign = s.make(ca);
    for (const char* profile : {"tls-inspection-ca", "cba-ca", "code-signing"}) {
      BOOST_TEST_CONTEXT(s.name << ", " << profile) {
        auto csr = request("CN=Conformance " + std::string(profile) + ",O=Lab");
        auto issued = sign(csr, profile, 200);
        BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
        BOOST_TEST(issued->certificate.subject() == csr.subject());
        BOOST_TEST(issued->certificate.facts().key.spki_der == csr.public_key().spki_der);
        BOOST_TEST_REQUIRE(!issued->chain.empty());
        BOOST_TEST(issued->chain.front().same_as(ca.cert));
        auto st = validate_for_upload(issued->certificate, issued->chain, csr,
                                      *pki::find_profile(profile), ca.trust(), SysClock::now(),
                                      "conformance");
        BOOST_TEST(st.ok(), test::why(st));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_csr_whose_self_signature_is_bad_reaches_no_signer) {
  TestCa ca;
  const auto bad = with_bad_signature(request("CN=Tampered,O=Lab"));
  // Every signer takes a pki::Csr, and none can be made of such bytes: one gate for all.
  auto decoded = pki::Csr::decode(bad);
  BOOST_TEST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.error().what().find("self-signature does not verify") != std::string::npos);
  // The command recipe run on its own (as an admin might) refuses it too.
  TempDir work;
  write_file(work / "bad.csr", pki::pem_encode(bad, "CERTIFICATE REQUEST"));
  auto r = run(quote(std::string(PKIFLOW_SOURCE_DIR) + "/samples/signers/openssl-ca.sh") + " " +
               quote(ca.dir / "ca") + " " + quote(work / "bad.csr") + " " + quote(work / "c.pem") +
               " " + quote(work / "chain.pem") + " cba-ca 30");
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST((!test::fs::exists(work / "c.pem") || test::read_file(work / "c.pem").empty()));
  // A bundle whose CSR was swapped for such bytes on the way (its hash made to match) is
  // refused on the offline host before anything is signed.
  const auto dir = work / "bundle";
  auto good = request("CN=Tampered,O=Lab");
  bundle::Entry e;
  e.record_id = "REC0000000000001";
  e.name = "conformance";
  e.kind = "cba-ca";
  e.tenant = "lab";
  e.profile = "cba-ca";
  e.validity_days = 30;
  e.subject = good.subject();
  e.key = bundle::describe_key(good.public_key());
  auto rng = pki::Rng::system();
  BOOST_TEST_REQUIRE(
      bundle::write_bundle(dir, new_record_id(rng), {{e, good.pem()}}, SysClock::now()).ok());
  const std::string bad_pem = pki::pem_encode(bad, "CERTIFICATE REQUEST");
  write_file(dir / "REC0000000000001.csr", bad_pem);
  std::string manifest = test::read_file(dir / "manifest.json");
  const std::string old_hash = pki::sha256_hex(good.pem());
  manifest.replace(manifest.find(old_hash), old_hash.size(), pki::sha256_hex(bad_pem));
  write_file(dir / "manifest.json", manifest);
  auto out = bundle::read_bundle(dir);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST(out.error().what().find("self-signature does not verify") != std::string::npos,
             out.error().what());
}

BOOST_AUTO_TEST_CASE(no_signer_copies_an_extension_from_the_request) {
  TestCa ca;
  pki::CsrSpec spec;
  spec.subject = "CN=Greedy,O=Lab";
  spec.is_ca = true;  // a code-signing request that asks to be a CA
  spec.path_len = 5;
  spec.dns_names = {"evil.example"};
  spec.ext_key_usage = {"serverAuth"};
  const auto csr = request(spec);
  for (const auto& s : signers_under_test()) {
    BOOST_TEST_CONTEXT(s.name) {
      auto issued = s.make(ca)(csr, "code-signing", 30);
      BOOST_TEST_REQUIRE(issued.ok(), test::why(issued));
      const auto f = issued->certificate.facts();
      BOOST_TEST(!f.is_ca);
      BOOST_TEST(f.dns_names.empty());
      BOOST_TEST(f.ext_key_usage == std::vector<std::string>{"codeSigning"});
    }
  }
}

BOOST_AUTO_TEST_CASE(no_signer_signs_beyond_its_cas_validity) {
  TestCa ca;  // valid for 400 days
  const auto csr = request("CN=Too long,O=Lab");
  for (const auto& s : signers_under_test()) {
    BOOST_TEST_CONTEXT(s.name) {
      auto issued = s.make(ca)(csr, "cba-ca", 500);
      BOOST_TEST_REQUIRE(!issued.ok());
      BOOST_TEST(issued.error().what().find("outlive") != std::string::npos, issued.error().what());
    }
  }
}

BOOST_AUTO_TEST_CASE(an_offline_signer_reports_pending_and_never_signs_on_this_host) {
  auto signer = signers::make_offline_bundle_signer("vault");
  BOOST_TEST(signer->unavailable().find("pkiflow bundle export") != std::string::npos);
  auto issued = sign_with(*signer, request("CN=Waits,O=Lab"), "cba-ca", 30);
  BOOST_TEST_REQUIRE(!issued.ok());
  BOOST_TEST(issued.error().kind() == ErrorKind::unavailable);  // waiting, not failed
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace signer_conformance_test

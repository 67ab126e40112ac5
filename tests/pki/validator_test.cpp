// Chain validation against fixtures made by openssl (tests/fixtures/make-openssl-chains.sh):
// pkiflow must reject what `openssl verify -x509_strict` rejects, and say why.
#include <boost/test/unit_test.hpp>

#include "engine/pki/local_ca.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/validator.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace validator_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::openssl_fixtures;
using pkiflow::test::quote;
using pkiflow::test::run;

namespace {

auto fx(const std::string& name) {
  return openssl_fixtures() / name;
}

struct Inputs {
  std::string cert{};
  std::string chain{};  // "" = none
  std::string trust = "root.pem";
  std::string csr{};
  const char* profile = nullptr;
  std::vector<std::string> crls{};
  std::string at{};  // "" = now
};

ValidationRequest make(const Inputs& in) {
  ValidationRequest r{*Certificate::load(fx(in.cert)),  {}, nullptr, std::nullopt, nullptr, {},
                      std::chrono::system_clock::now(), 30};
  if (!in.chain.empty()) r.chain = *Certificate::load_all(fx(in.chain));
  r.trust = std::make_shared<const TrustStore>(*TrustStore::load(fx(in.trust).string()));
  if (!in.csr.empty()) r.csr = *Csr::load(fx(in.csr));
  if (in.profile) r.profile = find_profile(in.profile);
  for (const auto& c : in.crls)
    for (auto& x : *Crl::load_all(fx(c)))
      r.crls.push_back(x);
  if (!in.at.empty()) r.at = *parse_rfc3339(in.at);
  return r;
}

ChainReport validate(const Inputs& in) {
  return Validator().validate(make(in));
}

std::string failures(const ChainReport& r) {
  std::string s;
  for (const auto& x : r.results)
    if (x.outcome == Outcome::fail) s += x.rule + ": " + x.reason + "\n";
  return s.empty() ? "(none)" : s;
}

// openssl verify with the same inputs: exit status 0 = valid.
bool openssl_accepts(const Inputs& in, const std::string& extra = "") {
  std::string cmd = "openssl verify -x509_strict " + extra + " -CAfile " + quote(fx(in.trust));
  if (!in.chain.empty()) cmd += " -untrusted " + quote(fx(in.chain));
  return run(cmd + " " + quote(fx(in.cert))).exit_code == 0;
}

// Writes a copy of a certificate with one byte of its signature flipped.
std::string corrupt_signature(const std::string& name) {
  auto out = fx("badsig-" + name);
  if (!std::filesystem::exists(out)) {
    auto der = Certificate::load(fx(name))->der();
    der.back() ^= 0x01;
    pkiflow::test::write_file(out, pem_encode(der, "CERTIFICATE"));
  }
  return out.filename().string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(validator)

BOOST_AUTO_TEST_CASE(a_good_openssl_chain_is_valid_for_both_tools) {
  Inputs in{"leaf.pem", "chain.pem"};
  auto r = validate(in);
  BOOST_TEST((r.verdict() == Verdict::valid), failures(r));
  BOOST_TEST(openssl_accepts(in, "-purpose sslserver"));
  BOOST_TEST(r.path.size() == 3u);
  BOOST_TEST(r.path[1].source == "chain");
  BOOST_TEST(r.path[2].source == "trust");
  BOOST_TEST(r.find("path.signature", Outcome::pass) != nullptr);
}

BOOST_AUTO_TEST_CASE(broken_chains_are_rejected_as_openssl_rejects_them_with_the_reason) {
  struct Case {
    const char* sentence;
    Inputs in;
    const char* rule;    // must fail
    const char* reason;  // must appear in that rule's reason
  };
  const Case cases[] = {
      {"an expired leaf is rejected",
       {"leaf.pem", "chain.pem", "root.pem", "", nullptr, {}, "2031-01-01T00:00:00Z"},
       "path.validity",
       "expired on"},
      {"a leaf from another PKI has no issuer",
       {"wrongissuer.pem", "chain.pem"},
       "path.build",
       "no issuer of"},
      {"a missing intermediate leaves no path",
       {"leaf.pem", "empty.pem"},
       "path.build",
       "'CN=Contoso Test Issuing CA,O=Contoso'"},
      {"an intermediate with CA:FALSE cannot issue",
       {"leaf-cafalse.pem", "chain-cafalse.pem"},
       "path.issuer-is-ca",
       "is not a CA"},
      {"an exceeded path length is caught",
       {"leaf-pathlen.pem", "chain-pathlen.pem"},
       "path.length",
       "pathLenConstraint"},
      {"a bad signature is caught",
       {"", "chain.pem"},
       "path.signature",
       "does not verify with the key of"},
      {"an intermediate without keyCertSign cannot issue",
       {"leaf-noku.pem", "chain-noku.pem"},
       "path.issuer-is-ca",
       "keyCertSign"},
  };
  for (auto c : cases) {
    BOOST_TEST_CONTEXT(c.sentence) {
      if (c.in.cert.empty()) c.in.cert = corrupt_signature("leaf.pem");
      std::string attime;
      if (!c.in.at.empty())
        attime = "-attime " +
                 std::to_string(std::chrono::system_clock::to_time_t(*parse_rfc3339(c.in.at)));
      BOOST_TEST(!openssl_accepts(c.in, attime), "openssl accepted it");
      auto r = validate(c.in);
      BOOST_TEST((r.verdict() == Verdict::invalid));
      const RuleResult* hit = r.find(c.rule, Outcome::fail);
      BOOST_TEST_REQUIRE(hit != nullptr, "expected " << c.rule << " to fail; failures:\n"
                                                     << failures(r));
      BOOST_TEST(hit->reason.find(c.reason) != std::string::npos, hit->reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_not_yet_valid_chain_is_rejected_before_its_start) {
  auto r = validate({"leaf.pem", "chain.pem", "root.pem", "", nullptr, {}, "2001-01-01T00:00:00Z"});
  auto hit = r.find("path.validity", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr);
  BOOST_TEST(hit->reason.find("not valid before") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_revoked_leaf_fails_and_an_unlisted_one_passes_its_crl_check) {
  auto revoked = validate({"leaf-revoked.pem", "chain.pem", "root.pem", "", nullptr, {"int.crl"}});
  auto hit = revoked.find("revocation.crl", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr, failures(revoked));
  BOOST_TEST(hit->reason.find("is revoked") != std::string::npos);
  BOOST_TEST(run("openssl verify -crl_check -CRLfile " + quote(fx("int.crl")) + " -CAfile " +
                 quote(fx("root.pem")) + " -untrusted " + quote(fx("chain.pem")) + " " +
                 quote(fx("leaf-revoked.pem")))
                 .exit_code != 0);
  auto good = validate({"leaf.pem", "chain.pem", "root.pem", "", nullptr, {"int.crl"}});
  BOOST_TEST((good.verdict() == Verdict::valid), failures(good));
  BOOST_TEST(good.find("revocation.crl", Outcome::pass) != nullptr);
  // The intermediate has no CRL from the root: unchecked, not revoked.
  BOOST_TEST(good.find("revocation.crl", Outcome::unchecked) != nullptr);
}

BOOST_AUTO_TEST_CASE(without_crls_revocation_is_unchecked_not_failed) {
  auto r = validate({"leaf-revoked.pem", "chain.pem"});
  BOOST_TEST((r.verdict() == Verdict::valid));
  BOOST_TEST(r.count(Outcome::unchecked) >= 2u);
}

BOOST_AUTO_TEST_CASE(a_stale_crl_is_reported_not_trusted) {
  auto r = validate(
      {"leaf.pem", "chain.pem", "root.pem", "", nullptr, {"int.crl"}, "2029-01-01T00:00:00Z"});
  auto hit = r.find("revocation.crl", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr, failures(r));
  BOOST_TEST(hit->reason.find("expired") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_bundle_rules_see_order_duplicates_and_strangers) {
  auto reversed = validate({"leaf.pem", "chain-reversed.pem"});
  BOOST_TEST((reversed.verdict() == Verdict::valid));
  BOOST_TEST(reversed.find("bundle.order", Outcome::warn) != nullptr);
  BOOST_TEST(reversed.find("bundle.root", Outcome::pass)->reason.find("holds the root") !=
             std::string::npos);

  auto in = make({"leaf.pem", "chain.pem"});
  in.chain.push_back(in.chain.front());                         // a duplicate
  in.chain.push_back(*Certificate::load(fx("other-int.pem")));  // a stranger
  auto r = Validator().validate(in);
  BOOST_TEST(r.find("bundle.duplicates", Outcome::warn) != nullptr);
  BOOST_TEST(r.find("bundle.unrelated", Outcome::warn)->reason.find("Fabrikam") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_intermediate_only_in_the_trust_store_is_missing_from_the_bundle) {
  // Trusting root + int lets a path build, but the upload bundle lacks the intermediate.
  auto dir = openssl_fixtures();
  pkiflow::test::write_file(
      dir / "trust-root-int.pem",
      pkiflow::test::read_file(dir / "root.pem") + pkiflow::test::read_file(dir / "int.pem"));
  auto plain = validate({"leaf.pem", "", "trust-root-int.pem"});
  BOOST_TEST(plain.find("bundle.complete", Outcome::warn) != nullptr);
  BOOST_TEST((plain.verdict() == Verdict::valid));
}

BOOST_AUTO_TEST_CASE(the_tls_inspection_profile_needs_the_root_in_the_chain_and_its_extensions) {
  auto ok = validate({"tlsca.pem", "root.pem", "root.pem", "tlsca.csr", "tls-inspection-ca"});
  BOOST_TEST((ok.verdict() == Verdict::valid), failures(ok));

  auto no_root = validate({"tlsca.pem", "empty.pem", "root.pem", "tlsca.csr", "tls-inspection-ca"});
  BOOST_TEST(no_root.find("bundle.root", Outcome::fail) != nullptr, failures(no_root));

  auto leaf = validate({"leaf.pem", "chain-with-root.pem", "root.pem", "", "tls-inspection-ca"});
  BOOST_TEST(leaf.find("profile.basic-constraints", Outcome::fail) != nullptr);
  BOOST_TEST(leaf.find("profile.key-usage", Outcome::fail) != nullptr);

  // graph-api.md 0: the EKU may be absent (the ADCS subordinate CA template issues none), but a
  // list without serverAuth is wrong.
  auto no_eku = validate({"tlsca-noeku.pem", "root.pem", "root.pem", "", "tls-inspection-ca"});
  BOOST_TEST(no_eku.find("profile.ext-key-usage", Outcome::pass)->reason ==
             "extendedKeyUsage is absent, which tls-inspection-ca allows");
  auto client = validate({"tlsca-clientauth.pem", "root.pem", "root.pem", "", "tls-inspection-ca"});
  BOOST_TEST(client.find("profile.ext-key-usage", Outcome::fail)->reason.find("serverAuth") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_tls_inspection_ca_leaves_room_for_the_services_intermediate) {
  auto ok = validate({"tlsca.pem", "root.pem", "root.pem", "", "tls-inspection-ca"});
  BOOST_TEST(ok.find("profile.path-room", Outcome::pass) != nullptr, failures(ok));
  auto zero = validate({"tlsca-pathlen0.pem", "root.pem", "root.pem", "", "tls-inspection-ca"});
  auto hit = zero.find("profile.path-room", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr, failures(zero));
  BOOST_TEST(hit->reason.find("pathLenConstraint is 0; tls-inspection-ca needs at least 1") == 0u);
  // A good CA under an issuer with pathlen:0: the issuer does not allow it plus the service's CA.
  auto fx = openssl_fixtures();
  pkiflow::test::write_file(fx / "chain-under0.pem",
                            pkiflow::test::read_file(fx / "int-pathlen0.pem") +
                                pkiflow::test::read_file(fx / "root.pem"));
  auto under =
      validate({"tlsca-under0.pem", "chain-under0.pem", "root.pem", "", "tls-inspection-ca"});
  auto issuer = under.find("profile.path-room", Outcome::fail);
  BOOST_TEST_REQUIRE(issuer != nullptr, failures(under));
  BOOST_TEST(issuer->reason.find("Contoso Pathlen0 CA") != std::string::npos, issuer->reason);
  BOOST_TEST(
      issuer->reason.find("has pathLenConstraint 0 but 2 CA certificate(s)") != std::string::npos,
      issuer->reason);
}

BOOST_AUTO_TEST_CASE(the_six_month_minimum_holds_at_issuance_and_fails_a_day_short) {
  // leaf.pem was issued by openssl a moment ago for 365 days.
  auto fresh = validate({"leaf.pem", "chain-with-root.pem", "root.pem", "", "tls-inspection-ca"});
  BOOST_TEST(fresh.find("profile.lifetime", Outcome::pass)->reason == "valid for 365 more days");
  auto later = make({"leaf.pem", "chain-with-root.pem", "root.pem", "", "tls-inspection-ca"});
  later.at += std::chrono::days(183);
  auto r = Validator().validate(later);
  auto hit = r.find("profile.lifetime", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr);
  BOOST_TEST(hit->reason == "valid for 182 more days; tls-inspection-ca needs at least 183");
}

BOOST_AUTO_TEST_CASE(the_csr_rules_catch_a_certificate_for_another_request) {
  auto r = validate({"leaf.pem", "chain.pem", "root.pem", "int.csr"});
  BOOST_TEST(r.find("csr.key", Outcome::fail) != nullptr);
  BOOST_TEST(r.find("csr.subject", Outcome::fail)->reason.find("Contoso Test Issuing CA") !=
             std::string::npos);
  auto ok = validate({"leaf.pem", "chain.pem", "root.pem", "leaf.csr"});
  BOOST_TEST(ok.find("csr.key", Outcome::pass) != nullptr);
  BOOST_TEST(ok.find("csr.subject", Outcome::pass) != nullptr);
}

BOOST_AUTO_TEST_CASE(the_code_signing_and_cba_profiles_check_their_endpoints_rules) {
  auto leaf_as_cs = validate({"leaf.pem", "chain.pem", "root.pem", "", "code-signing"});
  BOOST_TEST(leaf_as_cs.find("profile.ext-key-usage", Outcome::fail)->reason.find("codeSigning") !=
             std::string::npos);
  // cba-ca asks for the CA's revocation status (Entra checks the CAs of a user's path): the
  // root's CRL clears it; without one the chain is invalid unless the caller lifts the demand.
  auto cba = validate({"int.pem", "", "root.pem", "", "cba-ca", {"root.crl"}});
  BOOST_TEST((cba.verdict() == Verdict::valid), failures(cba));
  BOOST_TEST(cba.crl_check == "leaf");
  BOOST_TEST(cba.find("revocation.crl", Outcome::pass) != nullptr);
  BOOST_TEST(cba.find("profile.crl", Outcome::warn) != nullptr);
  auto no_crl = validate({"int.pem", "", "root.pem", "", "cba-ca"});
  BOOST_TEST((no_crl.verdict() == Verdict::invalid));
  auto demand = no_crl.find("revocation.crl", Outcome::fail);
  BOOST_TEST_REQUIRE(demand != nullptr);
  BOOST_TEST(demand->reason.find("profile cba-ca requires it") != std::string::npos);
  auto lifted = make({"int.pem", "", "root.pem", "", "cba-ca"});
  lifted.options.crl_check = CrlCheck::none;
  auto lifted_report = Validator().validate(lifted);
  BOOST_TEST((lifted_report.verdict() == Verdict::valid), failures(lifted_report));
  BOOST_TEST(lifted_report.crl_check == "none");
  auto leaf_as_cba = validate({"leaf.pem", "chain.pem", "root.pem", "", "cba-ca"});
  BOOST_TEST(leaf_as_cba.find("profile.basic-constraints", Outcome::fail) != nullptr);
}

// Entra fetches a CBA CA's CRL over HTTP and takes CAs of at most 8 KB (graph-api.md 2).
BOOST_AUTO_TEST_CASE(a_cba_ca_needs_fetchable_crl_urls_and_fits_in_8_kb) {
  auto rng = Rng::system();
  const auto now = std::chrono::system_clock::now();
  auto root_key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  auto root = *LocalCa::self_signed("CN=Size Root", root_key, *find_profile("root-ca"),
                                    {now, std::chrono::days(3650), {}}, rng);
  auto ca = *LocalCa::create(root, root_key);
  auto key = PrivateKey::generate(KeyAlgorithm::p256, rng);
  CsrSpec spec;
  spec.subject = "CN=Issuing,O=Lab";
  auto csr = *Csr::build(spec, key, rng);
  auto trust = std::make_shared<const TrustStore>(std::vector<Certificate>{root});
  for (const auto& [url, outcome] :
       std::vector<std::pair<std::string, Outcome>>{{"http://crl.lab.test/ca.crl", Outcome::pass},
                                                    {"http://crl host/ca.crl", Outcome::fail}}) {
    BOOST_TEST_CONTEXT(url) {
      auto cert = ca.sign(csr, *find_profile("cba-ca"), {now, std::chrono::days(365), {url}}, rng);
      BOOST_TEST_REQUIRE(cert.ok(), pkiflow::test::why(cert));
      ValidationRequest req{*cert, {}, trust, std::nullopt, find_profile("cba-ca"), {}, now};
      auto r = Validator().validate(req);
      BOOST_TEST(r.find("profile.crl-url", outcome) != nullptr, failures(r));
      BOOST_TEST(r.find("profile.size", Outcome::pass) != nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(sha1_signatures_and_small_keys_fail_hygiene) {
  auto sha1 = validate({"sha1.pem", "chain.pem"});
  BOOST_TEST(sha1.find("hygiene.signature-hash", Outcome::fail)->reason.find("SHA-1") !=
             std::string::npos);
  auto weak = validate({"weak.pem", "chain.pem"});
  BOOST_TEST(weak.find("hygiene.key-size", Outcome::fail)->reason.find("1024") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_certificate_expiring_soon_is_a_warning) {
  auto r = validate({"leaf.pem", "chain.pem", "root.pem", "", nullptr, {}, ""});
  auto in = make({"leaf.pem", "chain.pem"});
  in.min_remaining_days = 400;  // the leaf lives 365 days
  auto soon = Validator().validate(in);
  BOOST_TEST(soon.find("hygiene.remaining-validity", Outcome::warn) != nullptr);
  BOOST_TEST((soon.verdict() == Verdict::valid));
  BOOST_TEST(r.find("hygiene.remaining-validity", Outcome::pass) != nullptr);
}

BOOST_AUTO_TEST_CASE(an_untrusted_self_signed_root_is_named) {
  auto r = validate({"leaf.pem", "chain-with-root.pem", "other-root.pem"});
  auto hit = r.find("path.build", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr);
  BOOST_TEST(hit->reason.find("not a trust anchor") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_json_report_names_rules_outcomes_and_clauses) {
  auto r = validate({"leaf-noku.pem", "chain-noku.pem"});
  auto j = report_json(r);
  BOOST_TEST(j.find("\"verdict\": \"invalid\"") != std::string::npos);
  BOOST_TEST(j.find("\"rule\": \"path.issuer-is-ca\"") != std::string::npos);
  BOOST_TEST(j.find("RFC 5280 6.1.4") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace validator_test

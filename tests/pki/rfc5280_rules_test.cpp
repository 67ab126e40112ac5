// Table-driven cases for the RFC 5280 section 4 rules, the validation inputs (--crl-check,
// --purpose, --max-depth, --lenient) and path building (backtracking past a SHA-1 cross
// certificate, no subject-and-key twice on a path). Certificates are made by openssl in the
// test; where `openssl verify -x509_strict` has an opinion it is asked too, and the cases where
// pkiflow differs say why.
#include <botan/auto_rng.h>
#include <botan/ber_dec.h>
#include <botan/data_src.h>
#include <botan/der_enc.h>
#include <botan/pk_algs.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>
#include <boost/test/unit_test.hpp>

#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/validator.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace rfc5280_rules_test {

using namespace pkiflow;
using namespace pkiflow::pki;
using pkiflow::test::quote;
using pkiflow::test::run;
using pkiflow::test::TempDir;
using pkiflow::test::write_file;

namespace {

// A small openssl CA kit in a temporary directory: make(name, issuer, extensions, extra).
class Kit {
 public:
  Kit() {
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
       f("root.key") + " -out " + f("root.pem") +
       " -subj /CN=Kit-Root -days 3650 -addext basicConstraints=critical,CA:TRUE -addext "
       "keyUsage=critical,keyCertSign,cRLSign -addext subjectKeyIdentifier=hash");
  }
  static constexpr const char* kCa =
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
  static constexpr const char* kLeaf =
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
      "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

  // Issues `name` under `issuer` with the given extensions; `key` reuses another name's key;
  // `x509_args` go to `openssl x509 -req` (e.g. "-set_serial -5", "-sha1", "-days 30").
  void make(const std::string& name, const std::string& issuer, const std::string& extensions,
            const std::string& x509_args = "", const std::string& key = "") {
    write_file(dir_ / (name + ".ext"), extensions);
    const std::string k = key.empty() ? name : key;
    if (key.empty())
      sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + f(k + ".key"));
    const std::string subj = subject(name);
    sh("openssl req -new -key " + f(k + ".key") + " -subj /" + (subj.empty() ? "" : "CN=" + subj) +
       " -out " + f(name + ".csr") + " && openssl x509 -req -in " + f(name + ".csr") + " -CA " +
       f(issuer + ".pem") + " -CAkey " + f(issuer + ".key") + " -days 365 " +
       (x509_args.find("-set_serial") == std::string::npos ? "-set_serial 0x7a3c91d4e5f60817 "
                                                           : "") +
       x509_args + " -extfile " + f(name + ".ext") + " -out " + f(name + ".pem"));
  }
  // Names that end in a prime share a subject (same CA, another certificate); EmptyCA has an
  // empty subject.
  static std::string subject(const std::string& name) {
    if (name == "EmptyCA") return "";
    std::string s = name;
    while (!s.empty() && s.back() == '\'')
      s.pop_back();
    return "Kit-" + s;
  }
  std::string f(const std::string& file) const { return quote(dir_ / file); }
  std::filesystem::path path(const std::string& file) const { return dir_ / file; }

  void bundle(const std::string& name, const std::vector<std::string>& certs) {
    std::string all;
    for (const auto& c : certs)
      all += test::read_file(dir_ / (c + ".pem"));
    write_file(dir_ / (name + ".pem"), all);
  }

  ChainReport validate(const std::string& leaf, const std::vector<std::string>& chain,
                       ValidationOptions options = {}, const char* profile = nullptr) {
    ValidationRequest r{*Certificate::load(dir_ / (leaf + ".pem")),
                        {},
                        nullptr,
                        std::nullopt,
                        profile ? find_profile(profile) : nullptr,
                        {},
                        std::chrono::system_clock::now(),
                        0,
                        std::move(options)};
    for (const auto& c : chain)
      r.chain.push_back(*Certificate::load(dir_ / (c + ".pem")));
    r.trust = std::make_shared<const TrustStore>(*TrustStore::load(path("root.pem").string()));
    return Validator().validate(r);
  }

  // openssl verify -x509_strict with the chain as untrusted certificates; true when it accepts.
  bool openssl_accepts(const std::string& leaf, const std::vector<std::string>& chain,
                       const std::string& extra = "") {
    bundle("untrusted", chain);
    return run("openssl verify -x509_strict " + extra + " -CAfile " + f("root.pem") +
               (chain.empty() ? "" : " -untrusted " + f("untrusted.pem")) + " " + f(leaf + ".pem"))
               .exit_code == 0;
  }

 private:
  void sh(const std::string& cmd) {
    auto r = run(cmd);
    if (r.exit_code != 0) throw std::runtime_error(cmd + ": " + r.err);
  }
  TempDir dir_;
};

std::string failures(const ChainReport& r) {
  return report_text(r, false);
}

bool fails(const ChainReport& r, const std::string& rule) {
  return r.find(rule, Outcome::fail) != nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rfc5280_rules)

BOOST_AUTO_TEST_CASE(section_4_rules_fail_and_lenient_relaxes_them_to_warnings) {
  Kit kit;
  kit.make("Int", "root", Kit::kCa);
  kit.make("Leaf", "Int", Kit::kLeaf);
  auto good = kit.validate("Leaf", {"Int"});
  BOOST_TEST((good.verdict() == Verdict::valid), failures(good));
  BOOST_TEST(kit.openssl_accepts("Leaf", {"Int"}));

  struct Case {
    const char* rule;
    const char* name;
    std::string extensions;
    std::string x509_args;
    bool issuer;           // the odd certificate is the intermediate, with a normal leaf
    bool openssl_rejects;  // what openssl verify -x509_strict says (OpenSSL 3.0)
  };
  // openssl x509 -req adds an authorityKeyIdentifier unless told not to.
  const std::string ca_no_aki =
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=none\n";
  const std::string ca_bc_not_critical =
      "basicConstraints=CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
  const std::string ca_no_ku =
      "basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=hash\n"
      "authorityKeyIdentifier=keyid\n";
  const std::string leaf_cert_sign =
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyCertSign\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
  const std::vector<Case> cases{
      // OpenSSL 3.0 does not look at the serial's sign; RFC 5280 4.1.2.2 does.
      {"x509.serial", "NegSerial", Kit::kLeaf, "-set_serial -5", false, false},
      {"x509.key-identifiers", "NoAki", ca_no_aki, "", true, true},
      {"x509.ca-certificate", "BcSoft", ca_bc_not_critical, "", true, true},
      {"x509.ca-certificate", "EmptyCA", Kit::kCa, "", true, true},
      {"x509.key-usage", "NoKu", ca_no_ku, "", true, true},
      // keyCertSign on an end entity: the cA bit MUST then be set (4.2.1.3).
      {"x509.key-usage", "LeafSigns", leaf_cert_sign, "", false, true},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.rule << " (" << c.name << ")") {
      std::string leaf = c.name;
      std::vector<std::string> chain{"Int"};
      if (c.issuer) {
        kit.make(c.name, "root", c.extensions, c.x509_args);
        leaf = std::string(c.name) + "Leaf";
        kit.make(leaf, c.name, Kit::kLeaf);
        chain = {c.name};
      } else {
        kit.make(c.name, "Int", c.extensions, c.x509_args);
      }
      auto strict = kit.validate(leaf, chain);
      BOOST_TEST(fails(strict, c.rule), failures(strict));
      BOOST_TEST((strict.verdict() == Verdict::invalid));
      BOOST_TEST(kit.openssl_accepts(leaf, chain) == !c.openssl_rejects);
      ValidationOptions lenient;
      lenient.lenient = true;
      auto relaxed = kit.validate(leaf, chain, lenient);
      BOOST_TEST((relaxed.verdict() == Verdict::valid), failures(relaxed));
      BOOST_TEST(relaxed.find(c.rule, Outcome::warn) != nullptr);
      BOOST_TEST((std::find(relaxed.relaxed.begin(), relaxed.relaxed.end(), c.rule) !=
                  relaxed.relaxed.end()));
    }
  }
}

BOOST_AUTO_TEST_CASE(purpose_depth_and_required_revocation_are_path_rules) {
  Kit kit;
  kit.make("Int", "root", Kit::kCa);
  kit.make("Leaf", "Int", Kit::kLeaf);  // serverAuth
  ValidationOptions client;
  client.required_eku = {"1.3.6.1.5.5.7.3.2"};
  auto wrong = kit.validate("Leaf", {"Int"}, client);
  BOOST_TEST(fails(wrong, "path.purpose"), failures(wrong));
  BOOST_TEST(!kit.openssl_accepts("Leaf", {"Int"}, "-purpose sslclient"));
  ValidationOptions server;
  server.required_eku = {"1.3.6.1.5.5.7.3.1"};
  auto right = kit.validate("Leaf", {"Int"}, server);
  BOOST_TEST((right.verdict() == Verdict::valid), failures(right));
  BOOST_TEST(right.find("path.purpose", Outcome::pass) != nullptr);

  // An intermediate whose extendedKeyUsage excludes the purpose restricts the path.
  kit.make("ClientInt", "root", std::string(Kit::kCa) + "extendedKeyUsage=clientAuth\n");
  kit.make("LeafUnderClient", "ClientInt", Kit::kLeaf);
  auto restricted = kit.validate("LeafUnderClient", {"ClientInt"}, server);
  BOOST_TEST(fails(restricted, "path.purpose"), failures(restricted));

  ValidationOptions shallow;
  shallow.max_intermediates = 0;
  auto deep = kit.validate("Leaf", {"Int"}, shallow);
  BOOST_TEST(fails(deep, "path.depth"), failures(deep));
  shallow.max_intermediates = 1;
  BOOST_TEST((kit.validate("Leaf", {"Int"}, shallow).verdict() == Verdict::valid));

  ValidationOptions leaf_crl;
  leaf_crl.crl_check = CrlCheck::leaf;
  auto no_crl = kit.validate("Leaf", {"Int"}, leaf_crl);
  auto hit = no_crl.find("revocation.crl", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr, failures(no_crl));
  BOOST_TEST(hit->reason.find("--crl-check leaf requires it") != std::string::npos);
  BOOST_TEST(!kit.openssl_accepts("Leaf", {"Int"}, "-crl_check"));
  // The intermediate is not required under leaf: unchecked, not failed.
  BOOST_TEST(no_crl.count(Outcome::fail) == 1u, failures(no_crl));
}

BOOST_AUTO_TEST_CASE(path_building_passes_a_sha1_cross_certificate_for_a_good_one) {
  Kit kit;
  // The same CA (subject and key) certified twice by the root: once with SHA-1, once with
  // SHA-256; the SHA-1 one comes first in the bundle and expires later, so it is tried first.
  kit.make("Int", "root", Kit::kCa, "-sha1 -days 700");
  kit.make("Int'", "root", Kit::kCa, "-sha256 -days 365", "Int");
  kit.make("Leaf", "Int", Kit::kLeaf);
  auto r = kit.validate("Leaf", {"Int", "Int'"});
  BOOST_TEST((r.verdict() == Verdict::valid), failures(r));
  BOOST_TEST(r.candidates_checked == 2u, failures(r));
  // Without the good one, the SHA-1 path is the best there is, and is refused for its hash.
  auto only_sha1 = kit.validate("Leaf", {"Int"});
  BOOST_TEST(fails(only_sha1, "hygiene.signature-hash"), failures(only_sha1));
}

BOOST_AUTO_TEST_CASE(no_path_holds_the_same_subject_and_key_twice) {
  Kit kit;
  // A under the root; B under A; A' (A's subject and key) under B, preferred for its later
  // notAfter. leaf <- A' <- B <- A <- root is a chain of valid signatures that visits A twice.
  kit.make("A", "root", Kit::kCa, "-days 365");
  kit.make("B", "A", Kit::kCa, "-days 365");
  kit.make("A'", "B", Kit::kCa, "-days 700", "A");
  kit.make("Leaf", "A", Kit::kLeaf, "-days 300");
  auto r = kit.validate("Leaf", {"A'", "B", "A"});
  BOOST_TEST((r.verdict() == Verdict::valid), failures(r));
  BOOST_TEST(r.path.size() == 3u, failures(r));
}

// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. openssl cannot write a
// GeneralizedTime before 2050, so these leaves are signed with Botan under the kit's root.
BOOST_AUTO_TEST_CASE(validity_dates_are_utctime_through_2049_and_generalizedtime_after) {
  Kit kit;
  Botan::DataSource_Stream key_in(kit.path("root.key").string());
  auto root_key = Botan::PKCS8::load_key(key_in);
  Botan::X509_Certificate root(kit.path("root.pem").string());
  auto rng = std::make_unique<Botan::AutoSeeded_RNG>();
  auto leaf_key = Botan::create_private_key("ECDSA", *rng, "secp256r1");
  auto issue = [&](const std::string& name, const Botan::ASN1_Time& not_after) {
    Botan::PK_Signer signer(*root_key, *rng, "SHA-256", Botan::Signature_Format::DerSequence);
    Botan::Extensions ext;
    ext.add(std::make_unique<Botan::Cert_Extension::Basic_Constraints>(false), true);
    ext.add(std::make_unique<Botan::Cert_Extension::Key_Usage>(
                Botan::Key_Constraints::DigitalSignature),
            true);
    ext.add(std::make_unique<Botan::Cert_Extension::Authority_Key_ID>(root.subject_key_id()));
    ext.add(std::make_unique<Botan::Cert_Extension::Subject_Key_ID>(leaf_key->public_key_bits(),
                                                                    signer.hash_function()));
    Botan::X509_DN subject;
    subject.add_attribute("X520.CommonName", "Kit-" + name);
    auto cert = Botan::X509_CA::make_cert(
        signer, *rng, signer.algorithm_identifier(), leaf_key->subject_public_key(),
        Botan::ASN1_Time(std::chrono::system_clock::now() - std::chrono::hours(1)), not_after,
        root.subject_dn(), subject, ext);
    write_file(kit.path(name + ".pem"), cert.PEM_encode());
  };
  using T = Botan::ASN1_Type;
  struct Case {
    const char* name;
    Botan::ASN1_Time not_after;
    bool valid;
  };
  const std::vector<Case> cases{
      {"Utc2049", Botan::ASN1_Time("491231235959Z", T::UtcTime), true},
      {"Gen2050", Botan::ASN1_Time("20500101000000Z", T::GeneralizedTime), true},
      // A GeneralizedTime before 2050. OpenSSL 3.0 accepts it even with -x509_strict: a
      // deliberate difference, the encoding is a MUST of 4.1.2.5.
      {"Gen2049", Botan::ASN1_Time("20491231235959Z", T::GeneralizedTime), false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      issue(c.name, c.not_after);
      auto r = kit.validate(c.name, {});
      BOOST_TEST((r.verdict() == Verdict::valid) == c.valid, failures(r));
      BOOST_TEST(
          r.find("x509.validity-encoding", c.valid ? Outcome::pass : Outcome::fail) != nullptr,
          failures(r));
      BOOST_TEST(kit.openssl_accepts(c.name, {}));
      if (!c.valid) {
        ValidationOptions lenient;
        lenient.lenient = true;
        auto relaxed = kit.validate(c.name, {}, lenient);
        BOOST_TEST((relaxed.verdict() == Verdict::valid), failures(relaxed));
        BOOST_TEST(relaxed.find("x509.validity-encoding", Outcome::warn) != nullptr);
      }
    }
  }
}

// RFC 5280 4.2.1.10 in every name form openssl can write, each compared with openssl verify.
BOOST_AUTO_TEST_CASE(name_constraints_hold_in_every_name_form) {
  Kit kit;
  struct Case {
    const char* name;
    const char* constraint;  // the CA's nameConstraints (plus sections)
    const char* leaf_names;  // the leaf's subjectAltName
    bool valid;
  };
  const std::vector<Case> cases{
      {"DnsIn", "permitted;DNS:good.example", "DNS:www.good.example", true},
      {"DnsOut", "permitted;DNS:good.example", "DNS:www.bad.example", false},
      {"DnsExcluded", "excluded;DNS:bad.example", "DNS:x.bad.example", false},
      {"DnsNotExcluded", "excluded;DNS:bad.example", "DNS:notbad.example", true},
      {"IpIn", "permitted;IP:10.0.0.0/255.0.0.0", "IP:10.1.2.3", true},
      {"IpOut", "permitted;IP:10.0.0.0/255.0.0.0", "IP:192.168.1.1", false},
      {"Ip6Out", "permitted;IP:10.0.0.0/255.0.0.0,permitted;IP:fd00::/ffff::", "IP:fe80::1", false},
      {"MailIn", "permitted;email:good.example", "email:alice@good.example", true},
      {"MailOut", "permitted;email:good.example", "email:bob@bad.example", false},
      {"UriIn", "permitted;URI:.good.example", "URI:https://host.good.example/x", true},
      {"UriOut", "permitted;URI:.good.example", "URI:https://host.bad.example/x", false},
      {"DirIn", "permitted;dirName:in_dn\n[in_dn]\nCN=Kit-DirInLeaf", "DNS:dir.example", true},
      {"DirOut", "permitted;dirName:in_dn\n[in_dn]\nCN=Kit-Elsewhere", "DNS:dir.example", false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string ca = std::string(c.name) + "CA";
      const std::string leaf = std::string(c.name) + "Leaf";
      // The extensions first, then the sections the constraint names.
      std::string constraint = c.constraint;
      std::string sections;
      if (auto nl = constraint.find('\n'); nl != std::string::npos) {
        sections = constraint.substr(nl);
        constraint.resize(nl);
      }
      kit.make(ca, "root",
               std::string(Kit::kCa) + "nameConstraints=critical," + constraint + "\n" + sections);
      kit.make(leaf, ca, std::string(Kit::kLeaf) + "subjectAltName=" + c.leaf_names + "\n");
      auto r = kit.validate(leaf, {ca});
      BOOST_TEST((r.verdict() == Verdict::valid) == c.valid, failures(r));
      if (!c.valid) BOOST_TEST(fails(r, "path.name-constraints"), failures(r));
      BOOST_TEST(kit.openssl_accepts(leaf, {ca}) == c.valid);
      // Name constraints are a path rule: --lenient never relaxes them.
      ValidationOptions lenient;
      lenient.lenient = true;
      BOOST_TEST((kit.validate(leaf, {ca}, lenient).verdict() == Verdict::valid) == c.valid);
    }
  }
}

// Certificate policies through a CA, and `--profile cba-ca` listing what a user certificate
// under it can carry; a user certificate with each listed OID is then checked with
// `openssl verify -policy OID -explicit_policy`, so the listing is what an independent
// implementation accepts.
BOOST_AUTO_TEST_CASE(cba_ca_lists_the_policy_oids_a_user_certificate_can_carry) {
  Kit kit;
  const std::string ca_ku =
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
  struct Case {
    const char* name;
    std::string extensions;             // the CA's policy extensions
    std::vector<std::string> expected;  // the policies listed ("2.5.29.32.0" = any)
    bool must_carry;                    // an explicit policy is required below
  };
  const std::vector<Case> cases{
      {"TwoPolicies",
       "certificatePolicies=1.3.6.1.4.1.311.99.1,1.3.6.1.4.1.311.99.2\n",
       {"1.3.6.1.4.1.311.99.1", "1.3.6.1.4.1.311.99.2"},
       false},
      {"Mapped",
       "certificatePolicies=1.3.6.1.4.1.311.99.1\n"
       "policyMappings=critical,1.3.6.1.4.1.311.99.1:1.3.6.1.4.1.311.77.7\n",
       {"1.3.6.1.4.1.311.77.7"},
       false},
      {"AnyPolicy", "certificatePolicies=2.5.29.32.0\n", {kAnyPolicy}, false},
      {"Explicit",
       "certificatePolicies=1.3.6.1.4.1.311.99.1\npolicyConstraints=critical,requireExplicitPolicy:"
       "0\n",
       {"1.3.6.1.4.1.311.99.1"},
       true},
      {"NoPolicies", "", {}, false},
  };
  ValidationOptions no_crl;  // the kit's root publishes no CRL
  no_crl.crl_check = CrlCheck::none;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string ca = std::string(c.name) + "CA";
      kit.make(ca, "root", ca_ku + c.extensions);
      auto r = kit.validate(ca, {}, no_crl, "cba-ca");
      BOOST_TEST((r.verdict() == Verdict::valid), failures(r));
      BOOST_TEST_REQUIRE(r.policies.has_value());
      BOOST_TEST_REQUIRE(r.policies->issued.has_value());
      BOOST_TEST(*r.policies->issued == c.expected, boost::test_tools::per_element());
      BOOST_TEST(r.policies->issued_explicit_required == c.must_carry);
      const auto* line =
          r.find("profile.user-policies", c.expected.empty() ? Outcome::warn : Outcome::pass);
      BOOST_TEST_REQUIRE(line != nullptr, failures(r));
      for (const auto& oid : c.expected)
        if (oid != kAnyPolicy) BOOST_TEST(line->reason.find(oid) != std::string::npos);
      // A user certificate with a listed policy has a valid policy on its path (it validates
      // with an explicit policy required); one with an unlisted policy has none. pkiflow and
      // openssl alike.
      std::vector<std::string> carried = c.expected;
      if (carried.empty() || carried.front() == kAnyPolicy) carried = {"1.3.6.1.4.1.311.55.5"};
      carried.push_back("1.3.6.1.4.1.311.66.6");  // listed by no case
      for (std::size_t k = 0; k < carried.size(); ++k) {
        const auto& oid = carried[k];
        const bool listed =
            std::find(c.expected.begin(), c.expected.end(), oid) != c.expected.end() ||
            (!c.expected.empty() && c.expected.front() == kAnyPolicy);
        const std::string user = std::string(c.name) + "User" + std::to_string(k);
        kit.make(user, ca, std::string(Kit::kLeaf) + "certificatePolicies=" + oid + "\n");
        ValidationOptions explicit_policy = no_crl;
        explicit_policy.require_explicit_policy = true;
        auto u = kit.validate(user, {ca}, explicit_policy);
        BOOST_TEST((u.verdict() == Verdict::valid) == listed, oid << "\n" << failures(u));
        // OpenSSL takes an empty user-initial-policy-set unless told; RFC 5280's default is
        // anyPolicy.
        BOOST_TEST(
            kit.openssl_accepts(user, {ca}, "-policy 2.5.29.32.0 -explicit_policy") == listed, oid);
      }
    }
  }
  // A root uploaded as the CBA CA is a trust anchor: nothing restricts the policies below it.
  auto root = kit.validate("root", {}, no_crl, "cba-ca");
  BOOST_TEST(root.find("profile.user-policies", Outcome::pass) != nullptr, failures(root));
}

// RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a particular
// extension." Neither openssl nor Botan writes such a certificate, so the test copies the
// subjectKeyIdentifier of a kit leaf inside its TBSCertificate and signs it again with the
// issuer's key.
BOOST_AUTO_TEST_CASE(a_duplicate_extension_is_refused_naming_the_certificate_and_clause) {
  Kit kit;
  kit.make("Int", "root", Kit::kCa);
  kit.make("Twice", "Int", Kit::kLeaf);
  Botan::X509_Certificate leaf(kit.path("Twice.pem").string());
  // TBSCertificate: its fields as raw objects; the last, [3], holds the extensions.
  std::vector<Botan::BER_Object> fields;
  Botan::BER_Decoder tbs(leaf.tbs_data());
  auto body = tbs.start_sequence();
  while (body.more_items())
    fields.push_back(body.get_next_object());
  BOOST_TEST_REQUIRE(
      fields.back().is_a(3, Botan::ASN1_Class::ContextSpecific | Botan::ASN1_Class::Constructed));
  std::vector<std::vector<std::uint8_t>> extensions;
  Botan::BER_Decoder outer(fields.back().bits(), fields.back().length());
  auto list = outer.start_sequence();
  while (list.more_items()) {
    auto e = list.get_next_object();
    std::vector<std::uint8_t> der;
    Botan::DER_Encoder(der).add_object(e.type(), e.get_class(), e.bits(), e.length());
    extensions.push_back(std::move(der));
  }
  extensions.push_back(extensions.front());  // basicConstraints, twice
  std::vector<std::uint8_t> new_tbs;
  Botan::DER_Encoder enc(new_tbs);
  enc.start_sequence();
  for (std::size_t i = 0; i + 1 < fields.size(); ++i)
    enc.add_object(fields[i].type(), fields[i].get_class(), fields[i].bits(), fields[i].length());
  enc.start_explicit(3).start_sequence();
  for (const auto& e : extensions)
    enc.raw_bytes(e);
  enc.end_cons().end_explicit().end_cons();
  Botan::DataSource_Stream key_in(kit.path("Int.key").string());
  auto int_key = Botan::PKCS8::load_key(key_in);
  auto rng = std::make_unique<Botan::AutoSeeded_RNG>();
  Botan::PK_Signer signer(*int_key, *rng, "SHA-256", Botan::Signature_Format::DerSequence);
  const auto sig = signer.sign_message(new_tbs, *rng);
  std::vector<std::uint8_t> cert;
  Botan::DER_Encoder(cert)
      .start_sequence()
      .raw_bytes(new_tbs)
      .encode(signer.algorithm_identifier())
      .encode(sig, Botan::ASN1_Type::BitString)
      .end_cons();
  write_file(kit.path("Twice.der"), std::string(cert.begin(), cert.end()));
  auto sh_ok = [](const std::string& cmd) { BOOST_TEST_REQUIRE(run(cmd).exit_code == 0, cmd); };

  sh_ok("openssl x509 -inform DER -in " + kit.f("Twice.der") + " -out " + kit.f("Twice.pem"));
  auto r = kit.validate("Twice", {"Int"});
  auto hit = r.find("path.duplicate-extension", Outcome::fail);
  BOOST_TEST_REQUIRE(hit != nullptr, failures(r));
  BOOST_TEST(hit->reason ==
             "'CN=Kit-Twice' has X509v3.BasicConstraints (2.5.29.19) twice; which one a relying "
             "party reads is undefined");
  BOOST_TEST(r.find("path.rfc5280", Outcome::fail) == nullptr, failures(r));
  BOOST_TEST(!kit.openssl_accepts("Twice", {"Int"}));
  // A path rule: --lenient does not relax it.
  ValidationOptions lenient;
  lenient.lenient = true;
  BOOST_TEST((kit.validate("Twice", {"Int"}, lenient).verdict() == Verdict::invalid));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace rfc5280_rules_test

// pkiflow validate: dry-run verdict on a certificate + chain (+ CSR) against an endpoint profile.
//   exit 0 valid, 1 invalid, 2 unusable input.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/batch.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/rule_catalog.hpp"
#include "engine/pki/validate/validator.hpp"
#include "tools/pkiflow/cli_support.hpp"

namespace pkiflow::cli {

namespace {

struct Validate {
  std::string cert, chain, trust, csr, profile, at, batch;
  std::vector<std::string> crls;
  int min_remaining_days = 30;
  pki::OptionText options;
  unsigned jobs = 0;
  bool json = false, list_rules = false;

  std::chrono::system_clock::time_point when() const {
    if (at.empty()) return std::chrono::system_clock::now();
    return take(pki::parse_rfc3339(at));
  }

  void run() const {
    if (list_rules) return print_rules(json);
    if (!batch.empty()) return run_batch();
    if (cert.empty()) fail(kBadInput, "--cert is required (or --batch MANIFEST)");
    if (trust.empty()) fail(kBadInput, "--trust is required: a PEM file, a directory, or 'system'");
    const pki::SigningProfile* prof = nullptr;
    if (!profile.empty()) {
      prof = pki::find_profile(profile);
      if (!prof)
        fail(kBadInput,
             "--profile: unknown profile '" + profile + "' (" + pki::profile_names() + ")");
    }
    auto time = when();
    auto certificate = take(pki::Certificate::load(cert));
    std::vector<pki::Certificate> bundle;
    if (!chain.empty()) bundle = take(pki::Certificate::load_all(chain));
    auto anchors = std::make_shared<const pki::TrustStore>(take(pki::TrustStore::load(trust)));
    std::optional<pki::Csr> request;
    if (!csr.empty()) request = take(pki::Csr::load(csr));
    std::vector<pki::Crl> crl_list;
    for (const auto& f : crls)
      for (auto& c : take(pki::Crl::load_all(f)))
        crl_list.push_back(std::move(c));
    pki::ValidationRequest req{certificate,
                               bundle,
                               anchors,
                               request,
                               prof,
                               crl_list,
                               time,
                               min_remaining_days,
                               take(pki::make_options(options, false))};
    pki::Validator validator;
    auto report = validator.validate(req);
    if (json) {
      std::cout << pki::report_json(report) << "\n";
      document_written();
    } else
      std::cout << pki::report_text(report, ::isatty(STDOUT_FILENO) != 0);
    if (report.verdict() != pki::Verdict::valid) throw Exit(kInvalid, "");
  }

  void run_batch() const {
    std::ifstream in(batch);
    if (!in) fail(kBadInput, batch + ": cannot open the manifest");
    pki::BatchOptions opts;
    opts.jobs = jobs;
    opts.default_at = when();
    opts.defaults = take(pki::make_options(options, false));
    int worst = kOk;
    std::size_t n = 0, valid = 0, invalid = 0, unusable = 0;
    auto st = pki::validate_manifest(
        in, std::filesystem::path(batch).parent_path(), opts, [&](const pki::BatchOutcome& o) {
          ++n;
          nlohmann::ordered_json line{{"id", o.id}, {"line", o.line}};
          if (o.error) {
            ++unusable;
            worst = kBadInput;
            line["verdict"] = "unusable";
            line["error"] = o.error->what();
          } else {
            bool ok = o.report->verdict() == pki::Verdict::valid;
            ok ? ++valid : ++invalid;
            if (!ok && worst == kOk) worst = kInvalid;
            line["verdict"] = ok ? "valid" : "invalid";
            line["report"] = nlohmann::ordered_json::parse(pki::report_json(*o.report, -1));
          }
          if (json) {  // JSON lines, one per manifest line (README)
            std::cout << json_text(line) << "\n";
            document_written();
          } else {
            std::cout << o.id << ": " << line["verdict"].get<std::string>();
            if (o.error) std::cout << " (" << o.error->what() << ")";
            if (o.report)
              for (const auto& r : o.report->results)
                if (r.outcome == pki::Outcome::fail)
                  std::cout << "\n    FAIL " << r.rule << ": " << r.reason;
            std::cout << "\n";
          }
        });
    if (!st) fail(st.error());
    if (!json)
      std::cout << n << " chains: " << valid << " valid, " << invalid << " invalid, " << unusable
                << " unusable\n";
    if (worst != kOk) throw Exit(worst, "");
  }

  static void print_rules(bool as_json) {
    if (as_json) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& r : pki::rule_catalog())
        arr.push_back({{"rule", r.name}, {"checks", r.checks}, {"clause", r.clause}});
      return print_json(arr);
    }
    for (const auto& r : pki::rule_catalog())
      std::cout << r.name << "\t" << r.checks << " [" << r.clause << "]\n";
  }
};

}  // namespace

void add_validate_command(CLI::App& app) {
  auto v = std::make_shared<Validate>();
  auto* cmd = app.add_subcommand("validate",
                                 "validate a certificate and its chain before upload (dry run)");
  cmd->add_option("--cert", v->cert, "the certificate to validate");
  cmd->add_option("--chain", v->chain,
                  "PEM bundle of the other certificates (the chain to upload), any order");
  cmd->add_option("--trust", v->trust, "trust anchors: a PEM file, a directory, or 'system'");
  cmd->add_option("--csr", v->csr, "the CSR the certificate answers");
  cmd->add_option("--profile", v->profile,
                  "the target endpoint's rules: tls-inspection-ca, cba-ca, code-signing, root-ca");
  cmd->add_option("--crl", v->crls, "a CRL to check revocation against (repeatable)");
  cmd->add_option("--at", v->at, "validation time, RFC 3339 (default: now)");
  cmd->add_option("--crl-check", v->options.crl_check,
                  "none: check the CRLs given; leaf: the certificate must be covered by a valid "
                  "CRL; all: every certificate below the anchor must be (default: the profile's "
                  "demand, cba-ca: leaf; else none)");
  cmd->add_option("--purpose", v->options.purpose,
                  "the certificate's purpose: serverAuth, clientAuth, codeSigning or any");
  cmd->add_option("--eku", v->options.eku,
                  "an extended key usage (OID) the certificate must allow (repeatable)");
  cmd->add_option("--max-depth", v->options.max_depth,
                  "at most this many intermediate CAs between the certificate and the anchor");
  cmd->add_option("--policy", v->options.policies,
                  "acceptable certificate policy OIDs, comma-separated (default anyPolicy)");
  cmd->add_flag("--require-explicit-policy", v->options.require_explicit_policy,
                "the path must be valid for a policy in --policy");
  cmd->add_flag("--inhibit-policy-mapping", v->options.inhibit_policy_mapping,
                "no policy mapping on the path");
  cmd->add_flag("--inhibit-any-policy", v->options.inhibit_any_policy,
                "anyPolicy in a certificate does not stand for other policies");
  cmd->add_flag("--lenient", v->options.lenient,
                "RFC 5280 section 4 profile rules warn instead of fail (legacy PKIs)");
  cmd->add_option("--min-remaining-days", v->min_remaining_days,
                  "warn when the certificate expires within this many days")
      ->capture_default_str();
  cmd->add_option("--batch", v->batch, "validate every line of a JSON-lines manifest");
  cmd->add_option("--jobs", v->jobs, "threads for --batch (default: one per core)");
  cmd->add_flag("--json", v->json, "machine-readable output");
  cmd->add_flag("--list-rules", v->list_rules, "list the rules and the clauses they check");
  cmd->callback([v] { v->run(); });
  example(
      cmd,
      "pkiflow validate --cert issuing.pem --chain chain.pem --trust root.pem --profile cba-ca");
}

}  // namespace pkiflow::cli

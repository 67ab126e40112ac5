#include "engine/bundle/records.hpp"

#include "engine/lifecycle.hpp"
#include "engine/pki/detached_signature.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"
#include "engine/workflow.hpp"

namespace pkiflow::engine::bundle {

namespace {

Error refused(const std::string& record, const std::string& why) {
  return Error(ErrorKind::invalid_input, "record " + record, why + "; nothing was imported");
}

}  // namespace

bool waits_for_offline_signature(const state::Record& r, const Config& config) {
  if (r.state != state::RecordState::csrGenerated) return false;
  const std::string name = signer_of(r);
  if (name.empty()) return true;
  const SignerConfig* s = config.signer(name);
  return s && s->type == "offline";
}

std::string bundle_wait_note(const state::Record& r) {
  if (r.state != state::RecordState::csrGenerated || r.bundle_id.empty()) return "";
  return "waiting for offline signature, bundle " + r.bundle_id + " exported at " +
         (r.bundle_exported_at ? pki::format_rfc3339(*r.bundle_exported_at) : std::string("?")) +
         " (pkiflow bundle import DIR when it is back)";
}

Result<ExportReport> export_bundle(state::StateStore& store, const Config& config,
                                   const Clock& clock, const std::filesystem::path& dir,
                                   const ExportOptions& options, const std::string& actor) {
  state::RecordFilter f;
  f.state = state::RecordState::csrGenerated;
  f.kind = options.kind;
  auto waiting = store.list(f);
  if (!waiting) return waiting.error();
  ExportReport report;
  std::vector<Outgoing> out;
  std::vector<std::string> ids;
  for (const auto& r : *waiting) {
    if (options.tenant && r.tenant != *options.tenant) continue;
    if (!waits_for_offline_signature(r, config)) continue;
    if (!r.bundle_id.empty() && !options.again) {
      report.already_out.push_back(r);
      continue;
    }
    auto csr = pki::Csr::decode(pki::Bytes(r.csr_pem.begin(), r.csr_pem.end()));
    if (!csr) return csr.error().about("record " + r.id + ": stored CSR");
    const auto& profile = profile_for(r.kind);
    Entry e;
    e.record_id = r.id;
    e.name = r.name;
    e.kind = state::to_string(r.kind);
    e.tenant = r.tenant;
    e.profile = profile.name;
    e.validity_days = validity_days_of(r, profile);
    e.subject = csr->subject();
    e.key = describe_key(csr->public_key());
    out.push_back({e, r.csr_pem});
    ids.push_back(r.id);
  }
  if (out.empty()) return report;
  auto rng = pki::Rng::system();
  const std::string bundle_id = new_record_id(rng);
  auto m = write_bundle(dir, bundle_id, out, clock.now());
  if (!m) return m.error();
  Lifecycle life(store, clock, actor);
  auto marked = life.exported(ids, bundle_id, std::filesystem::absolute(dir).string());
  if (!marked) {
    // The records were not marked: the directory must not look like a bundle to sign.
    std::error_code ec;
    std::filesystem::remove(dir / kManifest, ec);
    return marked.error();
  }
  report.manifest = std::move(*m);
  return report;
}

Result<ImportReport> import_bundle(state::StateStore& store, const Config& config,
                                   const std::shared_ptr<const pki::TrustStore>& trust,
                                   const Clock& clock, const std::filesystem::path& dir,
                                   const std::string& actor) {
  auto back = read_signed_bundle(dir);
  if (!back) return back.error();
  const std::string& bundle_id = back->manifest.bundle_id;
  const auto now = clock.now();
  std::vector<std::pair<std::string, SignedArtifacts>> certs;
  std::size_t imported_before = 0;
  for (const auto& e : back->manifest.records) {
    auto rec = store.get(e.record_id);
    if (!rec) return rec.error();
    if (!*rec) return refused(e.record_id, "is not in this state store");
    const state::Record& r = **rec;
    if (r.state != state::RecordState::csrGenerated) {
      // Imported before: the record holds this bundle's certificate for it.
      const auto& mine = back->issued.at(r.id).certificate;
      if (r.bundle_id == bundle_id &&
          pki::same_hex(r.thumbprint_sha256, mine.facts().sha256_thumbprint)) {
        ++imported_before;
        continue;
      }
      return refused(r.id, "is " + std::string(state::to_string(r.state)) +
                               " now: it moved on since bundle " + bundle_id +
                               " was exported, and takes no certificate from it");
    }
    if (r.bundle_id != bundle_id)
      return refused(r.id, r.bundle_id.empty()
                               ? "was not sent out in bundle " + bundle_id
                               : "was sent out again in bundle " + r.bundle_id +
                                     (r.bundle_exported_at
                                          ? " at " + pki::format_rfc3339(*r.bundle_exported_at)
                                          : std::string()) +
                                     "; import that bundle instead");
    if (pki::sha256_hex(r.csr_pem) != e.csr_sha256)
      return refused(r.id, "has another CSR than the one sent out in bundle " + bundle_id);
    const std::string signer = signer_of(r);
    if (const SignerConfig* s = signer.empty() ? nullptr : config.signer(signer);
        s && !s->certificate.empty()) {
      auto expected = pki::Certificate::load(s->certificate);
      if (!expected) return expected.error().about("signers." + signer);
      if (expected->facts().sha256_thumbprint != back->ca->facts().sha256_thumbprint)
        return refused(r.id, "was signed by " + back->ca->subject() + ", not by signer " + signer +
                                 "'s CA " + expected->subject());
    }
    const auto& issued = back->issued.at(r.id);
    auto csr = pki::Csr::decode(pki::Bytes(r.csr_pem.begin(), r.csr_pem.end()));
    if (!csr) return csr.error().about("record " + r.id + ": stored CSR");
    const std::string file = (dir / (r.id + ".pem")).string();
    if (auto ok = validate_for_upload(issued.certificate, issued.chain, *csr, profile_for(r.kind),
                                      trust, now, file);
        !ok)
      return Error(ok.error().kind(), ok.error().subject(),
                   ok.error().message() + "; nothing from bundle " + bundle_id + " was imported");
    std::string chain_pem;
    for (const auto& c : issued.chain)
      chain_pem += c.pem();
    const auto f = issued.certificate.facts();
    certs.push_back({r.id,
                     {issued.certificate.pem(), chain_pem, f.not_before, f.not_after,
                      f.sha1_thumbprint, f.sha256_thumbprint}});
  }
  if (certs.empty())
    return Error(ErrorKind::invalid_input, dir.string(),
                 "bundle " + bundle_id + " was imported already (its " +
                     std::to_string(imported_before) + " record(s) are signed or beyond)");
  if (imported_before > 0)
    return Error(ErrorKind::invalid_input, dir.string(),
                 "bundle " + bundle_id + " was partly imported already (" +
                     std::to_string(imported_before) +
                     " record(s)); nothing was imported this time");
  Lifecycle life(store, clock, actor);
  auto done = life.signed_all(
      certs, "signed offline by " + back->ca->subject() + " (bundle " + bundle_id + ")");
  if (!done) return done.error();
  return ImportReport{bundle_id, back->ca->subject(), std::move(*done)};
}

}  // namespace pkiflow::engine::bundle

#include "engine/bundle/bundle.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/pki/detached_signature.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"

namespace pkiflow::engine::bundle {

namespace {

using json = nlohmann::json;

// A bundle file is small: CSRs, certificates, chains and two manifests.
constexpr std::uintmax_t kMaxFile = 1 << 20;

Error bad(const fs::path& file, const std::string& what) {
  return Error(ErrorKind::invalid_input, file.string(), what);
}

Result<std::string> read_text(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec)))
    return bad(file, "is missing (or not a regular file)");
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxFile) return bad(file, "is larger than " + pki::size_text(kMaxFile));
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (!in && !in.eof()) return Error(ErrorKind::io, file.string(), "cannot be read");
  return s.str();
}

Status write_private(const fs::path& file, const std::string& text) {
  return pki::write_file_atomic(file, text, 0600);
}

// A file name a manifest may give: a plain name in the bundle directory, no path.
bool plain_name(const std::string& n) {
  return !n.empty() && n.size() <= 64 && n != "." && n != ".." &&
         std::all_of(n.begin(), n.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
         });
}

bool sha256_text(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

// Strict reading of one JSON object: only the listed keys, each of the right type.
class Obj {
 public:
  Obj(const json& j, fs::path file, std::string where)
      : j_(j), file_(std::move(file)), where_(std::move(where)) {}
  Status only(const std::set<std::string>& keys) const {
    if (!j_.is_object()) return bad(file_, where_ + " must be an object");
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!keys.count(it.key())) return bad(file_, where_ + ": unknown field \"" + it.key() + "\"");
    return Ok{};
  }
  Status text(const char* key, std::string& out) const {
    if (!j_.contains(key) || !j_[key].is_string() || j_[key].get<std::string>().empty())
      return bad(file_, where_ + ": \"" + key + "\" must be a non-empty string");
    out = j_[key].get<std::string>();
    return Ok{};
  }
  Status file(const char* key, std::string& out) const {
    if (auto st = text(key, out); !st) return st;
    if (!plain_name(out))
      return bad(file_,
                 where_ + ": \"" + key + "\" must name a file in the bundle, not \"" + out + "\"");
    return Ok{};
  }
  Status hash(const char* key, std::string& out) const {
    if (auto st = text(key, out); !st) return st;
    if (!sha256_text(out))
      return bad(file_, where_ + ": \"" + key + "\" must be a SHA-256 in lower-case hex");
    return Ok{};
  }
  Status time(const char* key, TimePoint& out) const {
    std::string t;
    if (auto st = text(key, t); !st) return st;
    auto parsed = pki::parse_rfc3339(t);
    if (!parsed) return bad(file_, where_ + ": \"" + key + "\": " + parsed.error().message());
    out = *parsed;
    return Ok{};
  }
  Status count(const char* key, int& out) const {
    if (!j_.contains(key) || !j_[key].is_number_integer() || j_[key].get<long long>() < 1 ||
        j_[key].get<long long>() > 36'500)
      return bad(file_, where_ + ": \"" + key + "\" must be an integer from 1 to 36500");
    out = j_[key].get<int>();
    return Ok{};
  }
  Status format(const char* expected) const {
    std::string f;
    if (auto st = text("format", f); !st) return st;
    if (f != expected)
      return bad(file_, "is format \"" + f + "\"; this pkiflow reads \"" + expected + "\"");
    return Ok{};
  }

 private:
  const json& j_;
  fs::path file_;
  std::string where_;
};

Status first_error(std::initializer_list<Status> all) {
  for (const auto& s : all)
    if (!s) return s;
  return Ok{};
}

Result<json> parse_json(const fs::path& file, const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad(file, "is not valid JSON");
  return j;
}

// Reads a file the manifest names and checks its SHA-256.
Result<std::string> read_hashed(const fs::path& dir, const std::string& name,
                                const std::string& sha256) {
  auto text = read_text(dir / name);
  if (!text) return text.error();
  if (pki::sha256_hex(*text) != sha256)
    return bad(dir / name,
               "does not match its SHA-256 in the manifest: it changed after it was "
               "written (or is not the file that was)");
  return text;
}

// Every file in `dir` must be one of `allowed`.
Status only_files(const fs::path& dir, const std::set<std::string>& allowed) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (!allowed.count(n))
      return bad(e.path(),
                 "is not part of the bundle (no manifest names it); remove it, or "
                 "use the bundle as it was written");
  }
  if (ec) return Error(ErrorKind::io, dir.string(), "cannot be listed: " + ec.message());
  return Ok{};
}

std::vector<std::uint8_t> from_hex(const std::string& text) {
  std::vector<std::uint8_t> out;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  if (t.size() % 2) return {};
  for (std::size_t i = 0; i < t.size(); i += 2) {
    const int hi = val(t[i]), lo = val(t[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(const std::vector<std::uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

Result<Manifest> parse_manifest(const fs::path& file, const std::string& text) {
  auto j = parse_json(file, text);
  if (!j) return j.error();
  Obj top(*j, file, "the manifest");
  Manifest m;
  if (auto st = first_error({top.only({"format", "bundle_id", "created_at", "records"}),
                             top.format(kFormat), top.text("bundle_id", m.bundle_id),
                             top.time("created_at", m.created_at)});
      !st)
    return st.error();
  if (!is_record_id(m.bundle_id)) return bad(file, "\"bundle_id\" is not a bundle id");
  if (!(*j)["records"].is_array() || (*j)["records"].empty())
    return bad(file, "\"records\" must be a non-empty array");
  std::set<std::string> ids, files;
  for (const auto& r : (*j)["records"]) {
    Obj o(r, file, "records[" + std::to_string(m.records.size()) + "]");
    Entry e;
    if (auto st = first_error(
            {o.only({"record", "name", "kind", "tenant", "profile", "validity_days", "subject",
                     "key", "csr", "csr_sha256"}),
             o.text("record", e.record_id), o.text("name", e.name), o.text("kind", e.kind),
             o.text("tenant", e.tenant), o.text("profile", e.profile),
             o.count("validity_days", e.validity_days), o.text("subject", e.subject),
             o.text("key", e.key), o.file("csr", e.csr_file), o.hash("csr_sha256", e.csr_sha256)});
        !st)
      return st.error();
    if (!ids.insert(e.record_id).second)
      return bad(file, "record " + e.record_id + " is listed twice");
    if (!files.insert(e.csr_file).second) return bad(file, e.csr_file + " is listed twice");
    m.records.push_back(std::move(e));
  }
  return m;
}

Result<SignedManifest> parse_signed(const fs::path& file, const std::string& text) {
  auto j = parse_json(file, text);
  if (!j) return j.error();
  Obj top(*j, file, "the signed manifest");
  SignedManifest m;
  if (auto st = first_error(
          {top.only({"format", "bundle_id", "manifest_sha256", "signed_at", "ca", "certificates"}),
           top.format(kSignedFormat), top.text("bundle_id", m.bundle_id),
           top.hash("manifest_sha256", m.manifest_sha256), top.time("signed_at", m.signed_at)});
      !st)
    return st.error();
  Obj ca((*j)["ca"], file, "\"ca\"");
  if (auto st = first_error({ca.only({"subject", "sha256"}), ca.text("subject", m.ca_subject),
                             ca.text("sha256", m.ca_sha256)});
      !st)
    return st.error();
  if (!(*j)["certificates"].is_array()) return bad(file, "\"certificates\" must be an array");
  for (const auto& c : (*j)["certificates"]) {
    Obj o(c, file, "certificates[" + std::to_string(m.certificates.size()) + "]");
    SignedEntry e;
    if (auto st = first_error(
            {o.only({"record", "certificate", "certificate_sha256", "chain", "chain_sha256"}),
             o.text("record", e.record_id), o.file("certificate", e.certificate_file),
             o.hash("certificate_sha256", e.certificate_sha256), o.file("chain", e.chain_file),
             o.hash("chain_sha256", e.chain_sha256)});
        !st)
      return st.error();
    m.certificates.push_back(std::move(e));
  }
  return m;
}

std::string describe_key(const pki::PublicKeyInfo& k) {
  if (k.algorithm == "RSA") return "RSA " + std::to_string(k.bits);
  if (k.curve == "secp256r1") return "ECDSA P-256";
  if (k.curve == "secp384r1") return "ECDSA P-384";
  if (k.curve == "secp521r1") return "ECDSA P-521";
  return k.algorithm + " " + std::to_string(k.bits);
}

std::string to_json(const Manifest& m) {
  json records = json::array();
  for (const auto& e : m.records)
    records.push_back({{"record", e.record_id},
                       {"name", e.name},
                       {"kind", e.kind},
                       {"tenant", e.tenant},
                       {"profile", e.profile},
                       {"validity_days", e.validity_days},
                       {"subject", e.subject},
                       {"key", e.key},
                       {"csr", e.csr_file},
                       {"csr_sha256", e.csr_sha256}});
  json j{{"format", kFormat},
         {"bundle_id", m.bundle_id},
         {"created_at", pki::format_rfc3339(m.created_at)},
         {"records", records}};
  return json_text(j, 2) + "\n";
}

std::string to_json(const SignedManifest& m) {
  json certs = json::array();
  for (const auto& e : m.certificates)
    certs.push_back({{"record", e.record_id},
                     {"certificate", e.certificate_file},
                     {"certificate_sha256", e.certificate_sha256},
                     {"chain", e.chain_file},
                     {"chain_sha256", e.chain_sha256}});
  json j{{"format", kSignedFormat},
         {"bundle_id", m.bundle_id},
         {"manifest_sha256", m.manifest_sha256},
         {"signed_at", pki::format_rfc3339(m.signed_at)},
         {"ca", {{"subject", m.ca_subject}, {"sha256", m.ca_sha256}}},
         {"certificates", certs}};
  return json_text(j, 2) + "\n";
}

Result<Manifest> write_bundle(const fs::path& dir, const std::string& bundle_id,
                              const std::vector<Outgoing>& records, TimePoint now) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    return bad(dir, "is not empty; a bundle goes into a new or empty directory");
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorKind::io, dir.string(), "cannot be created: " + ec.message());
  ::chmod(dir.c_str(), 0700);
  Manifest m;
  m.bundle_id = bundle_id;
  m.created_at = now;
  for (const auto& out : records) {
    Entry e = out.entry;
    e.csr_file = e.record_id + ".csr";
    e.csr_sha256 = pki::sha256_hex(out.csr_pem);
    if (auto st = write_private(dir / e.csr_file, out.csr_pem); !st) return st.error();
    m.records.push_back(std::move(e));
  }
  if (auto st = write_private(dir / kManifest, to_json(m)); !st) return st.error();
  return m;
}

Result<Outbound> read_bundle(const fs::path& dir) {
  auto text = read_text(dir / kManifest);
  if (!text) return text.error();
  auto m = parse_manifest(dir / kManifest, *text);
  if (!m) return m.error();
  std::error_code ec;
  if (fs::exists(dir / kSigned, ec))
    return bad(dir, "is signed already (" + std::string(kSigned) +
                        " is there): take it back to import it");
  std::set<std::string> allowed{kManifest};
  Outbound out;
  for (const auto& e : m->records) {
    allowed.insert(e.csr_file);
    auto csr_text = read_hashed(dir, e.csr_file, e.csr_sha256);
    if (!csr_text) return csr_text.error();
    auto csr = pki::Csr::decode(pki::Bytes(csr_text->begin(), csr_text->end()));
    if (!csr) return csr.error().about((dir / e.csr_file).string());
    if (!csr->verify_signature())
      return bad(dir / e.csr_file, "its self-signature does not verify; refusing to sign it");
    if (csr->subject() != e.subject)
      return bad(dir / e.csr_file,
                 "its subject is " + csr->subject() + ", not the manifest's " + e.subject);
    out.csrs.emplace(e.record_id, std::move(*csr));
  }
  if (auto st = only_files(dir, allowed); !st) return st.error();
  out.manifest = std::move(*m);
  out.manifest_text = std::move(*text);
  return out;
}

Result<SignedManifest> sign_bundle(const fs::path& dir, const Outbound& bundle, Signer& signer,
                                   const pki::Certificate& ca_certificate,
                                   const pki::PrivateKey& ca_key, TimePoint now, pki::Rng& rng) {
  SignedManifest sm;
  sm.bundle_id = bundle.manifest.bundle_id;
  sm.manifest_sha256 = pki::sha256_hex(bundle.manifest_text);
  sm.signed_at = now;
  sm.ca_subject = ca_certificate.subject();
  sm.ca_sha256 = ca_certificate.facts().sha256_thumbprint;
  // Sign everything first: a failure leaves no file behind.
  std::vector<std::pair<SignedEntry, std::pair<std::string, std::string>>> written;
  for (const auto& e : bundle.manifest.records) {
    const auto* profile = pki::find_profile(e.profile);
    if (!profile)
      return bad(dir / kManifest, "record " + e.record_id + " asks for profile \"" + e.profile +
                                      "\", which this pkiflow does not know");
    auto issued = signer.sign(
        SignRequest{bundle.csrs.at(e.record_id), *profile, e.validity_days, now, e.record_id});
    if (!issued) return issued.error().about("record " + e.record_id + " (" + e.name + ")");
    std::string chain;
    for (const auto& c : issued->chain)
      chain += c.pem();
    SignedEntry s;
    s.record_id = e.record_id;
    s.certificate_file = e.record_id + ".pem";
    s.chain_file = e.record_id + ".chain.pem";
    s.certificate_sha256 = pki::sha256_hex(issued->certificate.pem());
    s.chain_sha256 = pki::sha256_hex(chain);
    written.push_back({s, {issued->certificate.pem(), chain}});
  }
  for (const auto& [s, files] : written) {
    if (auto st = write_private(dir / s.certificate_file, files.first); !st) return st.error();
    if (auto st = write_private(dir / s.chain_file, files.second); !st) return st.error();
    sm.certificates.push_back(s);
  }
  const std::string text = to_json(sm);
  auto sig = pki::sign_detached(ca_key, text, rng);
  if (!sig) return sig.error();
  if (auto st = write_private(dir / kSigned, text); !st) return st.error();
  if (auto st = write_private(dir / kSignature, to_hex(*sig) + "\n"); !st) return st.error();
  return sm;
}

Result<Returned> read_signed_bundle(const fs::path& dir) {
  auto manifest_text = read_text(dir / kManifest);
  if (!manifest_text) return manifest_text.error();
  auto m = parse_manifest(dir / kManifest, *manifest_text);
  if (!m) return m.error();
  auto signed_text = read_text(dir / kSigned);
  if (!signed_text)
    return bad(dir / kSigned,
               "is missing: the bundle has not been signed (pkiflow sign --bundle "
               "on the offline host)");
  auto sm = parse_signed(dir / kSigned, *signed_text);
  if (!sm) return sm.error();
  if (sm->bundle_id != m->bundle_id)
    return bad(dir / kSigned, "is for bundle " + sm->bundle_id + ", not " + m->bundle_id);
  if (sm->manifest_sha256 != pki::sha256_hex(*manifest_text))
    return bad(dir / kManifest,
               "is not the manifest that was signed (its SHA-256 differs from "
               "the one in signed.json)");
  // The same records, in the same order: nothing added, dropped or swapped.
  if (sm->certificates.size() != m->records.size())
    return bad(dir / kSigned, "has " + std::to_string(sm->certificates.size()) +
                                  " certificate(s) for the manifest's " +
                                  std::to_string(m->records.size()) + " record(s)");
  std::set<std::string> allowed{kManifest, kSigned, kSignature};
  Returned out{*m, *sm, {}, std::nullopt};
  for (std::size_t i = 0; i < m->records.size(); ++i) {
    const auto& e = m->records[i];
    const auto& s = sm->certificates[i];
    if (s.record_id != e.record_id)
      return bad(dir / kSigned, "lists record " + s.record_id + " where the manifest has " +
                                    e.record_id + " (entry " + std::to_string(i + 1) + ")");
    if (s.certificate_file != e.record_id + ".pem" || s.chain_file != e.record_id + ".chain.pem")
      return bad(dir / kSigned, "names other files than " + e.record_id + ".pem and " +
                                    e.record_id + ".chain.pem for record " + e.record_id);
    allowed.insert({e.csr_file, s.certificate_file, s.chain_file});
    if (auto csr = read_hashed(dir, e.csr_file, e.csr_sha256); !csr) return csr.error();
    auto cert_text = read_hashed(dir, s.certificate_file, s.certificate_sha256);
    if (!cert_text) return cert_text.error();
    auto chain_text = read_hashed(dir, s.chain_file, s.chain_sha256);
    if (!chain_text) return chain_text.error();
    auto certs = pki::Certificate::decode_all(pki::Bytes(cert_text->begin(), cert_text->end()));
    if (!certs) return certs.error().about((dir / s.certificate_file).string());
    if (certs->size() != 1)
      return bad(dir / s.certificate_file, "must hold exactly one certificate");
    auto chain = pki::Certificate::decode_all(pki::Bytes(chain_text->begin(), chain_text->end()));
    if (!chain) return chain.error().about((dir / s.chain_file).string());
    if (chain->empty()) return bad(dir / s.chain_file, "holds no certificate");
    out.issued.emplace(e.record_id, Issued{std::move(certs->front()), std::move(*chain)});
  }
  if (auto st = only_files(dir, allowed); !st) return st.error();
  // The CA named in signed.json is each chain's first certificate; its key signed signed.json.
  const auto& first = out.issued.begin()->second.chain.front();
  if (first.facts().sha256_thumbprint != sm->ca_sha256)
    return bad(dir / kSigned, "names CA " + sm->ca_sha256 + " but the chains begin with " +
                                  first.facts().sha256_thumbprint);
  for (const auto& [id, issued] : out.issued)
    if (issued.chain.front().facts().sha256_thumbprint != sm->ca_sha256)
      return bad(dir / (id + ".chain.pem"),
                 "begins with another CA than the bundle's (" + sm->ca_subject + ")");
  auto sig_text = read_text(dir / kSignature);
  if (!sig_text) return sig_text.error();
  const auto sig = from_hex(*sig_text);
  if (sig.empty() || !pki::verify_detached(first, *signed_text, sig))
    return bad(dir / kSignature,
               "does not verify with the key of " + sm->ca_subject +
                   ": signed.json was changed after signing, or another key signed it");
  out.ca = first;
  return out;
}

}  // namespace pkiflow::engine::bundle

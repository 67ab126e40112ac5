#include "engine/api/record_json.hpp"

#include <nlohmann/json.hpp>

#include "engine/pki/csr.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/time_format.hpp"

namespace pkiflow::engine {

namespace {

// JSON string literal of `v` (RFC 8259: quote, backslash and control characters escaped).
void append_json_string(std::string& out, std::string_view v) {
  static const char* kHex = "0123456789abcdef";
  out += '"';
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

// The record as one line of JSON, written directly (status --json prints 10,000 of them in
// well under 100 ms). The stored profile is spliced in after a validity check.
std::string record_json_text(const state::Record& r, const std::optional<RenewalTime>& renewal) {
  std::string out = "{";
  auto key = [&](const char* k) {
    if (out.size() > 1) out += ',';
    append_json_string(out, k);
    out += ':';
  };
  auto str = [&](const char* k, std::string_view v) {
    key(k);
    append_json_string(out, v);
  };
  auto time = [&](const char* k, const std::optional<state::TimePoint>& t) {
    key(k);
    if (t)
      append_json_string(out, pki::format_rfc3339(*t));
    else
      out += "null";
  };
  str("id", r.id);
  str("kind", state::to_string(r.kind));
  str("name", r.name);
  str("tenant", r.tenant);
  str("state", state::to_string(r.state));
  if (r.failed_from) str("failed_from", state::to_string(*r.failed_from));
  str("remote_id", r.remote_id);
  str("remote_status", r.remote_status);
  time("not_after", r.not_after);
  if (renewal) {
    time("renew_at", renewal->at);
    str("renew_reason", renewal->reason);
  }
  time("verified_at", r.verified_at);
  key("drift");
  if (r.drift.empty())
    out += "null";
  else
    append_json_string(out, r.drift);
  str("drift_note", r.drift_note);
  str("thumbprint_sha1", r.thumbprint_sha1);
  str("renews", r.renews);
  str("superseded_by", r.superseded_by);
  key("attempts");
  out += std::to_string(r.attempts);
  time("next_attempt_at", r.next_attempt_at);
  str("last_error", r.last_error);
  if (!r.bundle_id.empty()) {
    str("bundle_id", r.bundle_id);
    time("bundle_exported_at", r.bundle_exported_at);
  }
  key("profile");
  out += nlohmann::json::accept(r.profile_json) ? r.profile_json : std::string("null");
  time("created_at", r.created_at);
  time("updated_at", r.updated_at);
  key("version");
  out += std::to_string(r.version);
  out += '}';
  return out;
}

nlohmann::ordered_json key_json(const pki::PublicKeyInfo& k) {
  nlohmann::ordered_json j{{"algorithm", k.algorithm}, {"bits", k.bits}};
  if (!k.curve.empty()) j["curve"] = k.curve;
  return j;
}

std::string record_show_json_text(const state::Record& r,
                                  const std::optional<RenewalTime>& renewal) {
  auto j = nlohmann::ordered_json::parse(record_json_text(r, renewal));
  // The key as the CSR has it (for a TLS-inspection CA, the one the service made).
  if (!r.csr_pem.empty())
    if (auto c = pki::Csr::decode(pki::Bytes(r.csr_pem.begin(), r.csr_pem.end())); c)
      j["csr_key"] = key_json(c->facts().key);
  j["key_path"] = r.key_path;
  j["csr_pem"] = r.csr_pem;
  j["certificate_pem"] = r.certificate_pem;
  j["chain_pem"] = r.chain_pem;
  return json_text(j, -1);
}

}  // namespace pkiflow::engine

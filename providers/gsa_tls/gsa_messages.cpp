#include "providers/gsa_tls/gsa_messages.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "engine/pki/time_format.hpp"
#include "providers/graph/encoding.hpp"

namespace pkiflow::gsa {

namespace {

constexpr std::array<std::pair<TlsStatus, const char*>, 10> kStatuses{{
    {TlsStatus::csrGenerated, "csrGenerated"},
    {TlsStatus::enrolling, "enrolling"},
    {TlsStatus::active, "active"},
    {TlsStatus::expiring, "expiring"},
    {TlsStatus::expired, "expired"},
    {TlsStatus::enabled, "enabled"},
    {TlsStatus::disabled, "disabled"},
    {TlsStatus::creating, "creating"},
    {TlsStatus::revoked, "revoked"},
    {TlsStatus::unknownFutureValue, "unknownFutureValue"},
}};

graph::HttpRequest request(const char* method, std::string url,
                           const std::string& client_request_id) {
  graph::HttpRequest r;
  r.method = method;
  r.url = std::move(url);
  r.headers = {{"client-request-id", client_request_id},
               {"Prefer", "include-unknown-enum-members"}};
  return r;
}

graph::HttpRequest with_json(graph::HttpRequest r, const nlohmann::ordered_json& body) {
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body.dump();
  return r;
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<std::chrono::system_clock::time_point> time_of(const std::string& s) {
  if (s.empty()) return std::nullopt;
  // Graph writes "2026-11-25T09:00:00Z" or with fractions; a zone-less value is UTC.
  auto t = pki::parse_rfc3339(s);
  if (!t && s.back() != 'Z') t = pki::parse_rfc3339(s + "Z");
  if (!t) return std::nullopt;
  return *t;
}

RemoteCa from_json(const nlohmann::json& j) {
  RemoteCa ca;
  ca.id = text(j, "id");
  ca.name = text(j, "name");
  ca.common_name = text(j, "commonName");
  ca.organization_name = text(j, "organizationName");
  ca.status = parse_status(text(j, "status"));
  ca.csr_pem = text(j, "certificateSigningRequest");
  ca.certificate_pem = text(j, "certificate");
  ca.chain_pem = text(j, "chain");
  if (j.contains("validity") && j["validity"].is_object()) {
    ca.valid_from = time_of(text(j["validity"], "startDateTime"));
    ca.valid_to = time_of(text(j["validity"], "endDateTime"));
  }
  return ca;
}

// One object read by events, keeping only the fields RemoteCa has: an answer is mostly the
// CSR, certificate and chain (PEM, several KB), which a document would copy once more into its
// tree before they were copied out. Reads as from_json reads a document: a key that appears twice
// counts by its last value, and a field whose value is not a string reads "".
class RemoteCaReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& v) override {
    std::string* to = target_;
    value();
    if (to) *to = std::move(v);
    return true;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0) object_ = true;
    const bool validity = depth_ == 1 && at_validity_;
    value();
    ++depth_;
    if (validity) in_validity_ = true;
    return true;
  }
  bool start_array(std::size_t) override {
    value();
    ++depth_;
    return true;
  }
  bool end_object() override { return end(); }
  bool end_array() override { return end(); }
  bool key(string_t& k) override {
    target_ = nullptr;
    at_validity_ = false;
    if (depth_ == 1) {
      if (k == "validity") at_validity_ = true;
      for (auto& [name, field] : fields_)
        if (k == name) target_ = field;
    } else if (depth_ == 2 && in_validity_) {  // (deeper keys of it are not its own)
      target_ = k == "startDateTime" ? &from_ : k == "endDateTime" ? &to_ : nullptr;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  bool is_object() const { return object_; }
  RemoteCa take() {
    ca_.status = parse_status(status_);
    ca_.valid_from = time_of(from_);
    ca_.valid_to = time_of(to_);
    return std::move(ca_);
  }

 private:
  // A value starts where target_ (or "validity") points: "" until a string says otherwise.
  bool value() {
    if (target_) target_->clear();
    if (depth_ == 1 && at_validity_) {
      from_.clear();
      to_.clear();
    }
    target_ = nullptr;
    at_validity_ = false;
    return true;
  }
  bool end() {
    if (--depth_ <= 1) in_validity_ = false;  // the validity object (or the whole) ended
    return true;
  }

  RemoteCa ca_;
  std::string status_, from_, to_;
  std::array<std::pair<const char*, std::string*>, 8> fields_{{
      {"id", &ca_.id},
      {"name", &ca_.name},
      {"commonName", &ca_.common_name},
      {"organizationName", &ca_.organization_name},
      {"status", &status_},
      {"certificateSigningRequest", &ca_.csr_pem},
      {"certificate", &ca_.certificate_pem},
      {"chain", &ca_.chain_pem},
  }};
  std::string* target_ = nullptr;
  bool at_validity_ = false;  // the value about to start is the top level's "validity"
  bool in_validity_ = false;  // inside that object (its keys are at depth 2)
  bool object_ = false;
  int depth_ = 0;
};

}  // namespace

std::string name_prefix(const std::string& record_id) {
  return "pf" + record_id.substr(0, kMaxNameLength - 3);
}

Result<std::string> object_name(const std::string& record_id, int generation) {
  static constexpr const char* kDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford
  if (generation < 0 || generation >= kMaxGenerations)
    return Error(ErrorKind::invalid_input, "record " + record_id,
                 "all " + std::to_string(kMaxGenerations) +
                     " object names of this record are used up by earlier create attempts; "
                     "cancel it and request a new one");
  return name_prefix(record_id) + kDigits[generation];
}

StatusValue parse_status(std::string_view raw) {
  StatusValue v;
  v.raw = std::string(raw);
  for (const auto& [s, name] : kStatuses)
    if (raw == name) v.status = s;
  return v;
}

bool in_force(const StatusValue& s) {
  return s.status == TlsStatus::active || s.status == TlsStatus::enabled;
}

Result<RemoteCa> parse_remote_ca(std::string_view json) {
  RemoteCaReader reader;
  const bool parsed = nlohmann::json::sax_parse(json, &reader);
  RemoteCa ca = reader.take();
  if (!parsed || !reader.is_object() || ca.id.empty())
    return Error(ErrorKind::parse, "externalCertificateAuthorityCertificate",
                 "the response is not an object with an id");
  return ca;
}

Result<std::vector<RemoteCa>> parse_remote_list(std::string_view json, std::string& next_link) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("value") || !j["value"].is_array())
    return Error(ErrorKind::parse, "externalCertificateAuthorityCertificates",
                 "the response has no \"value\" array");
  std::vector<RemoteCa> out;
  for (const auto& item : j["value"])
    if (item.is_object()) out.push_back(from_json(item));
  next_link = text(j, "@odata.nextLink");
  return out;
}

graph::HttpRequest create_request(const std::string& base, const std::string& name,
                                  const std::string& common_name,
                                  const std::string& organization_name,
                                  const std::string& client_request_id) {
  nlohmann::ordered_json body{
      {"@odata.type", "#microsoft.graph.networkaccess.externalCertificateAuthorityCertificate"},
      {"name", name},
      {"commonName", common_name},
      {"organizationName", organization_name}};
  return with_json(request("POST", base + kCollection, client_request_id), body);
}

graph::HttpRequest get_request(const std::string& base, const std::string& id,
                               const std::string& client_request_id) {
  return request("GET", base + kCollection + "/" + graph::percent_encode(id), client_request_id);
}

graph::HttpRequest find_by_name_request(const std::string& base, const std::string& name,
                                        const std::string& client_request_id) {
  // OData string literals double their single quotes.
  std::string literal;
  for (char c : name)
    literal += c == '\'' ? std::string("''") : std::string(1, c);
  return request(
      "GET", base + kCollection + "?$filter=" + graph::percent_encode("name eq '" + literal + "'"),
      client_request_id);
}

graph::HttpRequest find_by_prefix_request(const std::string& base, const std::string& prefix,
                                          const std::string& client_request_id) {
  std::string literal;
  for (char c : prefix)
    literal += c == '\'' ? std::string("''") : std::string(1, c);
  return request("GET",
                 base + kCollection +
                     "?$filter=" + graph::percent_encode("startsWith(name, '" + literal + "')"),
                 client_request_id);
}

graph::HttpRequest upload_request(const std::string& base, const std::string& id,
                                  const std::string& certificate_pem, const std::string& chain_pem,
                                  const std::string& client_request_id) {
  nlohmann::ordered_json body{{"certificate", certificate_pem}, {"chain", chain_pem}};
  return with_json(
      request("PATCH", base + kCollection + "/" + graph::percent_encode(id), client_request_id),
      body);
}

graph::HttpRequest enable_request(const std::string& base, const std::string& id,
                                  const std::string& client_request_id) {
  return with_json(
      request("PATCH", base + kCollection + "/" + graph::percent_encode(id), client_request_id),
      nlohmann::ordered_json{{"status", "enabled"}});
}

graph::HttpRequest delete_request(const std::string& base, const std::string& id,
                                  const std::string& client_request_id) {
  return request("DELETE", base + kCollection + "/" + graph::percent_encode(id), client_request_id);
}

}  // namespace pkiflow::gsa

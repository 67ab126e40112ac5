#include "engine/pki/validate/batch.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/pki/time_format.hpp"

namespace pkiflow::pki {

namespace {

// Lines are read and validated in chunks so memory stays bounded on huge manifests.
constexpr std::size_t kChunkLines = 1024;

// Parsed files, shared by all lines of a manifest.
class FileCache {
 public:
  Result<std::vector<Certificate>> certs(const std::filesystem::path& p) {
    auto it = certs_.find(p.string());
    if (it != certs_.end()) return it->second;
    auto loaded = Certificate::load_all(p);
    if (!loaded) return loaded.error();
    certs_.emplace(p.string(), *loaded);
    return loaded;
  }
  Result<std::shared_ptr<const TrustStore>> trust(const std::string& where) {
    auto it = trust_.find(where);
    if (it != trust_.end()) return it->second;
    auto loaded = TrustStore::load(where);
    if (!loaded) return loaded.error();
    auto shared = std::make_shared<const TrustStore>(std::move(*loaded));
    trust_.emplace(where, shared);
    return shared;
  }

 private:
  std::map<std::string, std::vector<Certificate>> certs_;
  std::map<std::string, std::shared_ptr<const TrustStore>> trust_;
};

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base / path;
}

Result<ValidationRequest> parse_line(const nlohmann::json& j, const std::filesystem::path& base,
                                     const BatchOptions& opts, FileCache& cache) {
  auto str = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string())
      throw std::invalid_argument(std::string("\"") + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  auto cert_path = str("cert");
  auto trust_where = str("trust");
  if (!cert_path) return Error(ErrorKind::invalid_input, "cert", "missing \"cert\"");
  if (!trust_where) return Error(ErrorKind::invalid_input, "trust", "missing \"trust\"");
  auto certs = cache.certs(resolve(base, *cert_path));
  if (!certs) return certs.error();
  if (certs->empty())
    return Error(ErrorKind::parse, *cert_path, "empty file, expected a certificate");
  std::string trust_key =
      *trust_where == "system" ? "system" : resolve(base, *trust_where).string();
  auto trust = cache.trust(trust_key);
  if (!trust) return trust.error();
  ValidationRequest req{certs->front(),  {}, *trust,       std::nullopt, nullptr, {},
                        opts.default_at, 30, opts.defaults};
  if (auto chain = str("chain")) {
    auto c = cache.certs(resolve(base, *chain));
    if (!c) return c.error();
    req.chain = *c;
  }
  if (auto csr = str("csr")) {
    auto c = Csr::load(resolve(base, *csr));
    if (!c) return c.error();
    req.csr = *c;
  }
  if (auto profile = str("profile")) {
    req.profile = find_profile(*profile);
    if (!req.profile)
      return Error(ErrorKind::invalid_input, "profile",
                   "unknown profile '" + *profile + "' (" + profile_names() + ")");
  }
  if (j.contains("crl")) {
    if (!j["crl"].is_array())
      return Error(ErrorKind::invalid_input, "crl", "\"crl\" must be an array of paths");
    for (const auto& c : j["crl"]) {
      if (!c.is_string())
        return Error(ErrorKind::invalid_input, "crl", "\"crl\" must be an array of paths");
      auto crls = Crl::load_all(resolve(base, c.get<std::string>()));
      if (!crls) return crls.error();
      for (auto& x : *crls)
        req.crls.push_back(std::move(x));
    }
  }
  if (auto at = str("at")) {
    auto t = parse_rfc3339(*at);
    if (!t) return t.error().about("at");
    req.at = *t;
  }
  static const char* kOptionKeys[] = {"crl_check",
                                      "purpose",
                                      "eku",
                                      "max_depth",
                                      "policy",
                                      "require_explicit_policy",
                                      "inhibit_policy_mapping",
                                      "inhibit_any_policy",
                                      "lenient"};
  if (std::any_of(std::begin(kOptionKeys), std::end(kOptionKeys),
                  [&](const char* k) { return j.contains(k); })) {
    OptionText t;
    t.crl_check = str("crl_check").value_or("");
    t.purpose = str("purpose").value_or("");
    auto strings = [&](const char* key) {
      std::vector<std::string> out;
      if (!j.contains(key)) return out;
      if (!j[key].is_array())
        throw std::invalid_argument(std::string("\"") + key + "\" must be an array of strings");
      for (const auto& x : j[key]) {
        if (!x.is_string())
          throw std::invalid_argument(std::string("\"") + key + "\" must be an array of strings");
        out.push_back(x.get<std::string>());
      }
      return out;
    };
    auto flag = [&](const char* key) {
      if (!j.contains(key)) return false;
      if (!j[key].is_boolean())
        throw std::invalid_argument(std::string("\"") + key + "\" must be true or false");
      return j[key].get<bool>();
    };
    t.eku = strings("eku");
    t.policies = strings("policy");
    if (j.contains("max_depth")) {
      if (!j["max_depth"].is_number_integer())
        return Error(ErrorKind::invalid_input, "max_depth", "must be an integer");
      t.max_depth = j["max_depth"].get<long long>();
    }
    t.require_explicit_policy = flag("require_explicit_policy");
    t.inhibit_policy_mapping = flag("inhibit_policy_mapping");
    t.inhibit_any_policy = flag("inhibit_any_policy");
    t.lenient = flag("lenient");
    auto o = make_options(t, true);
    if (!o) return o.error();
    req.options = *o;
  }
  if (j.contains("min_remaining_days")) {
    if (!j["min_remaining_days"].is_number_integer())
      return Error(ErrorKind::invalid_input, "min_remaining_days", "must be an integer");
    req.min_remaining_days = j["min_remaining_days"].get<int>();
  }
  return req;
}

unsigned effective_jobs(unsigned jobs) {
  if (jobs != 0) return jobs;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

}  // namespace

std::vector<ChainReport> validate_all(const std::vector<ValidationRequest>& requests,
                                      const ValidatorLimits& limits, unsigned jobs) {
  std::vector<ChainReport> out(requests.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    Validator validator(limits);
    for (std::size_t i = next++; i < requests.size(); i = next++)
      out[i] = validator.validate(requests[i]);
  };
  unsigned n = std::min<unsigned>(effective_jobs(jobs),
                                  static_cast<unsigned>(std::max<std::size_t>(requests.size(), 1)));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  return out;
}

Status validate_manifest(std::istream& manifest, const std::filesystem::path& base_dir,
                         const BatchOptions& options,
                         const std::function<void(const BatchOutcome&)>& sink) {
  FileCache cache;
  std::size_t line_no = 0;
  std::string line;
  bool more = true;
  while (more) {
    std::vector<BatchOutcome> outcomes;
    std::vector<ValidationRequest> requests;
    std::vector<std::size_t> request_of;  // outcome index -> request index
    while (outcomes.size() < kChunkLines &&
           (more = static_cast<bool>(std::getline(manifest, line)))) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      BatchOutcome o;
      o.line = line_no;
      o.id = std::to_string(line_no);
      try {
        auto j = nlohmann::json::parse(line);
        if (!j.is_object()) throw std::invalid_argument("not a JSON object");
        if (j.contains("id"))
          o.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
        auto req = parse_line(j, base_dir, options, cache);
        if (req) {
          request_of.push_back(outcomes.size());
          requests.push_back(std::move(*req));
        } else {
          o.error = req.error();
        }
      } catch (const std::exception& e) {
        o.error =
            Error(ErrorKind::invalid_input, "manifest line " + std::to_string(line_no), e.what());
      }
      outcomes.push_back(std::move(o));
    }
    auto reports = validate_all(requests, options.limits, options.jobs);
    for (std::size_t r = 0; r < reports.size(); ++r)
      outcomes[request_of[r]].report = std::move(reports[r]);
    for (const auto& o : outcomes)
      sink(o);
  }
  if (manifest.bad()) return Error(ErrorKind::io, "manifest", "read error");
  return Ok{};
}

}  // namespace pkiflow::pki

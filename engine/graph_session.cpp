// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "engine/graph_session.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/signers/make_signer.hpp"
#include "providers/entra_cba/cba_provider.hpp"
#include "providers/graph/async_semaphore.hpp"
#include "providers/graph/client_assertion.hpp"
#include "providers/graph/cloud.hpp"
#include "providers/gsa_tls/gsa_provider.hpp"
#include "providers/intune_codesigning/intune_provider.hpp"

namespace pkiflow::engine {

namespace net = boost::asio;

namespace {

// How long a tenant's shared "not before" (throttling seen by the fleet) is taken as read.
constexpr std::chrono::seconds kThrottleReread{1};

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  return s;
}

// The first line of a secret file; the file must not be readable by others.
Result<std::string> read_secret_file(const std::filesystem::path& file) {
  auto bytes = pki::read_file_bytes(file, 64 * 1024);
  if (!bytes) return bytes.error();
  std::string v(bytes->begin(), bytes->end());
  v = v.substr(0, v.find_first_of("\r\n"));
  if (v.empty()) return Error(ErrorKind::invalid_input, file.string(), "the secret file is empty");
  return v;
}

}  // namespace

const Result<CredentialCache::Loaded>& CredentialCache::get(const TenantAuth& a) {
  std::string id;
  for (const std::string* part :
       {&a.certificate, &a.key, &a.key_passphrase_file, &a.key_passphrase_env})
    id += std::to_string(part->size()) + ":" + *part;
  if (auto it = loaded_.find(id); it != loaded_.end()) return it->second;
  auto load = [&a]() -> Result<Loaded> {
    auto cert = pki::Certificate::load(a.certificate);
    if (!cert) return cert.error();
    std::optional<std::filesystem::path> pass_file;
    if (!a.key_passphrase_file.empty()) pass_file = a.key_passphrase_file;
    auto pass = pki::find_passphrase(pass_file, a.key_passphrase_env.empty()
                                                    ? pki::kPassphraseEnv
                                                    : a.key_passphrase_env.c_str());
    if (!pass) return pass.error();
    auto key = pki::PrivateKey::load(a.key, *pass ? &**pass : nullptr);
    if (!key) return key.error();
    return Loaded{std::make_shared<const pki::Certificate>(std::move(*cert)),
                  std::make_shared<const pki::PrivateKey>(std::move(*key))};
  };
  return loaded_.emplace(std::move(id), load()).first->second;
}

Result<graph::ClientConfig> client_config(const TenantConfig& t, const Clock& clock,
                                          CredentialCache* credentials) {
  const std::string where = "tenants." + t.name;
  auto cloud = graph::parse_cloud(t.extras->cloud);
  if (!cloud) return cloud.error().about(where + ".cloud");
  const auto ep = graph::endpoints(*cloud);
  graph::ClientConfig c;
  c.graph_base = strip_slash(t.graph_url.empty() ? ep.graph_base : t.graph_url);
  c.token_url = t.token_url.empty() ? graph::token_url(ep, t.tenant_id) : t.token_url;
  c.scope = ep.scope;
  c.tenant = t.tenant_id;
  c.client_id = t.client_id;
  if (auto u = graph::parse_url(c.graph_base, where + ".graph_url"); !u) return u.error();
  if (auto u = graph::parse_url(c.token_url, where + ".token_url"); !u) return u.error();
  const auto& a = *t.auth;
  if (a.kind == TenantAuth::Kind::secret) {
    const std::string env = a.secret_env;
    const std::filesystem::path file = a.secret_file;
    c.credential = [env, file, where]() -> Result<graph::ClientCredential> {
      graph::ClientCredential cred;
      cred.kind = graph::ClientCredential::Kind::secret;
      if (!file.empty()) {
        auto v = read_secret_file(file);
        if (!v) return v.error();
        cred.value = std::move(*v);
        return cred;
      }
      const char* v = std::getenv(env.c_str());
      if (!v || !*v)
        return Error(ErrorKind::invalid_input, where + ".auth",
                     "the environment variable " + env + " (client_secret_env) is not set");
      cred.value = v;
      return cred;
    };
    return c;
  }
  // Certificate credential: load once, sign a fresh assertion for every token request.
  CredentialCache own;
  const auto& loaded = (credentials ? *credentials : own).get(a);
  if (!loaded) return loaded.error();
  auto shared_cert = loaded->certificate;
  auto shared_key = loaded->key;
  const auto alg = a.algorithm == "RS256" ? pki::JwsAlgorithm::rs256 : pki::JwsAlgorithm::ps256;
  const std::string client_id = c.client_id, token_url = c.token_url;
  c.credential = [shared_cert, shared_key, alg, client_id, token_url,
                  &clock]() -> Result<graph::ClientCredential> {
    graph::AssertionInput in;
    in.client_id = client_id;
    in.token_url = token_url;
    in.certificate = shared_cert.get();
    in.key = shared_key.get();
    in.algorithm = alg;
    in.now = clock.now();
    auto rng = pki::Rng::system();
    auto jwt = graph::make_client_assertion(in, rng);
    if (!jwt) return jwt.error();
    return graph::ClientCredential{graph::ClientCredential::Kind::assertion, std::move(*jwt)};
  };
  return c;
}

cba::CbaSettings cba_settings(const TenantConfig& t) {
  cba::CbaSettings s;
  s.pki_name = t.extras->cba_pki_name;
  s.issuer_hint = t.extras->cba_issuer_hint;
  s.crl_url = t.extras->cba_crl_url;
  s.delta_crl_url = t.extras->cba_delta_crl_url;
  return s;
}

struct GraphSession::Impl {
  net::any_io_executor ex;
  const Config& config;
  const Clock& clock;
  Options opt;
  std::shared_ptr<graph::AsyncSemaphore> slots;
  std::unique_ptr<graph::DryRunTransport> dry;
  state::StateStore* throttle_store = nullptr;                          // share_throttling()
  std::map<std::string, std::unique_ptr<graph::Transport>> transports;  // by TLS CA file
  std::map<std::string, std::unique_ptr<graph::Transport>> read_only;   // plan: over those
  // A tenant's client and its providers, shared with the records that use them.
  struct TenantEntry {
    std::unique_ptr<graph::GraphClient> client;
    std::map<state::RecordKind, std::unique_ptr<providers::Provider>> providers;
    std::uint64_t used = 0;  // when last asked for (a value of `ticks`)
  };
  std::map<std::string, std::shared_ptr<TenantEntry>> tenants;  // by tenant name
  std::uint64_t ticks = 0;

  // Drops the least recently used tenants no record holds, down to kTenantsKept; never `keep`
  // (the one just asked for).
  void trim(const std::string& keep) {
    while (tenants.size() > kTenantsKept) {
      auto oldest = tenants.end();
      for (auto it = tenants.begin(); it != tenants.end(); ++it)
        if (it->first != keep && it->second.use_count() == 1 &&
            (oldest == tenants.end() || it->second->used < oldest->second->used))
          oldest = it;
      if (oldest == tenants.end()) return;  // all in use
      tenants.erase(oldest);
    }
  }
  std::map<std::string, std::unique_ptr<Signer>> signers;
  // A signer that could not be made is not tried again in this session: a token asked for its
  // PIN once per record would count one failed try per record and lock.
  std::map<std::string, Error> signer_failures;
  CredentialCache credentials;
  pki::Rng rng = pki::Rng::system();

  static constexpr std::size_t kTenantsKept = GraphSession::kTenantsKept;

  Impl(const net::any_io_executor& e, const Config& c, const Clock& k, Options o)
      : ex(e),
        config(c),
        clock(k),
        opt(std::move(o)),
        slots(std::make_shared<graph::AsyncSemaphore>(e, c.run.max_in_flight)) {
    if (opt.dry_run) dry = std::make_unique<graph::DryRunTransport>(opt.dry_run_sink);
  }

  std::shared_ptr<graph::RequestCounts> counts = std::make_shared<graph::RequestCounts>();
  std::map<graph::Transport*, std::unique_ptr<graph::Transport>> counted;  // over the others

  Result<graph::Transport*> transport(const TenantConfig& t) {
    if (dry) return static_cast<graph::Transport*>(dry.get());
    auto inner = uncounted(t);
    if (!inner) return inner;
    auto& slot = counted[*inner];
    if (!slot) slot = std::make_unique<graph::CountingTransport>(**inner, counts);
    return slot.get();
  }

  Result<graph::Transport*> uncounted(const TenantConfig& t) {
    auto real = https_transport(t);
    if (!real || !opt.read_only) return real;
    const std::string& key = t.extras->tls_ca_file;
    if (auto it = read_only.find(key); it != read_only.end()) return it->second.get();
    // Sign-in is a read: the token requests of the configured tenants go out, nothing else.
    std::set<std::string> token_urls;
    for (const auto& tenant : config.tenants)
      if (auto cc = client_config(tenant, clock, &credentials)) token_urls.insert(cc->token_url);
    auto made = std::make_unique<graph::ReadOnlyTransport>(
        **real,
        [token_urls](const graph::HttpRequest& r) {
          return r.method == "POST" && token_urls.count(r.url) > 0;
        },
        opt.dry_run_sink);
    auto* raw = made.get();
    read_only[key] = std::move(made);
    return static_cast<graph::Transport*>(raw);
  }

  Result<graph::Transport*> https_transport(const TenantConfig& t) {
    const std::string& key = t.extras->tls_ca_file;
    if (auto it = transports.find(key); it != transports.end()) return it->second.get();
    graph::HttpsOptions o;
    o.ca_file = key;
    o.slots = slots;
    o.timeout = config.run.request_timeout;
    o.run_deadline = opt.run_deadline;
    auto made = graph::make_https_transport(ex, o);
    if (!made) return made.error().about("tenants." + t.name + ".tls_ca_file (" + key + ")");
    auto* raw = made->get();
    transports[key] = std::move(*made);
    return raw;
  }

  double jitter() {
    auto b = pki::random_bytes(rng, 2);
    return ((b[0] << 8) | b[1]) / 65536.0;
  }
};

GraphSession::GraphSession(const net::any_io_executor& ex, const Config& config, const Clock& clock,
                           Options options)
    : impl_(std::make_unique<Impl>(ex, config, clock, std::move(options))) {}
GraphSession::~GraphSession() = default;

std::map<std::string, std::uint64_t> GraphSession::request_counts() const {
  return *impl_->counts;
}

Result<graph::GraphClient*> GraphSession::client(const std::string& tenant) {
  auto& m = *impl_;
  if (auto it = m.tenants.find(tenant); it != m.tenants.end()) {
    it->second->used = ++m.ticks;
    return it->second->client.get();
  }
  const TenantConfig* t = m.config.tenant(tenant);
  if (!t)
    return Error(ErrorKind::invalid_input, "tenant \"" + tenant + "\"",
                 "not defined under \"tenants\" in " +
                     (m.config.file.empty() ? std::string("the configuration (none found)")
                                            : m.config.file.string()));
  auto cc = client_config(*t, m.clock, &m.credentials);
  if (!cc) return cc.error();
  auto tr = m.transport(*t);
  if (!tr) return tr.error();
  cc->retry.max_retry_after = m.config.run.max_retry_after;
  cc->run_deadline = m.opt.run_deadline;
  if (m.throttle_store) {
    // Keyed by the directory's tenant id: two configured names for one tenant share its limit.
    auto* store = m.throttle_store;
    const std::string id = t->tenant_id;
    const Clock& clock = m.clock;
    // Read at most once a second per tenant: another worker's 429 reaches this one within a
    // second, and a record's own requests do not each cost a store read.
    struct Seen {
      std::mutex mutex;
      std::optional<TimePoint> read_at;
      std::optional<TimePoint> not_before;
    };
    auto seen = std::make_shared<Seen>();
    cc->shared_not_before = [store, id, &clock, seen]() -> std::optional<TimePoint> {
      const auto now = clock.now();
      const std::lock_guard lock(seen->mutex);
      if (seen->read_at && now >= *seen->read_at && now - *seen->read_at < kThrottleReread)
        return seen->not_before;
      auto nb = store->not_before(id, now);
      if (!nb) return seen->not_before;  // an unreadable store: what was known, and own pacing
      seen->read_at = now;
      seen->not_before = *nb;
      return *nb;
    };
    cc->share_not_before = [store, id, &clock, seen](TimePoint until) {
      (void)store->throttle(id, until, clock.now());
      const std::lock_guard lock(seen->mutex);
      if (!seen->not_before || *seen->not_before < until) seen->not_before = until;
    };
  }
  auto c = std::make_unique<graph::GraphClient>(
      m.ex, **tr, std::move(*cc), [&clock = m.clock] { return clock.now(); },
      [&m] { return m.jitter(); }, m.opt.trace);
  auto* raw = c.get();
  auto entry = std::make_shared<Impl::TenantEntry>();
  entry->client = std::move(c);
  entry->used = ++m.ticks;
  m.tenants[tenant] = std::move(entry);
  m.trim(tenant);
  return raw;
}

void GraphSession::share_throttling(state::StateStore& store) {
  impl_->throttle_store = &store;
}

Result<std::shared_ptr<providers::Provider>> GraphSession::provider(const state::Record& r) {
  auto& m = *impl_;
  auto c = client(r.tenant);
  if (!c) return c.error();
  const std::shared_ptr<Impl::TenantEntry> entry = m.tenants.at(r.tenant);
  if (auto it = entry->providers.find(r.kind); it != entry->providers.end())
    return std::shared_ptr<providers::Provider>(entry, it->second.get());
  std::unique_ptr<providers::Provider> p;
  switch (r.kind) {
    case state::RecordKind::gsa_tls_ca: {
      gsa::GsaOptions o;
      const TenantConfig* t = m.config.tenant(r.tenant);
      o.manual_activation = t->extras->gsa_activation == "manual";
      o.enable_enrolling = t->extras->gsa_enable_after_upload;
      p = gsa::make_gsa_provider(**c, o);
      break;
    }
    case state::RecordKind::cba_ca: {
      p = cba::make_cba_provider(**c, cba_settings(*m.config.tenant(r.tenant)));
      break;
    }
    case state::RecordKind::intune_codesigning:
      p = intune::make_intune_provider(**c);
      break;
  }
  auto* raw = p.get();
  entry->providers[r.kind] = std::move(p);
  return std::shared_ptr<providers::Provider>(entry, raw);  // holds the client with it
}

Result<Signer*> GraphSession::signer(const state::Record& r) {
  auto& m = *impl_;
  const std::string name = signer_of(r);
  if (name.empty()) return static_cast<Signer*>(nullptr);
  if (auto it = m.signers.find(name); it != m.signers.end()) return it->second.get();
  if (auto it = m.signer_failures.find(name); it != m.signer_failures.end()) return it->second;
  const SignerConfig* s = m.config.signer(name);
  if (!s)
    return Error(ErrorKind::invalid_input, "record " + r.id,
                 "its signer \"" + name + "\" is not defined under \"signers\"");
  auto made = signers::make_signer(*s);
  if (!made) {
    m.signer_failures.emplace(name, made.error());
    return made.error();
  }
  auto* raw = made->get();
  m.signers[name] = std::move(*made);
  return raw;
}

}  // namespace pkiflow::engine

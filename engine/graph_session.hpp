// Everything a run needs to talk to Graph, built from the configuration: one transport per TLS
// trust setting (sharing one bound on requests in flight), one client per tenant (its own token
// cache and credential), one provider per tenant and endpoint family, and the signers. Built
// lazily, so a tenant whose credential is missing fails only the records that need it.
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/clock.hpp"
#include "engine/config.hpp"
#include "engine/signer.hpp"
#include "providers/entra_cba/cba_provider.hpp"
#include "providers/graph/client.hpp"
#include "providers/provider.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

// Certificate credentials loaded once and shared by every tenant that signs in with the same
// certificate, key and passphrase (a managed-service provider's one multi-tenant app): opening
// an encrypted key is 600,000 PBKDF2 rounds, about 0.1 s of CPU, which a run over 10,000
// tenants paid once per tenant. A credential that cannot be opened is remembered too.
class CredentialCache {
 public:
  struct Loaded {
    std::shared_ptr<const pki::Certificate> certificate;
    std::shared_ptr<const pki::PrivateKey> key;
  };
  const Result<Loaded>& get(const TenantAuth& auth);

 private:
  std::map<std::string, Result<Loaded>> loaded_;
};

// The client configuration of a tenant: URLs (checked: https, or http to loopback), scope, and
// a credential maker (the secret from its variable or file, or a signed client assertion).
// `credentials`: where certificate credentials are loaded once (nullptr: loaded here).
Result<graph::ClientConfig> client_config(const TenantConfig& tenant, const Clock& clock,
                                          CredentialCache* credentials = nullptr);

// A tenant's Entra CBA settings (its PKI container, issuer hint, CRL URLs), as the provider and
// `pkiflow cba` use them.
cba::CbaSettings cba_settings(const TenantConfig& tenant);

class GraphSession {
 public:
  struct Options {
    bool dry_run = false;
    // `pkiflow plan`: like a dry run, but reads (GET, sign-in) reach the tenant; writes go to
    // dry_run_sink. Implies nothing is stored (the caller runs the workflow as a dry run).
    bool read_only = false;
    std::function<void(const std::string&)> dry_run_sink;  // one JSON line per request
    std::function<void(const std::string&)> trace;         // one line per attempt
    // The run's deadline (run.deadline_seconds): requests are cut at it and not retried past it.
    std::optional<std::chrono::steady_clock::time_point> run_deadline;
  };
  GraphSession(const boost::asio::any_io_executor& ex, const Config& config, const Clock& clock,
               Options options);
  ~GraphSession();

  // The tenant's client; valid until the next client() or provider() call for another tenant
  // (the session keeps the clients of the tenants used last, kTenantsKept of them, and those in
  // use: a run over 10,000 tenants does not keep 10,000 clients).
  Result<graph::GraphClient*> client(const std::string& tenant);
  // Shares throttling with the other runs on `store` (a tenant's Retry-After, state/store.hpp),
  // for the clients made from now on. The store must outlive the session.
  void share_throttling(state::StateStore& store);
  // The provider for a record (by its tenant and kind), or the reason there is none. It keeps
  // its tenant's client alive while the caller holds it.
  Result<std::shared_ptr<providers::Provider>> provider(const state::Record& record);
  // Tenants whose clients (token, providers) are kept when no record uses them.
  static constexpr std::size_t kTenantsKept = 256;
  // The signer named in the record's profile; nullptr when it names none.
  Result<Signer*> signer(const state::Record& record);
  // Graph's answers so far by HTTP status ("none": no response), the token endpoint included.
  std::map<std::string, std::uint64_t> request_counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pkiflow::engine

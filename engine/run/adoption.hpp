// Discovery and adoption (issue 12, part 4): every object of the three families in a tenant,
// with the live record that manages it (if any); and a live record made for an object an admin
// uploaded by hand, so pkiflow checks it for drift and renews it when due (with a new key: the
// old one never was on this host).
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/lifecycle.hpp"
#include "providers/provider.hpp"
#include "state/store.hpp"

namespace pkiflow::engine {

using ProviderFor = std::function<Result<std::shared_ptr<providers::Provider>>(
    state::RecordKind kind, const std::string& tenant)>;

struct Discovered {
  state::RecordKind kind = state::RecordKind::gsa_tls_ca;
  std::string tenant;
  providers::RemoteObject object;
  std::string managed_by;  // the live record that holds it ("" when none)
};

struct Discovery {
  std::vector<Discovered> objects;
  std::vector<Error> errors;  // a family that could not be listed (e.g. no permission)
};

// Lists every family of each tenant in `tenants` (on `ioc`); a family that fails is reported
// in `errors` and the others are still listed.
Result<Discovery> discover(boost::asio::io_context& ioc, state::StateStore& store,
                           const ProviderFor& provider_for,
                           const std::vector<std::string>& tenants);

struct AdoptRequest {
  std::string tenant;
  std::string remote_id;  // as discover lists it (CBA: "pkiId/caId", or the CA id alone)
  std::optional<state::RecordKind> kind;
  std::string name;             // the record's name ("" = the object's)
  std::string signer;           // signs its renewals ("" = none: sign offline and import)
  std::string certificate_pem;  // Intune, whose service drops the content once it is parsed
};

// Makes the live record, after proving the object is unmanaged and holds a readable
// certificate; journals the adoption (so the object's name is this record's to retire).
Result<state::Record> adopt(boost::asio::io_context& ioc, state::StateStore& store, Lifecycle& life,
                            const Clock& clock, const ProviderFor& provider_for,
                            const AdoptRequest& request, const std::string& record_id);

}  // namespace pkiflow::engine

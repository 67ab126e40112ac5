// The Provider interface (DESIGN.md, "Core interfaces"): one implementation per Graph endpoint
// family. A provider turns a record's next step into Graph requests and returns what came back;
// the engine records it. A provider never writes the store: it journals each mutating call
// through the Journal the engine hands it, before the call leaves (DESIGN.md, "Exactly-once").
#pragma once
// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"
#include "providers/graph/http_message.hpp"
#include "state/record.hpp"

namespace pkiflow::providers {

// The engine's journal of one record's remote calls.
class Journal {
 public:
  virtual ~Journal() = default;
  // Records a mutating request (method, URL, client-request-id; never a token or a body)
  // before it is sent, and returns its operation id once the entry is durable: the request may
  // go then, and not before.
  virtual boost::asio::awaitable<Result<std::string>> begin(const std::string& action,
                                                            const graph::HttpRequest& request) = 0;
  // Closes it: done (applied, and adopted by the record) or failed (known not applied).
  virtual void end(const std::string& op_id, state::OperationState outcome,
                   const std::string& summary) = 0;
  // This record's earlier operations, oldest first.
  virtual std::vector<state::Operation> earlier() = 0;
  // The live record (not retired) other than this one that holds `remote_id`, or "": one remote
  // object belongs to at most one live record, so a read-back never adopts another's object.
  virtual std::string owner_of(const std::string& remote_id) { return (void)remote_id, ""; }
};

// For calls that belong to no record (operations on a whole PKI container): nothing journaled.
class NullJournal : public Journal {
 public:
  boost::asio::awaitable<Result<std::string>> begin(const std::string&,
                                                    const graph::HttpRequest&) override {
    co_return std::string("-");
  }
  void end(const std::string&, state::OperationState, const std::string&) override {}
  std::vector<state::Operation> earlier() override { return {}; }
};

// planned -> csrGenerated: the remote object (when the service makes the CSR) and the CSR.
struct Created {
  std::string remote_id;
  std::string remote_status;
  std::string csr_pem;
};

// uploaded -> active?
struct Confirmation {
  bool in_force = false;
  std::string remote_status;  // exactly what the service said
  // Uploaded and waiting to be switched on (GSA: "disabled", never enabled by pkiflow): the
  // engine enables it, or waits for the operator when the tenant's activation is manual.
  bool staged = false;
};

// signed -> uploaded: where the certificate now is (the GSA object; for CBA "pkiId/caId", for
// Intune the code-signing object) and what the service says of it.
struct Uploaded {
  std::string remote_id;
  std::string remote_status;
  // When the provider read the object back after its upload: what `confirm` would make of that
  // reading. The engine's first confirmation takes it instead of reading the object again.
  std::optional<Confirmation> read_back{};
};

// A mutable field of a live object that differs from what pkiflow would send now (derived from
// the certificate and the configuration): drift in the other direction, which a run corrects
// with the service's update call.
struct FieldChange {
  std::string field;   // the service's property ("certificateRevocationListUrl")
  std::string remote;  // what the service holds ("null" for none)
  std::string wanted;  // what pkiflow would send
};

// What the service holds now for a live record, read back for drift checks (each run once per
// verify_interval, and `pkiflow verify`). Reading never writes.
struct Observation {
  bool gone = false;          // the object no longer exists (404, or no longer listed)
  std::string remote_status;  // exactly what the service says ("" where it keeps none)
  bool in_force = false;      // switched on (GSA), listed (CBA), provisioned (Intune)
  bool expired = false;       // the service itself says so
  bool revoked = false;
  // Set when the object holds a certificate other than this record's: that certificate's
  // thumbprint or subject, for the message.
  std::string holds_other;
  std::vector<FieldChange> fields;
};

// One object of a family as the service lists it (`pkiflow discover`, adoption).
struct RemoteObject {
  std::string id;  // as a record stores it (CBA: "pkiId/caId")
  std::string name;
  std::string status;
  std::string subject;  // of the certificate it holds, else what the service says
  std::string issuer;
  std::optional<std::chrono::system_clock::time_point> not_before, not_after;
  std::string thumbprint_sha1;  // "" when the service holds no readable certificate
  std::string certificate_pem;  // when the service returns the certificate (GSA, CBA)
  std::string chain_pem;        // GSA: the chain uploaded with it
  std::string note;             // what else an operator should know ("Microsoft-managed", …)
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual state::RecordKind kind() const = 0;
  // The endpoint's certificate requirements: the profile a certificate must pass before upload.
  virtual const pki::SigningProfile& rules() const = 0;
  // Whether the service makes the key and CSR (else the engine does, locally).
  virtual bool service_makes_csr() const = 0;

  // Creates the remote object, or adopts the one an earlier attempt created (found by name).
  virtual boost::asio::awaitable<Result<Created>> create_or_get_csr(const state::Record& record,
                                                                    Journal& journal) = 0;
  // Sends the signed certificate (and chain) with the fields derived from it.
  virtual boost::asio::awaitable<Result<Uploaded>> upload(const state::Record& record,
                                                          Journal& journal) = 0;
  virtual boost::asio::awaitable<Result<Confirmation>> confirm(const state::Record& record,
                                                               Journal& journal) = 0;
  // Switches a staged upload on (GSA: PATCH {"status":"enabled"}), after reading it back: an
  // object already switched on is left as it is. Families without the step say unsupported.
  virtual boost::asio::awaitable<Status> enable(const state::Record& record, Journal& journal) = 0;
  // Whether the operator switches staged uploads on (the tenant's gsa_activation "manual").
  virtual bool manual_activation() const { return false; }
  // Deletes the remote object after proving it is this record's (providers/detail/
  // guarded_delete); one that is already gone counts as retired.
  virtual boost::asio::awaitable<Status> retire(const state::Record& record, Journal& journal) = 0;
  // Reads the record's remote object back (no write): see Observation.
  virtual boost::asio::awaitable<Result<Observation>> observe(const state::Record& record) = 0;
  // Sends the service's update call with the changed fields only (and what the service requires
  // alongside them), after observe() found them. Families without mutable fields say unsupported.
  virtual boost::asio::awaitable<Status> update_fields(const state::Record& record,
                                                       const std::vector<FieldChange>& changes,
                                                       Journal& journal) = 0;
  // Every remote object of this family in the tenant (every page, every container), for
  // `pkiflow discover` and `pkiflow adopt`.
  virtual boost::asio::awaitable<Result<std::vector<RemoteObject>>> list_remote() = 0;
};

}  // namespace pkiflow::providers

// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/gsa_tls/gsa_provider.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "providers/detail/journaled.hpp"
#include "providers/gsa_tls/gsa_messages.hpp"

namespace pkiflow::gsa {

namespace net = boost::asio;
using providers::Confirmation;
using providers::Created;
using providers::Journal;
using providers::RemoteObject;
using state::OperationState;
using state::Record;

namespace {

// The CSR subject the service is asked for: commonName and organizationName from the record's
// subject ("CN=…,O=…"; OU is taken when there is no O, as the portal calls it OU).
struct Names {
  std::string common_name;
  std::string organization;
};

Result<Names> names_of(const Record& r) {
  const std::string subject_of = "record " + r.id + " (" + r.name + ")";
  nlohmann::json p = nlohmann::json::parse(r.profile_json, nullptr, false);
  const std::string subject =
      p.is_object() && p.contains("subject") && p["subject"].is_string() ? p["subject"] : "";
  if (subject.empty())
    return Error(ErrorKind::invalid_input, subject_of,
                 "no subject: a TLS-inspection CA needs \"subject\": \"CN=…,O=…\"");
  auto dn = pki::parse_dn(subject);
  if (!dn) return dn.error().about(subject_of);
  Names n;
  std::string ou;
  for (const auto& a : *dn) {
    if (a.type == "CN") n.common_name = a.value;
    if (a.type == "O") n.organization = a.value;
    if (a.type == "OU") ou = a.value;
  }
  if (n.organization.empty()) n.organization = ou;
  if (n.common_name.empty() || n.organization.empty())
    return Error(ErrorKind::invalid_input, subject_of,
                 "subject \"" + subject +
                     "\" needs a CN and an O (the service requires commonName and "
                     "organizationName)");
  return n;
}

bool gone(const graph::Reply& r) {
  return r.outcome == graph::Outcome::refused && r.response.status == 404;
}

class GsaProvider : public providers::Provider {
 public:
  GsaProvider(graph::GraphClient& client, GsaOptions options)
      : client_(client), opt_(options), rng_(pki::Rng::system()) {}

  state::RecordKind kind() const override { return state::RecordKind::gsa_tls_ca; }
  const pki::SigningProfile& rules() const override {
    return *pki::find_profile("tls-inspection-ca");
  }
  bool service_makes_csr() const override { return true; }

  net::awaitable<Result<Created>> create_or_get_csr(const Record& record,
                                                    Journal& journal) override {
    auto names = names_of(record);
    if (!names) co_return names.error();
    int creates = 0;
    for (const auto& op : journal.earlier())
      if (op.action == "create") ++creates;
    if (creates > 0) {  // an earlier attempt may have created the object: look before creating
      auto adopted = co_await adopt(record, journal);
      if (!adopted) co_return adopted.error();
      if (*adopted) co_return **adopted;
    }
    // Each ambiguous attempt is read back before the next, so further rounds are safe; they only
    // use up names (kMaxGenerations per record).
    for (int round = 0; round < 5; ++round) {
      auto name = object_name(record.id, creates);
      if (!name) co_return name.error();
      auto req =
          create_request(client_.base(), *name, names->common_name, names->organization, crid());
      auto op = journal.begin("create", req);
      if (!op) co_return op.error();
      ++creates;
      auto reply = co_await client_.call(req, /*mutating=*/true);
      if (reply.ok()) {
        auto ca = parse_remote_ca(reply.response.body);
        if (!ca) {
          journal.end(*op, OperationState::done, "201, unreadable body");
          co_return ca.error().about("the create response for " + *name);
        }
        if (ca->csr_pem.empty()) {  // not in the POST response: a GET is the last chance
          auto again = co_await get(ca->id);
          if (again) ca->csr_pem = again->csr_pem;
        }
        if (ca->csr_pem.empty()) {
          journal.end(*op, OperationState::done, "201 id=" + ca->id + " without a CSR");
          co_await remove(ca->id, journal, "delete-unusable");
          co_return Error(ErrorKind::remote, "object " + *name,
                          "the service created it but returned no CSR, neither in the POST "
                          "response nor on GET; it was deleted again");
        }
        journal.end(*op, OperationState::done, "201 id=" + ca->id + " name=" + *name);
        co_return Created{ca->id, ca->status.raw, ca->csr_pem};
      }
      if (reply.outcome == graph::Outcome::not_sent) co_return reply.to_error("create " + *name);
      if (!reply.maybe_applied) {
        journal.end(*op, OperationState::failed, reply.message);
        co_return reply.to_error("create " + *name);
      }
      // Ambiguous: read back before anything else (graph-api.md 5).
      auto adopted = co_await adopt(record, journal);
      if (!adopted) co_return adopted.error();
      if (*adopted) co_return **adopted;
    }
    co_return Error(ErrorKind::unavailable, "record " + record.id,
                    "five create attempts in a row ended without an answer; the next run "
                    "looks for their objects first");
  }

  net::awaitable<Result<providers::Uploaded>> upload(const Record& record,
                                                     Journal& journal) override {
    const std::string what = "upload to " + record.remote_id;
    auto req = upload_request(client_.base(), record.remote_id, record.certificate_pem,
                              record.chain_pem, crid());
    auto op = journal.begin("upload", req);
    if (!op) co_return op.error();
    // The same certificate and chain again is harmless, so an ambiguous failure is retried.
    auto reply = co_await client_.call(req, /*mutating=*/false);
    if (!reply.ok()) {
      if (reply.outcome != graph::Outcome::not_sent)
        journal.end(*op, OperationState::failed, reply.message);
      if (gone(reply))
        co_return Error(ErrorKind::remote, "remote object " + record.remote_id,
                        "no longer exists on the service (deleted outside pkiflow?); cancel "
                        "this record and request a new one");
      co_return reply.to_error(what);
    }
    journal.end(*op, OperationState::done, std::to_string(reply.response.status));
    if (opt_.enable_after_upload) {
      auto en = enable_request(client_.base(), record.remote_id, crid());
      auto eop = journal.begin("enable", en);
      if (!eop) co_return eop.error();
      auto r = co_await client_.call(en, /*mutating=*/false);
      if (!r.ok()) {
        journal.end(*eop, OperationState::failed, r.message);
        if (r.outcome == graph::Outcome::refused)
          co_return Error(ErrorKind::remote, "enable " + record.remote_id,
                          r.message +
                              "; the service refused to switch the certificate on: set "
                              "\"enable_after_upload\": false for this tenant if it does so "
                              "by itself");
        co_return r.to_error("enable " + record.remote_id);
      }
      journal.end(*eop, OperationState::done, std::to_string(r.response.status));
    }
    auto now = co_await get(record.remote_id);
    co_return providers::Uploaded{record.remote_id, now ? now->status.raw : std::string()};
  }

  net::awaitable<Result<Confirmation>> confirm(const Record& record) override {
    auto ca = co_await get(record.remote_id);
    if (!ca) co_return ca.error();
    const auto s = ca->status.status;
    if (s == TlsStatus::disabled)
      co_return Error(ErrorKind::remote, "remote object " + record.remote_id,
                      "the service switched the uploaded certificate off (status \"disabled\"); "
                      "another TLS-inspection CA of the tenant probably became active after it "
                      "(the service allows one active certificate at a time)");
    if (s == TlsStatus::expired || s == TlsStatus::revoked)
      co_return Error(
          ErrorKind::remote, "remote object " + record.remote_id,
          "the service reports status \"" + ca->status.raw + "\" for the uploaded certificate");
    co_return Confirmation{in_force(ca->status), ca->status.raw};
  }

  net::awaitable<Status> retire(const Record& record, Journal& journal) override {
    if (record.remote_id.empty()) co_return Ok{};  // nothing was ever created
    co_return co_await remove(record.remote_id, journal, "retire");
  }

  net::awaitable<Result<std::vector<RemoteObject>>> list_remote() override {
    std::vector<RemoteObject> out;
    std::string url = client_.base() + kCollection;
    for (int page = 0; page < 1000 && !url.empty(); ++page) {
      graph::HttpRequest req = get_request(client_.base(), "", crid());
      req.url = url;
      auto reply = co_await client_.call(req, false);
      if (!reply.ok()) co_return reply.to_error("list TLS-inspection CAs");
      std::string next;
      auto list = parse_remote_list(reply.response.body, next);
      if (!list) co_return list.error();
      for (const auto& ca : *list)
        out.push_back({ca.id, ca.name, ca.status.raw});
      url = next;
    }
    co_return out;
  }

 private:
  std::string crid() { return pki::random_guid(rng_); }

  net::awaitable<Result<RemoteCa>> get(const std::string& id) {
    auto reply = co_await client_.call(get_request(client_.base(), id, crid()), false);
    if (!reply.ok()) co_return reply.to_error("read " + id);
    co_return parse_remote_ca(reply.response.body);
  }

  net::awaitable<Status> remove(const std::string& id, Journal& journal, const char* action) {
    auto done = co_await providers::detail::journaled(
        client_, delete_request(client_.base(), id, crid()), action, journal,
        std::string(action) + " " + id, /*gone_ok=*/true);
    if (!done) co_return done.error();
    co_return Ok{};
  }

  // The objects earlier create attempts of this record left (found by name prefix): adopts the
  // first whose CSR can still be read, deletes the rest, and closes the open create operations.
  net::awaitable<Result<std::optional<Created>>> adopt(const Record& record, Journal& journal) {
    auto reply = co_await client_.call(
        find_by_prefix_request(client_.base(), name_prefix(record.id), crid()), false);
    if (!reply.ok()) co_return reply.to_error("look up earlier objects of record " + record.id);
    std::string next;
    auto found = parse_remote_list(reply.response.body, next);
    if (!found) co_return found.error();
    std::optional<Created> adopted;
    std::string adopted_name;
    for (const auto& ca : *found) {
      std::string csr = ca.csr_pem;
      if (csr.empty()) {
        auto again = co_await get(ca.id);
        if (again) csr = again->csr_pem;
      }
      if (!adopted && !csr.empty()) {
        adopted = Created{ca.id, ca.status.raw, csr};
        adopted_name = ca.name;
        continue;
      }
      // Its CSR is gone with the lost response (or it is a surplus object): delete it.
      if (auto st = co_await remove(ca.id, journal, "delete-orphan"); !st) co_return st.error();
    }
    for (const auto& op : journal.earlier()) {
      if (op.action != "create" || op.state == OperationState::done ||
          op.state == OperationState::failed)
        continue;
      const bool mine = adopted && op.request_summary.find(adopted_name) != std::string::npos;
      journal.end(op.op_id, mine ? OperationState::done : OperationState::failed,
                  mine ? "adopted " + adopted->remote_id + " (found by name)"
                       : "reconciled: no usable object of this attempt on the service");
    }
    co_return adopted;
  }

  graph::GraphClient& client_;
  GsaOptions opt_;
  pki::Rng rng_;
};

}  // namespace

std::unique_ptr<providers::Provider> make_gsa_provider(graph::GraphClient& client,
                                                       GsaOptions options) {
  return std::make_unique<GsaProvider>(client, options);
}

}  // namespace pkiflow::gsa

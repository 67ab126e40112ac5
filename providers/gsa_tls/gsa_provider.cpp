// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/gsa_tls/gsa_provider.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "engine/pki/certificate.hpp"
#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "providers/detail/guarded_delete.hpp"
#include "providers/detail/remote_facts.hpp"
#include "providers/detail/send_once.hpp"
#include "providers/graph/detail/json_calls.hpp"
#include "providers/graph/encoding.hpp"
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

// The SHA-1 thumbprint of the first certificate in `pem` ("" when there is none).
std::string thumbprint_of(const std::string& pem) {
  auto certs = pki::Certificate::decode_all(pki::Bytes(pem.begin(), pem.end()));
  if (!certs || certs->empty()) return "";
  return certs->front().facts().sha1_thumbprint;
}

// The object names this record's create attempts sent, as journaled ("… name=X").
std::set<std::string> journaled_names(Journal& journal) {
  std::set<std::string> out;
  for (const auto& op : journal.earlier()) {
    if (op.action != "create" && op.action != "adopt") continue;  // adopt: an operator's claim
    const auto at = op.request_summary.rfind(" name=");
    if (at != std::string::npos) out.insert(op.request_summary.substr(at + 6));
  }
  return out;
}

bool has_op(Journal& journal, const char* action, std::optional<OperationState> state) {
  for (const auto& op : journal.earlier())
    if (op.action == action && (!state || op.state == *state)) return true;
  return false;
}

// Closes the open operations of `action`: the read-back settled them.
void settle_open(Journal& journal, const char* action, OperationState outcome,
                 const std::string& summary) {
  for (const auto& op : journal.earlier())
    if (op.action == action &&
        (op.state == OperationState::sent || op.state == OperationState::pending))
      journal.end(op.op_id, outcome, summary);
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
  bool manual_activation() const override { return opt_.manual_activation; }

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
      auto op = co_await journal.begin("create", req);
      if (!op) co_return op.error();
      ++creates;
      auto reply = co_await client_.call(req, /*mutating=*/true);
      if (reply.ok()) co_return co_await created(reply, *name, *op, journal);
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

  // signed -> uploaded. Reads the object first: the service refuses a second upload once the
  // object left csrGenerated (graph-api.md 0), and an earlier attempt's answer may be lost.
  net::awaitable<Result<providers::Uploaded>> upload(const Record& record,
                                                     Journal& journal) override {
    using Uploaded = providers::Uploaded;
    providers::detail::SendOnce<Uploaded> s;
    s.action = "upload";
    s.what = "upload to " + record.remote_id;
    s.subject = "record " + record.id;
    s.read_back_only_after_an_attempt = true;  // before our first upload none of ours is there
    s.settled = [&]() -> net::awaitable<Result<std::optional<Uploaded>>> {
      auto ca = co_await get(record.remote_id);
      if (!ca) co_return ca.error();
      if (ca->status.status == TlsStatus::csrGenerated && ca->certificate_pem.empty())
        co_return std::optional<Uploaded>();
      auto adopted = adopt_upload(record, journal, *ca);
      if (!adopted) co_return adopted.error();
      co_return std::optional<Uploaded>(*adopted);
    };
    s.request = [&] {
      return upload_request(client_.base(), record.remote_id, record.certificate_pem,
                            record.chain_pem, crid());
    };
    s.done = [&](const graph::Reply&) -> net::awaitable<Result<Uploaded>> {
      // The status read back is also the engine's first confirmation (staged: enable it next),
      // unless it is one `confirm` refuses: then `confirm` reads the object again and decides.
      auto now = co_await get(record.remote_id);
      Uploaded up{record.remote_id, now ? now->status.raw : std::string(), std::nullopt};
      if (now)
        if (auto c = confirmation_of(record, journal, *now)) up.read_back = std::move(*c);
      co_return up;
    };
    co_return co_await providers::detail::send_once(client_, journal, std::move(s));
  }

  net::awaitable<Result<Confirmation>> confirm(const Record& record, Journal& journal) override {
    auto ca = co_await get(record.remote_id);
    if (!ca) co_return ca.error();
    co_return confirmation_of(record, journal, *ca);
  }

  net::awaitable<Status> enable(const Record& record, Journal& journal) override {
    providers::detail::SendOnce<bool> s;
    s.action = "enable";
    s.what = "enable " + record.remote_id;
    s.subject = "record " + record.id;
    s.read_back_only_after_an_attempt = true;  // confirm read it "disabled" a moment ago
    s.settled = [&]() -> net::awaitable<Result<std::optional<bool>>> {
      auto ca = co_await get(record.remote_id);
      if (!ca) co_return ca.error();
      const auto st = ca->status.status;
      const bool legacy = opt_.enable_enrolling && st == TlsStatus::enrolling &&
                          !has_op(journal, "enable", std::nullopt);
      if (st == TlsStatus::disabled || legacy) co_return std::optional<bool>();
      if (st == TlsStatus::csrGenerated)
        co_return Error(ErrorKind::invalid_input, "record " + record.id,
                        "its remote object holds no certificate yet; nothing to enable");
      // Already switched on (by an earlier attempt whose answer was lost, or by the operator).
      settle_open(journal, "enable", OperationState::done,
                  "read back: the object reads \"" + ca->status.raw + "\"");
      co_return std::optional<bool>(true);
    };
    s.request = [&] { return enable_request(client_.base(), record.remote_id, crid()); };
    s.done = [](const graph::Reply&) -> net::awaitable<Result<bool>> { co_return true; };
    s.refused = [&](const graph::Reply& reply) {
      return Error(ErrorKind::remote, "enable " + record.remote_id,
                   reply.message +
                       "; the tenant refused to switch the certificate on: set "
                       "\"gsa_activation\": \"manual\" for this tenant and enable it in the "
                       "Entra admin center");
    };
    auto done = co_await providers::detail::send_once(client_, journal, std::move(s));
    if (!done) co_return done.error();
    co_return Ok{};
  }

  net::awaitable<Status> retire(const Record& record, Journal& journal) override {
    const auto names = journaled_names(journal);
    if (!record.remote_id.empty())
      co_return co_await remove(record.remote_id, names, journal, "retire");
    // No object recorded, but a create may have reached the service before its answer was lost
    // (a cancelled record): delete whatever carries a name this record journaled.
    if (names.empty()) co_return Ok{};
    auto listed = co_await list_all(name_prefix(record.id));
    if (!listed) co_return listed.error();
    for (const auto& ca : *listed)
      if (names.count(ca.name))
        if (auto st = co_await remove(ca.id, names, journal, "retire"); !st) co_return st.error();
    co_return Ok{};
  }

  net::awaitable<Result<providers::Observation>> observe(const Record& record) override {
    providers::Observation o;
    auto reply =
        co_await client_.call(get_request(client_.base(), record.remote_id, crid()), false);
    if (gone(reply)) {
      o.gone = true;
      co_return o;
    }
    if (!reply.ok()) co_return reply.to_error("read " + record.remote_id);
    auto ca = parse_remote_ca(reply.response.body);
    if (!ca) co_return ca.error().about("remote object " + record.remote_id);
    o.remote_status = ca->status.raw;
    o.in_force = in_force(ca->status);
    o.expired = ca->status.status == TlsStatus::expired;
    o.revoked = ca->status.status == TlsStatus::revoked;
    if (!ca->certificate_pem.empty()) {
      const std::string held = thumbprint_of(ca->certificate_pem);
      if (!pki::same_hex(held, record.thumbprint_sha1))
        o.holds_other = held.empty() ? "an unreadable certificate" : "certificate " + held;
    }
    co_return o;
  }

  // Nothing of a TLS-inspection CA is updatable but its status (the enable step).
  net::awaitable<Status> update_fields(const Record& record,
                                       const std::vector<providers::FieldChange>&,
                                       Journal&) override {
    co_return Error(ErrorKind::unsupported, "record " + record.id,
                    "a TLS-inspection CA has no fields pkiflow updates");
  }

  net::awaitable<Result<std::vector<RemoteObject>>> list_remote() override {
    auto all = co_await list_all("");
    if (!all) co_return all.error();
    std::vector<RemoteObject> out;
    for (const auto& ca : *all)
      out.push_back(remote_object(ca, ""));
    // A Microsoft-managed CA (preview, not in the metadata) shares the one enabled slot: it is
    // listed too, and a tenant without one (or without the preview) answers 404.
    auto managed = co_await graph::detail::get_all(
        client_, client_.base() + kManagedCollection, [this] { return crid(); },
        "list Microsoft-managed TLS-inspection CAs", /*missing_is_empty=*/true);
    if (managed)
      for (const auto& item : *managed)
        if (auto ca = parse_remote_ca(item.dump()); ca)
          out.push_back(
              remote_object(*ca, "Microsoft-managed (not adoptable: Microsoft holds it)"));
    co_return out;
  }

  static RemoteObject remote_object(const RemoteCa& ca, const std::string& note) {
    RemoteObject o;
    o.id = ca.id;
    o.name = ca.name;
    o.status = ca.status.raw;
    o.note = note;
    o.chain_pem = ca.chain_pem;
    if (!providers::detail::fill_from_certificate(o, ca.certificate_pem)) {
      o.subject = "CN=" + ca.common_name + ",O=" + ca.organization_name;
      o.not_before = ca.valid_from;
      o.not_after = ca.valid_to;
    }
    return o;
  }

 private:
  std::string crid() { return pki::random_guid(rng_); }

  net::awaitable<Result<RemoteCa>> get(const std::string& id, bool with_csr = false) {
    auto req = get_request(client_.base(), id, crid());
    if (with_csr)
      req.url += "?$select=" + graph::percent_encode("id,status,certificateSigningRequest");
    auto reply = co_await client_.call(req, false);
    if (gone(reply))
      co_return Error(ErrorKind::remote, "remote object " + id,
                      "no longer exists on the service (deleted outside pkiflow?); cancel this "
                      "record and request a new one");
    if (!reply.ok()) co_return reply.to_error("read " + id);
    co_return parse_remote_ca(reply.response.body);
  }

  // A 201 to a create: its CSR from the answer (or a GET asking for it), stored with its id.
  net::awaitable<Result<Created>> created(const graph::Reply& reply, const std::string& name,
                                          const std::string& op, Journal& journal) {
    auto ca = parse_remote_ca(reply.response.body);
    if (!ca) {
      journal.end(op, OperationState::done, "201, unreadable body");
      co_return ca.error().about("the create response for " + name);
    }
    if (ca->csr_pem.empty()) {  // not in the POST response: a GET is the last chance
      auto again = co_await get(ca->id, true);
      if (again) ca->csr_pem = again->csr_pem;
    }
    journal.end(op, OperationState::done, "201 id=" + ca->id + " name=" + name);
    if (ca->csr_pem.empty()) {
      const std::set<std::string> own{name};
      auto removed = co_await remove(ca->id, own, journal, "delete-unusable");
      co_return Error(ErrorKind::remote, "object " + name,
                      "the service created it but returned no CSR, neither in the POST "
                      "response nor on GET; " +
                          (removed ? std::string("it was deleted again")
                                   : "deleting it failed too (" + removed.error().message() +
                                         "); the record's next attempt deletes it (its name "
                                         "is journaled)"));
    }
    co_return Created{ca->id, ca->status.raw, ca->csr_pem};
  }

  // uploaded -> active? What one reading of the record's object says.
  Result<Confirmation> confirmation_of(const Record& record, Journal& journal, const RemoteCa& ca) {
    const auto s = ca.status.status;
    if (in_force(ca.status)) return Confirmation{true, ca.status.raw, false};
    if (s == TlsStatus::expired || s == TlsStatus::revoked)
      return Error(
          ErrorKind::remote, "remote object " + record.remote_id,
          "the service reports status \"" + ca.status.raw + "\" for the uploaded certificate");
    if (s == TlsStatus::csrGenerated)
      return Error(ErrorKind::remote, "remote object " + record.remote_id,
                   "reads \"csrGenerated\" although its upload was recorded: the service "
                   "dropped the certificate; cancel this record and request a new one");
    if (s == TlsStatus::disabled) {
      // Staged (never switched on), or switched off after pkiflow enabled it: the journal tells.
      if (has_op(journal, "enable", OperationState::done))
        return Error(ErrorKind::remote, "remote object " + record.remote_id,
                     "was switched off (status \"disabled\") after pkiflow enabled it: another "
                     "TLS-inspection CA of the tenant was enabled since (one enabled "
                     "certificate per tenant)");
      return Confirmation{false, ca.status.raw, true};
    }
    // enrolling, creating, unknownFutureValue or a value we do not know: in progress.
    const bool legacy = opt_.enable_enrolling && s == TlsStatus::enrolling &&
                        !has_op(journal, "enable", std::nullopt);
    return Confirmation{false, ca.status.raw, legacy};
  }

  // The object already left csrGenerated: it is this record's upload when it holds this
  // record's certificate; anything else is someone else's and fails the record.
  Result<providers::Uploaded> adopt_upload(const Record& record, Journal& journal,
                                           const RemoteCa& ca) {
    const std::string ours = record.thumbprint_sha1.empty() ? thumbprint_of(record.certificate_pem)
                                                            : record.thumbprint_sha1;
    const std::string theirs = thumbprint_of(ca.certificate_pem);
    const bool sent_before = has_op(journal, "upload", std::nullopt);
    if (pki::same_hex(theirs, ours) || (theirs.empty() && sent_before)) {
      settle_open(journal, "upload", OperationState::done,
                  "read back: the object holds this record's certificate (" + ca.status.raw + ")");
      return providers::Uploaded{ca.id, ca.status.raw};
    }
    return Error(ErrorKind::remote, "remote object " + ca.id + " (" + ca.name + ")",
                 "holds " +
                     (theirs.empty() ? std::string("a certificate pkiflow did not send")
                                     : "another certificate, thumbprint " + theirs) +
                     ", not this record's (" + ours + "), in status \"" + ca.status.raw +
                     "\"; it was left alone");
  }

  // Every object of the collection, every page; a 404 is an empty tenant (graph-api.md 0).
  // `hint_prefix` narrows the answer when the server applies $filter; callers never rely on it.
  net::awaitable<Result<std::vector<RemoteCa>>> list_all(const std::string& hint_prefix) {
    const std::string url = hint_prefix.empty()
                                ? client_.base() + kCollection
                                : find_by_prefix_request(client_.base(), hint_prefix, "").url;
    // (The client adds the Prefer header for unknown enum members to every request.)
    auto items = co_await graph::detail::get_all(
        client_, url, [this] { return crid(); }, "list TLS-inspection CAs",
        /*missing_is_empty=*/true);
    if (!items) co_return items.error();
    std::vector<RemoteCa> out;
    for (const auto& item : *items)
      if (auto ca = parse_remote_ca(item.dump()); ca) out.push_back(std::move(*ca));
    co_return out;
  }

  // The one way this provider deletes: only an object whose name this record journaled.
  net::awaitable<Status> remove(const std::string& id, const std::set<std::string>& ours,
                                Journal& journal, const char* action) {
    const std::string url = get_request(client_.base(), id, "").url;
    co_return co_await providers::detail::guarded_delete(
        client_, url, action, journal, "TLS-inspection CA " + id,
        [&ours](const nlohmann::ordered_json& o) -> Status {
          const std::string name = o.contains("name") && o["name"].is_string() ? o["name"] : "";
          if (ours.count(name)) return Ok{};
          return Error(ErrorKind::remote, "TLS-inspection CA",
                       "its name \"" + name + "\" is not one this record created");
        },
        [this] { return crid(); });
  }

  // The objects earlier create attempts of this record made, matched on the client against the
  // exact names it journaled (whatever the server's filter did): adopts the first whose CSR can
  // still be read ($select asks for it), deletes the other objects of its own, and closes the
  // open create operations.
  net::awaitable<Result<std::optional<Created>>> adopt(const Record& record, Journal& journal) {
    const auto names = journaled_names(journal);
    auto listed = co_await list_all(name_prefix(record.id));
    if (!listed) co_return listed.error().about("look up earlier objects of record " + record.id);
    std::optional<Created> adopted;
    std::string adopted_name;
    for (const auto& ca : *listed) {
      if (!names.count(ca.name)) continue;  // not this record's: never touched
      std::string csr = ca.csr_pem;
      if (csr.empty() && !adopted) {
        auto again = co_await get(ca.id, true);
        if (!again) co_return again.error();  // unreadable now: decide on a later run
        csr = again->csr_pem;
      }
      if (!adopted && !csr.empty()) {
        adopted = Created{ca.id, ca.status.raw, csr};
        adopted_name = ca.name;
        continue;
      }
      // Its CSR is gone with the lost response (or it is a surplus object): delete it.
      if (auto st = co_await remove(ca.id, names, journal, "delete-orphan"); !st)
        co_return st.error();
    }
    for (const auto& op : journal.earlier()) {
      if (op.action != "create" || op.state == OperationState::done ||
          op.state == OperationState::failed)
        continue;
      const bool mine = adopted && op.request_summary.size() >= adopted_name.size() &&
                        op.request_summary.compare(op.request_summary.size() - adopted_name.size(),
                                                   adopted_name.size(), adopted_name) == 0;
      journal.end(op.op_id, mine ? OperationState::done : OperationState::failed,
                  mine ? "adopted " + adopted->remote_id + " (found by its journaled name)"
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

// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/intune_codesigning/intune_provider.hpp"

#include <nlohmann/json.hpp>

#include "providers/detail/guarded_delete.hpp"
#include "providers/detail/journaled.hpp"
#include "providers/detail/send_once.hpp"
#include "providers/graph/detail/json_calls.hpp"

#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "providers/entra_cba/cba_messages.hpp"

namespace pkiflow::intune {

namespace net = boost::asio;
using json = nlohmann::ordered_json;
using graph::detail::json_request;
using graph::detail::str;
using providers::Confirmation;
using providers::Created;
using providers::Journal;
using providers::RemoteObject;
using providers::Uploaded;
using state::OperationState;
using state::Record;

namespace {

class IntuneProvider : public providers::Provider {
 public:
  explicit IntuneProvider(graph::GraphClient& client) : client_(client), rng_(pki::Rng::system()) {}

  state::RecordKind kind() const override { return state::RecordKind::intune_codesigning; }
  const pki::SigningProfile& rules() const override { return *pki::find_profile("code-signing"); }
  bool service_makes_csr() const override { return false; }

  net::awaitable<Result<Created>> create_or_get_csr(const Record& r, Journal&) override {
    co_return Error(ErrorKind::unsupported, "record " + r.id,
                    "a code-signing key and CSR are made by pkiflow, not by the service");
  }

  net::awaitable<Result<Uploaded>> upload(const Record& r, Journal& journal) override {
    auto certs = pki::Certificate::decode_all(
        pki::Bytes(r.certificate_pem.begin(), r.certificate_pem.end()));
    if (!certs || certs->empty())
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "its certificate is unreadable");
    const auto& cert = certs->front();
    if (auto st = cba::check_record_matches(r, cert); !st) co_return st.error();
    providers::detail::SendOnce<Uploaded> once;
    once.action = "create";
    once.what = "upload code-signing certificate " + cert.facts().subject;
    once.subject = "record " + r.id;
    // An earlier attempt may have created it: look before creating.
    once.settled = [&]() -> net::awaitable<Result<std::optional<Uploaded>>> {
      bool sent_before = false;
      for (const auto& op : journal.earlier())
        sent_before = sent_before || op.action == "create";
      if (!sent_before) co_return std::optional<Uploaded>();
      auto found = co_await find(cert, journal);
      if (!found) co_return found.error();
      if (found->empty()) co_return std::optional<Uploaded>();
      co_return std::optional<Uploaded>(Uploaded{*found, "adopted"});
    };
    once.request = [&] {
      return json_request("POST", client_.base() + kCollection,
                          upload_body(derive_fields(cert, std::chrono::system_clock::now())),
                          crid());
    };
    once.done = [](const graph::Reply& reply) -> net::awaitable<Result<Uploaded>> {
      auto j = json::parse(reply.response.body, nullptr, false);
      co_return Uploaded{j.is_object() ? str(j, "id") : "", j.is_object() ? str(j, "status") : ""};
    };
    co_return co_await providers::detail::send_once(client_, journal, std::move(once));
  }

  net::awaitable<Status> enable(const Record& r, Journal&) override {
    co_return Error(ErrorKind::unsupported, "record " + r.id,
                    "an Intune code-signing certificate is deployed once provisioned; there is "
                    "nothing to enable");
  }

  net::awaitable<Result<Confirmation>> confirm(const Record& r, Journal&) override {
    auto h = co_await held(r);
    if (!h) co_return h.error();
    if (h->gone)
      co_return Error(ErrorKind::remote, "code-signing certificate " + r.remote_id,
                      "no longer exists on the service (deleted outside pkiflow?)");
    const json& j = h->object;
    const auto f = h->cert->facts();
    const std::string status = str(j, "status");
    if (status != "provisioned") co_return Confirmation{false, status};
    // The service parsed it: what it reports must be this certificate.
    const std::string wrong = reported_mismatch(j, f);
    if (!wrong.empty())
      co_return Error(ErrorKind::remote, "code-signing certificate " + r.remote_id,
                      "the service reports a " + wrong + " that is not the uploaded certificate's");
    co_return Confirmation{true, status};
  }

  net::awaitable<Status> retire(const Record& r, Journal& journal) override {
    if (r.remote_id.empty()) co_return Ok{};
    auto certs = pki::Certificate::decode_all(
        pki::Bytes(r.certificate_pem.begin(), r.certificate_pem.end()));
    if (!certs || certs->empty())
      co_return Error(ErrorKind::invalid_input, "record " + r.id,
                      "its certificate is unreadable, so its remote object cannot be proven "
                      "its own; nothing was deleted");
    const auto f = certs->front().facts();
    co_return co_await providers::detail::guarded_delete(
        client_, client_.base() + kCollection + "/" + r.remote_id, "retire", journal,
        "code-signing certificate " + r.remote_id,
        [&f](const json& j) -> Status {
          // content is nulled once parsed (graph-api.md 3): subject, issuer and expiry prove it.
          if (reported_mismatch(j, f).empty()) return Ok{};
          return Error(ErrorKind::remote, "code-signing certificate",
                       "its subject, issuer or expiry is not this record's certificate's");
        },
        [this] { return crid(); });
  }

  net::awaitable<Result<providers::Observation>> observe(const Record& r) override {
    providers::Observation o;
    auto h = co_await held(r);
    if (!h) co_return h.error();
    if (h->gone) {
      o.gone = true;
      co_return o;
    }
    const json& j = h->object;
    o.remote_status = str(j, "status");
    o.in_force = o.remote_status == "provisioned";
    const auto& cert = *h->cert;
    const auto f = cert.facts();
    // Its content while the service still holds it, else subject, issuer and expiry (content is
    // nulled once parsed, graph-api.md 3).
    const std::string content = str(j, "content");
    if (!content.empty() && content != cert.base64_der())
      o.holds_other = "another certificate's content";
    else if (!reported_mismatch(j, f).empty())
      o.holds_other =
          "subject \"" + str(j, "subject") + "\" issued by \"" + str(j, "issuer") + "\"";
    if (!o.holds_other.empty()) co_return o;
    const auto want = derive_fields(cert, std::chrono::system_clock::now());
    if (str(j, "subjectName") != want.subject_name)
      o.fields.push_back({"subjectName", str(j, "subjectName"), want.subject_name});
    if (str(j, "issuerName") != want.issuer_name)
      o.fields.push_back({"issuerName", str(j, "issuerName"), want.issuer_name});
    co_return o;
  }

  net::awaitable<Status> update_fields(const Record& r,
                                       const std::vector<providers::FieldChange>& changes,
                                       Journal& journal) override {
    json patch = json::object();
    for (const auto& c : changes)
      patch[c.field] = c.wanted;
    auto done = co_await providers::detail::journaled(
        client_,
        json_request("PATCH", client_.base() + kCollection + "/" + r.remote_id, patch.dump(),
                     crid()),
        "update", journal, "update code-signing certificate " + r.remote_id);
    if (!done) co_return done.error();
    co_return Ok{};
  }

  net::awaitable<Result<std::vector<RemoteObject>>> list_remote() override {
    auto all = co_await list();
    if (!all) co_return all.error();
    std::vector<RemoteObject> out;
    for (const auto& j : *all)
      out.push_back(listed_certificate(j));
    co_return out;
  }

 private:
  std::string crid() { return pki::random_guid(rng_); }

  // The record's object as the service holds it (gone: a 404), with the record's certificate.
  // NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move is read as throwing
  struct Held {
    bool gone = false;
    json object;
    std::optional<pki::Certificate> cert;
  };
  net::awaitable<Result<Held>> held(const Record& r) {
    Held h;
    auto reply = co_await client_.call(
        json_request("GET", client_.base() + kCollection + "/" + r.remote_id, "", crid()), false);
    if (reply.outcome == graph::Outcome::refused && reply.response.status == 404) {
      h.gone = true;
      co_return h;
    }
    if (!reply.ok()) co_return reply.to_error("read code-signing certificate " + r.remote_id);
    h.object = json::parse(reply.response.body, nullptr, false);
    auto certs = pki::Certificate::decode_all(
        pki::Bytes(r.certificate_pem.begin(), r.certificate_pem.end()));
    if (!h.object.is_object() || !certs || certs->empty())
      co_return Error(ErrorKind::parse, "code-signing certificate " + r.remote_id, "unreadable");
    h.cert = certs->front();
    co_return h;
  }

  net::awaitable<Result<std::vector<json>>> list() {
    co_return co_await graph::detail::get_all(
        client_, client_.base() + kCollection, [this] { return crid(); },
        "list code-signing certificates");
  }

  // The object this certificate became: its content when the service still holds it, else its
  // subject, issuer and expiry (content is nulled once parsed, graph-api.md 3); never an object
  // another live record holds (a renewal has the predecessor's subject and issuer, and may
  // have its expiry to the second).
  net::awaitable<Result<std::string>> find(const pki::Certificate& cert, Journal& journal) {
    const auto f = cert.facts();
    const std::string content = cert.base64_der();
    auto all = co_await list();
    if (!all) co_return all.error();
    for (const auto& j : *all) {
      const std::string id = str(j, "id"), theirs = str(j, "content");
      if (!theirs.empty() && theirs != content) continue;
      if (theirs.empty() && !reported_mismatch(j, f).empty()) continue;
      if (!journal.owner_of(id).empty()) continue;
      co_return id;
    }
    co_return std::string();
  }

  graph::GraphClient& client_;
  pki::Rng rng_;
};

}  // namespace

std::unique_ptr<providers::Provider> make_intune_provider(graph::GraphClient& client) {
  return std::make_unique<IntuneProvider>(client);
}

}  // namespace pkiflow::intune

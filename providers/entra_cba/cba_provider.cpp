// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "providers/entra_cba/cba_provider.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "providers/detail/guarded_delete.hpp"
#include "providers/detail/journaled.hpp"
#include "providers/detail/send_once.hpp"
#include "providers/graph/detail/json_calls.hpp"

#include "engine/pki/random_bytes.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/x509_vocabulary.hpp"

namespace pkiflow::cba {

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

graph::HttpRequest bulk_upload_request(const std::string& base, const std::string& pki_id,
                                       const std::string& url, const std::string& sha256_hex,
                                       const std::string& crid) {
  return json_request("POST", base + kPkiCollection + "/" + pki_id + "/upload",
                      json{{"uploadUrl", url}, {"sha256FileHash", sha256_hex}}.dump(), crid);
}

namespace {

class CbaProvider : public providers::Provider {
 public:
  CbaProvider(graph::GraphClient& client, CbaSettings s)
      : client_(client), s_(std::move(s)), rng_(pki::Rng::system()) {}

  state::RecordKind kind() const override { return state::RecordKind::cba_ca; }
  const pki::SigningProfile& rules() const override { return *pki::find_profile("cba-ca"); }
  bool service_makes_csr() const override { return false; }

  net::awaitable<Result<Created>> create_or_get_csr(const Record& r, Journal&) override {
    co_return Error(ErrorKind::unsupported, "record " + r.id,
                    "a CBA CA's key and CSR are made by pkiflow, not by the service");
  }

  net::awaitable<Result<Uploaded>> upload(const Record& r, Journal& journal) override {
    auto cert = pki::Certificate::decode_all(
        pki::Bytes(r.certificate_pem.begin(), r.certificate_pem.end()));
    if (!cert || cert->empty())
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "its certificate is unreadable");
    if (auto st = check_record_matches(r, cert->front()); !st) co_return st.error();
    const CaFields f = derive_ca_fields(cert->front(), s_, display_name(r));
    auto pki_id = co_await ensure_pki(journal);
    if (!pki_id) co_return pki_id.error();
    const std::string cas =
        client_.base() + kPkiCollection + "/" + *pki_id + "/certificateAuthorities";
    providers::detail::SendOnce<Uploaded> once;
    once.action = "create-ca";
    once.what = "add CA " + f.thumbprint + " to PKI " + s_.pki_name;
    once.subject = "record " + r.id;
    // Already listed (an earlier attempt whose answer was lost, or added by hand): adopt it,
    // with this record's fields, unless another live record holds it.
    once.settled = [&]() -> net::awaitable<Result<std::optional<Uploaded>>> {
      auto listed = co_await find_ca(*pki_id, f.thumbprint);
      if (!listed) co_return listed.error();
      if (listed->empty()) co_return std::optional<Uploaded>();
      const std::string remote = *pki_id + "/" + *listed;
      if (auto other = journal.owner_of(remote); !other.empty())
        co_return Error(ErrorKind::remote, "record " + r.id,
                        "CA " + f.thumbprint + " in PKI " + s_.pki_name +
                            " is already live record " + other + "'s; it was left alone");
      auto updated = co_await providers::detail::journaled(
          client_, json_request("PATCH", cas + "/" + *listed, ca_body(f, false), crid()),
          "update-ca", journal, "update CA " + f.thumbprint + " in PKI " + s_.pki_name);
      if (!updated) co_return updated.error();
      co_return std::optional<Uploaded>(Uploaded{remote, "listed"});
    };
    once.request = [&] { return json_request("POST", cas, ca_body(f, true), crid()); };
    once.done = [&](const graph::Reply& reply) -> net::awaitable<Result<Uploaded>> {
      auto j = json::parse(reply.response.body, nullptr, false);
      const std::string id = j.is_object() ? str(j, "id") : "";
      if (id.empty())
        co_return Error(ErrorKind::remote, "PKI " + s_.pki_name, "the create response has no id");
      co_return Uploaded{*pki_id + "/" + id, "listed"};
    };
    co_return co_await providers::detail::send_once(client_, journal, std::move(once));
  }

  // The container's object as listed, or null when there is none.
  net::awaitable<Result<json>> find_pki_object() {
    auto all = co_await list(client_.base() + kPkiCollection);
    if (!all) co_return all.error();
    for (const auto& p : *all)
      if (str(p, "displayName") == s_.pki_name) co_return p;
    co_return json(nullptr);
  }

  net::awaitable<Status> post(const std::string& action, graph::HttpRequest req, Journal& journal) {
    auto done = co_await providers::detail::journaled(client_, std::move(req), action, journal,
                                                      action + " on PKI " + s_.pki_name);
    if (!done) co_return done.error();
    co_return Ok{};
  }

  net::awaitable<Status> enable(const Record& r, Journal&) override {
    co_return Error(ErrorKind::unsupported, "record " + r.id,
                    "an Entra CBA CA is trusted once listed; there is nothing to enable");
  }

  net::awaitable<Result<Confirmation>> confirm(const Record& r, Journal&) override {
    const auto slash = r.remote_id.find('/');
    if (slash == std::string::npos)
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "no remote CA id recorded");
    const std::string pki_id = r.remote_id.substr(0, slash);
    auto pki = co_await get_json(client_.base() + kPkiCollection + "/" + pki_id, "PKI " + pki_id);
    if (!pki) co_return pki.error();
    const std::string status = str(*pki, "status");
    if (status.find("ail") != std::string::npos)
      co_return Error(
          ErrorKind::remote, "PKI " + s_.pki_name,
          "its last operation ended with status \"" + status + "\": " + str(*pki, "statusDetails"));
    auto listed = co_await find_ca(pki_id, r.thumbprint_sha1);
    if (!listed) co_return listed.error();
    if (listed->empty())
      co_return Error(ErrorKind::remote, "PKI " + s_.pki_name,
                      "the CA " + r.thumbprint_sha1 +
                          " is not listed (deleted outside pkiflow?); cancel this record and "
                          "request a new one");
    co_return Confirmation{true, status == "running" ? "listed (PKI job running)" : "listed"};
  }

  net::awaitable<Status> retire(const Record& r, Journal& journal) override {
    if (r.remote_id.empty()) co_return Ok{};
    const auto slash = r.remote_id.find('/');
    if (slash == std::string::npos)
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "no remote CA id recorded");
    const std::string url = client_.base() + kPkiCollection + "/" + r.remote_id.substr(0, slash) +
                            "/certificateAuthorities/" + r.remote_id.substr(slash + 1);
    const std::string thumb = r.thumbprint_sha1;
    co_return co_await providers::detail::guarded_delete(
        client_, url, "retire", journal, "CA " + r.thumbprint_sha1 + " in PKI " + s_.pki_name,
        [&thumb](const json& ca) -> Status {
          // Thumbprints compare case-insensitively (graph-api.md 0).
          if (pki::same_hex(str(ca, "thumbprint"), thumb)) return Ok{};
          return Error(
              ErrorKind::remote, "CA",
              "its thumbprint " + str(ca, "thumbprint") + " is not this record's (" + thumb + ")");
        },
        [this] { return crid(); });
  }

  net::awaitable<Result<providers::Observation>> observe(const Record& r) override {
    providers::Observation o;
    const auto slash = r.remote_id.find('/');
    if (slash == std::string::npos)
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "no remote CA id recorded");
    const std::string pki_url =
        client_.base() + kPkiCollection + "/" + r.remote_id.substr(0, slash);
    auto reply = co_await client_.call(
        json_request("GET", pki_url + "/certificateAuthorities/" + r.remote_id.substr(slash + 1),
                     "", crid()),
        false);
    if (reply.outcome == graph::Outcome::refused && reply.response.status == 404) {
      o.gone = true;
      co_return o;
    }
    if (!reply.ok()) co_return reply.to_error("read CA " + r.remote_id);
    auto ca = json::parse(reply.response.body, nullptr, false);
    if (!ca.is_object())
      co_return Error(ErrorKind::parse, "CA " + r.remote_id, "the response is not a JSON object");
    o.in_force = true;  // trusted while listed
    o.remote_status = "listed";
    if (!pki::same_hex(str(ca, "thumbprint"), r.thumbprint_sha1)) {
      o.holds_other = "certificate " + str(ca, "thumbprint");
      co_return o;
    }
    auto cert = pki::Certificate::decode_all(
        pki::Bytes(r.certificate_pem.begin(), r.certificate_pem.end()));
    if (!cert || cert->empty())
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "its certificate is unreadable");
    // The CA's own fields only. The container's displayName is never brought to cba_pki_name
    // by a run: the container may hold CAs no record manages (an adopted CA may even sit in
    // someone else's), so renaming it is the operator's `pkiflow cba rename`.
    o.fields = ca_field_changes(ca, derive_ca_fields(cert->front(), s_, display_name(r)));
    co_return o;
  }

  net::awaitable<Status> update_fields(const Record& r,
                                       const std::vector<providers::FieldChange>& changes,
                                       Journal& journal) override {
    const auto slash = r.remote_id.find('/');
    if (slash == std::string::npos)
      co_return Error(ErrorKind::invalid_input, "record " + r.id, "no remote CA id recorded");
    const std::string pki_url =
        client_.base() + kPkiCollection + "/" + r.remote_id.substr(0, slash);
    json ca_patch;
    for (const auto& c : changes) {
      ca_patch[c.field] = c.wanted == "null"    ? json(nullptr)
                          : c.wanted == "true"  ? json(true)
                          : c.wanted == "false" ? json(false)
                                                : json(c.wanted);
    }
    if (!ca_patch.empty()) {
      // The beta page marks thumbprint and expirationDateTime required on a PATCH (graph-api.md 0).
      ca_patch["thumbprint"] = r.thumbprint_sha1;
      if (r.not_after) ca_patch["expirationDateTime"] = pki::format_rfc3339(*r.not_after);
      auto done = co_await providers::detail::journaled(
          client_,
          json_request("PATCH",
                       pki_url + "/certificateAuthorities/" + r.remote_id.substr(slash + 1),
                       ca_patch.dump(), crid()),
          "update-ca", journal, "update CA " + r.thumbprint_sha1 + " in PKI " + s_.pki_name);
      if (!done) co_return done.error();
    }
    co_return Ok{};
  }

  // The CAs of every container (not only the configured one): the trust store is the tenant's.
  net::awaitable<Result<std::vector<RemoteObject>>> list_remote() override {
    auto pkis = co_await list(client_.base() + kPkiCollection);
    if (!pkis) co_return pkis.error();
    std::vector<RemoteObject> out;
    for (const auto& p : *pkis) {
      const std::string pki_id = str(p, "id");
      auto all =
          co_await list(client_.base() + kPkiCollection + "/" + pki_id + "/certificateAuthorities");
      if (!all) co_return all.error();
      for (const auto& ca : *all)
        out.push_back(listed_ca(p, ca));
    }
    co_return out;
  }

  pki::Rng& rng() { return rng_; }

  // (The rest is used by the container operations above, in this file only.)
  std::string crid() { return pki::random_guid(rng_); }

  static std::string display_name(const Record& r) {
    auto p = nlohmann::json::parse(r.profile_json, nullptr, false);
    return p.is_object() && p.contains("display_name") && p["display_name"].is_string()
               ? p["display_name"].get<std::string>()
               : "";
  }

  net::awaitable<Result<json>> get_json(const std::string& url, const std::string& what) {
    auto reply = co_await client_.call(json_request("GET", url, "", crid()), false);
    if (!reply.ok()) co_return reply.to_error("read " + what);
    auto j = json::parse(reply.response.body, nullptr, false);
    if (!j.is_object())
      co_return Error(ErrorKind::parse, what, "the response is not a JSON object");
    co_return j;
  }

  // Every item of a paged collection (@odata.nextLink followed).
  net::awaitable<Result<std::vector<json>>> list(std::string url) {
    const std::string what = "list " + url;
    co_return co_await graph::detail::get_all(
        client_, std::move(url), [this] { return crid(); }, what);
  }

  net::awaitable<Result<std::string>> find_ca(const std::string& pki_id, const std::string& thumb) {
    auto all =
        co_await list(client_.base() + kPkiCollection + "/" + pki_id + "/certificateAuthorities");
    if (!all) co_return all.error();
    for (const auto& ca : *all)
      if (pki::same_hex(str(ca, "thumbprint"), thumb)) co_return str(ca, "id");
    co_return std::string();
  }

  // The id of the container named settings.pki_name ("" when there is none).
  net::awaitable<Result<std::string>> find_pki() {
    auto all = co_await list(client_.base() + kPkiCollection);
    if (!all) co_return all.error();
    for (const auto& p : *all)
      if (str(p, "displayName") == s_.pki_name) {
        if (str(p, "status") == "running")
          co_return Error(ErrorKind::unavailable, "PKI " + s_.pki_name,
                          "an operation is running on it (only one at a time); the next attempt "
                          "waits for it");
        co_return str(p, "id");
      }
    co_return std::string();
  }

  // The container, created when there is none. One creator per tenant and run: records of the
  // tenant worked at once wait for the one that is looking or creating, then look again, so
  // two records never both find none and both create one (the service does not refuse a
  // second container of the same name).
  net::awaitable<Result<std::string>> ensure_pki(Journal& journal) {
    auto ex = co_await net::this_coro::executor;
    while (ensuring_) {
      net::steady_timer t(ex, std::chrono::milliseconds(10));
      co_await t.async_wait(net::use_awaitable);
    }
    ensuring_ = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{ensuring_};
    co_return co_await find_or_create_pki(journal);
  }

  net::awaitable<Result<std::string>> find_or_create_pki(Journal& journal) {
    providers::detail::SendOnce<std::string> once;
    once.action = "create-pki";
    once.what = "create PKI container " + s_.pki_name;
    once.subject = "PKI " + s_.pki_name;
    once.settled = [&]() -> net::awaitable<Result<std::optional<std::string>>> {
      auto found = co_await find_pki();
      if (!found) co_return found.error();
      if (found->empty()) co_return std::optional<std::string>();
      co_return std::optional<std::string>(*found);
    };
    once.request = [&] {
      return json_request("POST", client_.base() + kPkiCollection,
                          json{{"@odata.type", "#microsoft.graph.certificateBasedAuthPki"},
                               {"displayName", s_.pki_name}}
                              .dump(),
                          crid());
    };
    once.done = [&](const graph::Reply& reply) -> net::awaitable<Result<std::string>> {
      auto j = json::parse(reply.response.body, nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"].is_string())
        co_return j["id"].get<std::string>();
      auto found = co_await find_pki();  // an answer without an id: look it up by name
      if (!found) co_return found.error();
      if (found->empty())
        co_return Error(ErrorKind::remote, "PKI " + s_.pki_name,
                        "the service created the container but it cannot be found by name");
      co_return *found;
    };
    co_return co_await providers::detail::send_once(client_, journal, std::move(once));
  }

 private:
  graph::GraphClient& client_;
  CbaSettings s_;
  pki::Rng rng_;
  bool ensuring_ = false;  // a record of this tenant is looking for or creating the container
};

}  // namespace

net::awaitable<Result<PkiState>> pki_state(graph::GraphClient& client, const CbaSettings& s) {
  CbaProvider p(client, s);
  auto found = co_await p.find_pki_object();
  if (!found) co_return found.error();
  co_return state_of(*found);
}

net::awaitable<Result<PkiState>> start_bulk_upload(graph::GraphClient& client, const CbaSettings& s,
                                                   const std::string& url,
                                                   const std::string& sha256_hex,
                                                   Journal& journal) {
  if (url.rfind("https://", 0) != 0)
    co_return Error(ErrorKind::invalid_input, "--url",
                    "'" + url + "' is not an https URL (the service fetches the bundle from it)");
  if (sha256_hex.size() != 64 ||
      sha256_hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    co_return Error(ErrorKind::invalid_input, "--sha256", "must be 64 hex digits");
  CbaProvider p(client, s);
  auto id = co_await p.ensure_pki(journal);
  if (!id) co_return id.error();
  auto req = bulk_upload_request(client.base(), *id, url, sha256_hex, pki::random_guid(p.rng()));
  if (auto st = co_await p.post("bulk-upload", std::move(req), journal); !st) co_return st.error();
  auto found = co_await p.find_pki_object();
  if (!found) co_return found.error();
  co_return state_of(*found);
}

net::awaitable<Status> rename_pki(graph::GraphClient& client, const CbaSettings& s,
                                  const std::string& new_name, Journal& journal) {
  CbaProvider p(client, s);
  auto found = co_await p.find_pki_object();
  if (!found) co_return found.error();
  if (!found->is_object())
    co_return Error(ErrorKind::invalid_input, "PKI " + s.pki_name, "no container of that name");
  auto req = json_request("PATCH", client.base() + kPkiCollection + "/" + str(*found, "id"),
                          json{{"displayName", new_name}}.dump(), pki::random_guid(p.rng()));
  co_return co_await p.post("rename-pki", std::move(req), journal);
}

std::unique_ptr<providers::Provider> make_cba_provider(graph::GraphClient& client,
                                                       CbaSettings settings) {
  return std::make_unique<CbaProvider>(client, std::move(settings));
}

}  // namespace pkiflow::cba

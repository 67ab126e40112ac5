// Boost 1.74's awaitable.hpp misses #include <utility> under g++ 12 in C++20 (DESIGN.md).
#include <utility>

#include "engine/run/adoption.hpp"

#include <boost/asio/co_spawn.hpp>
#include <nlohmann/json.hpp>

#include "engine/pki/certificate.hpp"
#include "engine/pki/json_text.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/record_id.hpp"

namespace pkiflow::engine {

namespace net = boost::asio;
using state::RecordKind;

namespace {

constexpr RecordKind kKinds[] = {RecordKind::gsa_tls_ca, RecordKind::cba_ca,
                                 RecordKind::intune_codesigning};

Result<std::vector<providers::RemoteObject>> listed(net::io_context& ioc, providers::Provider& p) {
  std::optional<Result<std::vector<providers::RemoteObject>>> out;
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { out = co_await p.list_remote(); },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.restart();
  ioc.run();
  if (!out) return Error(ErrorKind::unavailable, "list", "no answer");
  return std::move(*out);
}

// The live record holding this object: by remote id, or by the certificate it holds.
std::string manager_of(const std::vector<state::Record>& records, const std::string& tenant,
                       const providers::RemoteObject& o) {
  for (const auto& r : records) {
    if (r.state == state::RecordState::retired || r.tenant != tenant) continue;
    if (r.remote_id == o.id) return r.id;
    if (!o.thumbprint_sha1.empty() && pki::same_hex(r.thumbprint_sha1, o.thumbprint_sha1))
      return r.id;
  }
  return "";
}

bool same_object(const providers::RemoteObject& o, const std::string& id) {
  if (o.id == id) return true;
  const auto slash = o.id.find('/');  // CBA: the CA id alone names it too
  return slash != std::string::npos && o.id.substr(slash + 1) == id;
}

// The certificate the record keeps: what the service returns, or (Intune, whose content is
// dropped once parsed) the file the operator gives, proven to be the object's.
Result<pki::Certificate> certificate_of(const providers::RemoteObject& o, RecordKind kind,
                                        const AdoptRequest& req) {
  const std::string what = std::string(state::to_string(kind)) + " object " + o.id;
  const std::string pem = !o.certificate_pem.empty() ? o.certificate_pem : req.certificate_pem;
  if (pem.empty())
    return Error(ErrorKind::invalid_input, what,
                 kind == RecordKind::intune_codesigning
                     ? "the service no longer returns its certificate (Intune drops the content "
                       "once parsed): give the .cer with --certificate, so pkiflow can prove the "
                       "object is the record's before it ever deletes it"
                     : "holds no certificate (status \"" + o.status + "\"): it is not live");
  auto certs = pki::Certificate::decode_all(pki::Bytes(pem.begin(), pem.end()));
  if (!certs || certs->empty())
    return Error(ErrorKind::invalid_input, what, "its certificate is unreadable");
  const auto f = certs->front().facts();
  if (o.certificate_pem.empty()) {  // the operator's file must be the object's certificate
    const bool same_expiry =
        o.not_after && std::chrono::abs(std::chrono::floor<std::chrono::seconds>(*o.not_after) -
                                        std::chrono::floor<std::chrono::seconds>(f.not_after)) <=
                           std::chrono::seconds(1);  // in seconds: years apart overflow in ns
    if (f.subject != o.subject || f.issuer != o.issuer || !same_expiry)
      return Error(ErrorKind::invalid_input, "--certificate",
                   "is not the certificate of " + what + " (the service reports subject \"" +
                       o.subject + "\", issuer \"" + o.issuer + "\"" +
                       (o.not_after ? ", expiry " + pki::format_rfc3339(*o.not_after) : "") + ")");
  }
  return certs->front();
}

}  // namespace

Result<Discovery> discover(net::io_context& ioc, state::StateStore& store,
                           const ProviderFor& provider_for,
                           const std::vector<std::string>& tenants) {
  auto records = store.list({});
  if (!records) return records.error();
  Discovery out;
  for (const auto& tenant : tenants)
    for (auto kind : kKinds) {
      auto p = provider_for(kind, tenant);
      if (!p) {
        out.errors.push_back(p.error());
        continue;
      }
      auto objects = listed(ioc, **p);
      if (!objects) {
        out.errors.push_back(objects.error().about(std::string(state::to_string(kind)) +
                                                   " objects of tenant " + tenant));
        continue;
      }
      for (auto& o : *objects) {
        Discovered d{kind, tenant, std::move(o), ""};
        d.managed_by = manager_of(*records, tenant, d.object);
        out.objects.push_back(std::move(d));
      }
    }
  return out;
}

Result<state::Record> adopt(net::io_context& ioc, state::StateStore& store, Lifecycle& life,
                            const Clock& clock, const ProviderFor& provider_for,
                            const AdoptRequest& req, const std::string& record_id) {
  auto found = discover(ioc, store, provider_for, {req.tenant});
  if (!found) return found.error();
  const Discovered* hit = nullptr;
  for (const auto& d : found->objects)
    if ((!req.kind || *req.kind == d.kind) && same_object(d.object, req.remote_id)) hit = &d;
  if (!hit) {
    std::string why = "no object with this id in tenant " + req.tenant;
    for (const auto& e : found->errors)
      why += "; " + e.what();
    return Error(ErrorKind::invalid_input, "--remote-id " + req.remote_id,
                 why + " (`pkiflow discover` lists them)");
  }
  const auto& o = hit->object;
  const std::string what = std::string(state::to_string(hit->kind)) + " object " + o.id;
  if (!hit->managed_by.empty())
    return Error(ErrorKind::invalid_input, what,
                 "is already managed by record " + hit->managed_by + "; nothing was adopted");
  if (o.note.rfind("Microsoft-managed", 0) == 0)
    return Error(ErrorKind::invalid_input, what,
                 "is Microsoft-managed: Microsoft renews it, pkiflow does not adopt it");
  auto cert = certificate_of(o, hit->kind, req);
  if (!cert) return cert.error();
  const auto f = cert->facts();
  if (f.not_after <= clock.now())
    return Error(ErrorKind::invalid_input, what,
                 "its certificate expired at " + pki::format_rfc3339(f.not_after) +
                     "; adopt only what is live");
  const std::string name = !req.name.empty() ? req.name : !o.name.empty() ? o.name : o.id;
  nlohmann::json profile{{"subject", f.subject}, {"adopted", o.id}};
  if (!req.signer.empty()) profile["signer"] = req.signer;
  NewRecord n{record_id, hit->kind, name, req.tenant, json_text(profile), ""};
  SignedArtifacts a{cert->pem(), o.chain_pem,       f.not_before,
                    f.not_after, f.sha1_thumbprint, f.sha256_thumbprint};
  auto rec =
      life.adopted(n, a, o.id, o.status,
                   "adopted from the tenant: " + what + " (\"" + o.name + "\"), certificate " +
                       f.sha1_thumbprint + ", expires " + pki::format_rfc3339(f.not_after) +
                       "; renewed with a new key when due");
  if (!rec) return rec.error();
  // The journal keeps the claim: the object's name is this record's (GSA deletes by name only).
  auto rng = pki::Rng::system();
  state::Operation op;
  op.op_id = new_record_id(rng);
  op.record_id = rec->id;
  op.action = "adopt";
  op.request_summary = "ADOPT " + o.id + " name=" + o.name;
  op.state = state::OperationState::done;
  op.response_summary = "adopted by an operator";
  op.created_at = op.updated_at = clock.now();
  if (auto st = store.journal_begin(op); !st) return st.error();
  return rec;
}

}  // namespace pkiflow::engine

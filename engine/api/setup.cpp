#include "engine/api/setup.hpp"

#include <algorithm>

#include "engine/clock.hpp"
#include "engine/lifecycle.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/rng.hpp"
#include "engine/record_id.hpp"
#include "engine/run/renewals.hpp"

namespace pkiflow::engine {

Result<std::unique_ptr<state::StateStore>> open_state(const Config& c, const std::string& url,
                                                      state::OpenMode mode) {
  if (c.state_password_file.empty() || !state::is_postgres_url(url))
    return state::open_store(url, mode);
  // The file alone: a PKIFLOW_PASSPHRASE meant for keys must not be sent to the database.
  auto password = pki::find_passphrase(c.state_password_file, "");
  if (!password) return password.error().about("state_password_file");
  if (!*password)
    return Error(ErrorKind::invalid_input, "state_password_file",
                 c.state_password_file.string() + " holds no password");
  return state::open_store(url, mode, &**password);
}

Result<LocalKeys> local_keys(const Config& c, const std::string& state_url) {
  LocalKeys k;
  if (!c.keys.dir.empty()) {
    k.dir = c.keys.dir;
  } else {
    // Beside the SQLite store; a PostgreSQL store is elsewhere, and the keys stay on this host,
    // beside where its own store would be.
    std::string path = state_url;
    if (state::is_postgres_url(state_url)) {
      auto here = default_state_url();
      if (!here) return here.error();
      path = *here;
    }
    if (path.rfind("sqlite://", 0) == 0) path = path.substr(9);
    k.dir = std::filesystem::path(path).parent_path() / "keys";
  }
  std::optional<std::filesystem::path> file;
  if (!c.keys.passphrase_file.empty()) file = c.keys.passphrase_file;
  auto pass = pki::find_passphrase(
      file, c.keys.passphrase_env.empty() ? pki::kPassphraseEnv : c.keys.passphrase_env.c_str());
  if (!pass) return pass.error().about("keys");
  k.passphrase = std::move(*pass);
  return k;
}

Result<std::shared_ptr<const pki::TrustStore>> trust_anchors(const Config& c) {
  if (c.trust_anchors.empty()) return std::shared_ptr<const pki::TrustStore>();
  auto t = pki::TrustStore::load(c.trust_anchors);
  if (!t) return t.error();
  return std::make_shared<const pki::TrustStore>(std::move(*t));
}

Status request_records(state::StateStore& store, const std::deque<CertificateSpec>& wanted,
                       const std::string& reason, const std::string& actor,
                       const std::function<void(const Requested&)>& each) {
  auto existing = store.list({});
  if (!existing) return existing.error();
  SystemClock clock;
  Lifecycle life(store, clock, actor);
  auto rng = pki::Rng::system();
  for (const auto& spec : wanted) {
    // Idempotent: a configured certificate is one lineage (its renewals carry its kind, name
    // and tenant); while any record of it is not retired, nothing new is planned. The newest
    // record of the lineage is the one reported.
    auto same = existing->end();
    for (auto it = existing->begin(); it != existing->end(); ++it)
      if (it->kind == spec.kind && it->name == spec.name && it->tenant == spec.tenant &&
          it->state != state::RecordState::retired &&
          (same == existing->end() || it->created_at >= same->created_at))
        same = it;
    if (same != existing->end()) {
      // An edited entry is not applied to a record that exists; it is said, never ignored.
      each({same->id, spec.name, false, same->state, profile_changes(same->profile_json, spec)});
      continue;
    }
    const NewRecord n{new_record_id(rng), spec.kind,           spec.name,
                      spec.tenant,        spec.profile_json(), ""};
    if (auto ok = check_new_record(store, n); !ok) return ok.error();
    auto r = life.plan(n, reason);
    if (!r) return r.error();
    each({r->id, spec.name, true, r->state, {}});
  }
  return Ok{};
}

std::optional<state::TimePoint> config_changed_at(const Config& c) {
  if (c.file.empty()) return std::nullopt;
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(c.file, ec);
  if (ec) return std::nullopt;
  return std::chrono::time_point_cast<state::TimePoint::duration>(
      std::chrono::file_clock::to_sys(t));
}

Result<Renewed> renew_record(state::StateStore& store, const Config& config, const std::string& id,
                             const std::string& actor) {
  SystemClock clock;
  Lifecycle life(store, clock, actor);
  auto rng = pki::Rng::system();
  RenewalPlan plan;
  auto old = store.get(id);
  if (!old) return old.error();
  if (*old)
    if (auto p = renewal_source(config)(**old)) plan = std::move(*p);
  auto r = life.renew(id, new_record_id(rng), plan.profile_json, plan.profile_note);
  if (!r) return r.error();
  return Renewed{std::move(*r), std::move(plan.changes)};
}

int run_exit_code(const RunReport& report, bool drift_in_store) {
  if (report.interrupted) return 7;
  if (report.count(RecordOutcome::Result::failed) > 0 ||
      std::any_of(report.renewals.begin(), report.renewals.end(),
                  [](const auto& p) { return !p.error.empty(); }))
    return 5;
  if (drift_in_store || report.drifted > 0) return 9;
  if (!report.skipped_leased.empty()) return 8;
  return 0;
}

}  // namespace pkiflow::engine

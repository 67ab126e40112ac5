// Renewal on schedule (issue 12, part 1) with a fake clock: the policy's arithmetic (fraction
// and duration, whichever is first; the jitter's bounds), the configuration's checks (an
// unsatisfiable policy refused with its field path), and the planner that a run calls first
// (due and not due, one successor however many runs find it due, a dry run writes nothing).
#include <boost/test/unit_test.hpp>
#include <set>

#include "engine/config.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/run/renewals.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace renewal_test {

using namespace pkiflow;
using namespace pkiflow::engine;
using namespace std::chrono_literals;
using S = state::RecordState;

namespace {

const TimePoint kIssued{std::chrono::seconds(1'800'000'000)};

struct Fixture : pkiflow::test::StoreFixture {
  // An active CBA record whose certificate is valid from `from` for `lifetime`.
  std::string active(TimePoint from, std::chrono::seconds lifetime) {
    const std::string id = planned();
    SignedArtifacts a{"cert", "", from, from + lifetime, "AA", "BB"};
    BOOST_REQUIRE(life.signed_(id, a).ok());
    BOOST_REQUIRE(life.uploaded(id, "uploaded", "remote-" + id).ok());
    BOOST_REQUIRE(life.activated(id, "active").ok());
    return id;
  }
  RenewalSource policy(RenewalPolicy p) {
    return [p](const state::Record&) {
      RenewalPlan plan;
      plan.policy = p;
      return std::optional<RenewalPlan>(plan);
    };
  }
  Result<std::vector<PlannedRenewal>> plan(const RenewalSource& source, bool dry_run = false) {
    return plan_due_renewals(*store, life, clock, rng, source, dry_run);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(renewal)

BOOST_AUTO_TEST_CASE(durations_are_a_number_and_a_unit) {
  BOOST_TEST(parse_duration("30d").value() == std::chrono::seconds(30 * 86'400));
  BOOST_TEST(parse_duration("12h").value() == std::chrono::seconds(12 * 3'600));
  BOOST_TEST(parse_duration("90m").value() == std::chrono::seconds(90 * 60));
  BOOST_TEST(parse_duration("45s").value() == std::chrono::seconds(45));
  for (const char* bad : {"", "d", "30", "30w", "-3d", "3.5d", "1e3d", "30 d", "99999999d"})
    BOOST_TEST(!parse_duration(bad).ok(), bad);
  BOOST_TEST(format_duration(std::chrono::seconds(30 * 86'400)) == "30d");
  BOOST_TEST(format_duration(std::chrono::seconds(90 * 60)) == "90m");
}

BOOST_AUTO_TEST_CASE(the_earlier_of_fraction_and_duration_wins_and_jitter_stays_bounded) {
  const auto year = std::chrono::seconds(std::chrono::days(365));
  const auto to = kIssued + year;
  // The fraction alone: 2/3 of a year, plus at most 1% of it (and at most 6 h).
  RenewalPolicy two_thirds;
  auto t = renewal_time(kIssued, to, two_thirds, "REC1");
  const auto base = kIssued + std::chrono::duration_cast<TimePoint::duration>(year * 2.0 / 3.0);
  BOOST_TEST((t.at >= base && t.at <= base + 6h));
  BOOST_TEST(t.reason == "2/3 of its lifetime");
  // 30 days before expiry comes later than 2/3 of a year: the fraction still wins.
  RenewalPolicy with_before;
  with_before.renew_before = std::chrono::seconds(std::chrono::days(30));
  with_before.renew_at_fraction = 2.0 / 3.0;
  BOOST_TEST(renewal_time(kIssued, to, with_before, "REC1").reason == "2/3 of its lifetime");
  // 200 days before expiry comes first.
  RenewalPolicy early;
  early.renew_before = std::chrono::seconds(std::chrono::days(200));
  early.renew_at_fraction = 2.0 / 3.0;
  auto e = renewal_time(kIssued, to, early, "REC1");
  BOOST_TEST(e.reason == "200d before it expires");
  BOOST_TEST((e.at >= to - std::chrono::days(200) && e.at <= to - std::chrono::days(200) + 6h));
  // The jitter is stable per record, differs between records, and stays in its bounds.
  std::set<TimePoint::rep> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "REC" + std::to_string(i);
    auto a = renewal_time(kIssued, to, two_thirds, id);
    BOOST_TEST((a.at == renewal_time(kIssued, to, two_thirds, id).at));
    BOOST_TEST((a.at >= base && a.at <= base + 6h));
    seen.insert(a.at.time_since_epoch().count());
  }
  BOOST_TEST(seen.size() > 190u);
  // A ten-day certificate: at most 1% of its lifetime (2.4 h), never past notAfter.
  auto short_to = kIssued + std::chrono::days(10);
  for (int i = 0; i < 50; ++i) {
    auto s = renewal_time(kIssued, short_to, two_thirds, "S" + std::to_string(i));
    const auto s_base = kIssued + std::chrono::duration_cast<TimePoint::duration>(
                                      std::chrono::days(10) * 2.0 / 3.0);
    BOOST_TEST((s.at >= s_base && s.at <= s_base + std::chrono::minutes(144)));
  }
  RenewalPolicy late;
  late.renew_before = std::chrono::seconds(1);
  late.renew_at_fraction = 0.999999;
  BOOST_TEST((renewal_time(kIssued, short_to, late, "X").at < short_to));
}

// A certificate's times are clamped to what system_clock holds (1677-2262); a validity from 1678
// to 2261 does not fit in 64-bit nanoseconds, so the renewal time is worked out in seconds (the
// sanitizer build catches the overflow this once was).
BOOST_AUTO_TEST_CASE(a_certificate_valid_for_centuries_is_renewed_inside_its_validity) {
  using namespace std::chrono;
  const TimePoint from = sys_days(year(1678) / 1 / 1), to = sys_days(year(2261) / 12 / 31);
  RenewalPolicy policy;
  policy.renew_at_fraction = 2.0 / 3.0;
  const auto t = renewal_time(from, to, policy, "REC1");
  BOOST_TEST(t.reason == "2/3 of its lifetime");
  BOOST_TEST((t.at > sys_days(year(2067) / 1 / 1) && t.at < sys_days(year(2068) / 1 / 1)),
             pki::format_rfc3339(t.at));
  policy.renew_before = seconds(days(365 * 500));
  const auto e = renewal_time(from, to, policy, "REC1");
  BOOST_TEST(e.reason == "182500d before it expires");
  BOOST_TEST((e.at > sys_days(year(1761) / 1 / 1) && e.at < to), pki::format_rfc3339(e.at));
}

BOOST_AUTO_TEST_CASE(a_policy_that_can_never_be_satisfied_is_refused_with_its_field) {
  const std::string tenant = R"("tenants": {"t": {"tenant_id": "t", "client_id": "a",
      "auth": {"client_secret_env": "X"}}})";
  auto cfg = [&](const std::string& more) {
    return parse_config("{" + tenant + more + "}", "c.json");
  };
  auto bad = cfg(R"(, "certificates": [{"kind": "cba-ca", "name": "x", "tenant": "t",
      "validity_days": 30, "renew_before": "30d"}])");
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message().find("certificates[0].renew_before: renew_before 30d is not "
                                        "shorter than the validity of 30 days") == 0u,
             bad.error().message());
  auto from_defaults = cfg(R"(, "renewal": {"renew_before": "400d"},
      "certificates": [{"kind": "cba-ca", "name": "x", "tenant": "t", "validity_days": 365}])");
  BOOST_TEST_REQUIRE(!from_defaults.ok());
  BOOST_TEST(from_defaults.error().message().find(
                 "renewal.renew_before (for certificates[0]): renew_before 400d") == 0u,
             from_defaults.error().message());
  for (const char* fraction : {"0", "1", "1.5", "-0.2", "\"2/3\""}) {
    auto f = cfg(std::string(R"(, "renewal": {"renew_at_fraction": )") + fraction + "}");
    BOOST_TEST(!f.ok(), fraction);
  }
  // A certificate requested on the command line is held to the same policy.
  auto with_defaults = cfg(R"(, "renewal": {"renew_before": "30d"})");
  BOOST_TEST_REQUIRE(with_defaults.ok());
  auto short_cli = parse_certificate_entry(
      R"({"kind": "cba-ca", "name": "x", "tenant": "t", "validity_days": 20})", *with_defaults,
      "command line");
  BOOST_TEST_REQUIRE(!short_cli.ok());
  BOOST_TEST(short_cli.error().message().find("certificate.validity_days: renew_before 30d") == 0u,
             short_cli.error().message());
  auto typo = cfg(R"(, "renewal": {"renew_befor": "30d"})");
  BOOST_TEST_REQUIRE(!typo.ok());
  BOOST_TEST(typo.error().message().find("did you mean \"renew_before\"") != std::string::npos);
  auto good = cfg(R"(, "renewal": {"renew_before": "30d", "renew_at_fraction": 0.75,
                                   "window": {"days": ["sat", "sun"]}},
      "certificates": [{"kind": "cba-ca", "name": "x", "tenant": "t", "renew_before": "10d",
                        "renewal_window": {"hours": "01:00-02:00", "time_zone": "UTC"}},
                       {"kind": "cba-ca", "name": "y", "tenant": "t"}])");
  BOOST_TEST_REQUIRE(good.ok(), pkiflow::test::why(good));
  auto x = good->renewal_policy(state::RecordKind::cba_ca, "x", "t");
  BOOST_TEST(x.renew_before->count() == 10 * 86'400);
  BOOST_TEST(x.renew_at_fraction == 0.75);
  auto other = good->renewal_policy(state::RecordKind::cba_ca, "unlisted", "t");
  BOOST_TEST(other.renew_before->count() == 30 * 86'400);
  BOOST_TEST(x.window->describe() == "mon,tue,wed,thu,fri,sat,sun 01:00-02:00 UTC");
  BOOST_TEST(other.window->describe() == "sat,sun 00:00-24:00 UTC");
  auto bad_window = cfg(R"(, "certificates": [{"kind": "cba-ca", "name": "x", "tenant": "t",
      "renewal_window": {"days": ["someday"]}}])");
  BOOST_TEST_REQUIRE(!bad_window.ok());
  BOOST_TEST(bad_window.error().message().find("certificates[0].renewal_window: \"days\"") == 0u,
             bad_window.error().message());
}

// Entries are found by (kind, tenant, name) through the index parse_config makes, also among
// many; one added afterwards is found too; a duplicate is reported at the first entry in file
// order that repeats an earlier one, after the checks of the entries before it.
BOOST_AUTO_TEST_CASE(configured_certificates_are_found_by_key_and_a_duplicate_is_named) {
  const std::string tenants = R"("tenants": {"a": {"tenant_id": "a", "client_id": "c",
      "auth": {"client_secret_env": "X"}}, "b": {"tenant_id": "b", "client_id": "c",
      "auth": {"client_secret_env": "X"}}})";
  std::string certs;
  for (int i = 0; i < 300; ++i)
    certs += std::string(certs.empty() ? "" : ",") + R"({"kind": ")" +
             (i % 3 == 0 ? "cba-ca" : "intune-codesigning") + R"(", "name": "n)" +
             std::to_string(299 - i) + R"(", "tenant": ")" + (i % 2 ? "a" : "b") +
             R"(", "subject": "CN=X", "renew_before": ")" + std::to_string(i + 1) + R"(d"})";
  auto c = parse_config("{" + tenants + R"(, "certificates": [)" + certs + "]}", "c.json");
  BOOST_TEST_REQUIRE(c.ok(), pkiflow::test::why(c));
  BOOST_TEST(c->certificates.size() == 300u);
  for (int i = 0; i < 300; ++i) {
    const auto kind =
        i % 3 == 0 ? state::RecordKind::cba_ca : state::RecordKind::intune_codesigning;
    const auto* spec = c->certificate(kind, "n" + std::to_string(299 - i), i % 2 ? "a" : "b");
    BOOST_TEST_REQUIRE(spec != nullptr, i);
    BOOST_TEST(spec->renew_before->count() == (i + 1) * 86'400);
    BOOST_TEST(c->certificate(kind, "n" + std::to_string(299 - i), i % 2 ? "b" : "a") == nullptr);
  }
  CertificateSpec added;
  added.kind = state::RecordKind::cba_ca;
  added.name = "late";
  added.tenant = "a";
  c->certificates.push_back(added);
  BOOST_TEST(c->certificate(state::RecordKind::cba_ca, "late", "a") != nullptr);
  BOOST_TEST(c->certificate(state::RecordKind::cba_ca, "n299", "b") != nullptr);

  auto dup = parse_config("{" + tenants + R"(, "certificates": [
      {"kind": "cba-ca", "name": "x", "tenant": "a", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "y", "tenant": "a", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "y", "tenant": "b", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "y", "tenant": "a", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "x", "tenant": "a", "subject": "CN=X"}]})",
                          "c.json");
  BOOST_TEST_REQUIRE(!dup.ok());
  BOOST_TEST(dup.error().message().find(
                 "certificates[3]: duplicate of an earlier entry (cba-ca/a/y)") == 0u,
             dup.error().message());
  // An entry before the duplicate with its own problem is reported first, as the file reads.
  auto first = parse_config("{" + tenants + R"(, "certificates": [
      {"kind": "cba-ca", "name": "x", "tenant": "a", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "z", "tenant": "nobody", "subject": "CN=X"},
      {"kind": "cba-ca", "name": "x", "tenant": "a", "subject": "CN=X"}]})",
                            "c.json");
  BOOST_TEST_REQUIRE(!first.ok());
  BOOST_TEST(first.error().message().find("certificates[1].tenant") == 0u, first.error().message());
}

// Tenants that sign in alike share one copy of their credential settings, and those that leave
// the rare settings alone share one copy of those; a tenant's own values stay its own.
BOOST_AUTO_TEST_CASE(tenants_share_what_they_have_alike_and_keep_their_own) {
  auto c = parse_config(R"({"tenants": {
      "a": {"tenant_id": "a", "client_id": "c", "auth": {"client_secret_env": "X"}},
      "b": {"tenant_id": "b", "client_id": "c", "auth": {"client_secret_env": "X"}},
      "c": {"tenant_id": "c", "client_id": "c", "auth": {"client_secret_env": "Y"},
            "gsa_activation": "manual", "cba_pki_name": "own"},
      "d": {"tenant_id": "d", "client_id": "c", "auth": {"client_secret_env": "Y"}}}})",
                        "c.json");
  BOOST_TEST_REQUIRE(c.ok(), pkiflow::test::why(c));
  const auto* a = c->tenant("a");
  const auto* b = c->tenant("b");
  const auto* cc = c->tenant("c");
  const auto* d = c->tenant("d");
  BOOST_TEST_REQUIRE((a && b && cc && d));
  BOOST_TEST(a->auth.get() == b->auth.get());
  BOOST_TEST(cc->auth.get() == d->auth.get());
  BOOST_TEST(a->auth.get() != cc->auth.get());
  BOOST_TEST(a->auth->secret_env == "X");
  BOOST_TEST(d->auth->secret_env == "Y");
  BOOST_TEST(a->extras.get() == TenantExtras::defaults().get());
  BOOST_TEST(d->extras.get() == TenantExtras::defaults().get());
  BOOST_TEST(cc->extras->gsa_activation == "manual");
  BOOST_TEST(cc->extras->cba_pki_name == "own");
  BOOST_TEST(a->extras->gsa_activation == "auto");
  BOOST_TEST(a->extras->cba_pki_name == "pkiflow");
}

BOOST_AUTO_TEST_CASE(each_family_keeps_or_removes_a_superseded_certificate_as_its_service_needs) {
  state::Record r;
  r.not_after = kIssued + std::chrono::days(30);
  const RenewalPolicy defaults;
  r.kind = state::RecordKind::gsa_tls_ca;  // one enabled certificate: gone at the cutover
  BOOST_TEST(retirement_due(r, defaults, kIssued));
  BOOST_TEST(kept_until_note(r, defaults) == "its remote object is deleted now");
  r.kind = state::RecordKind::cba_ca;  // users' certificates it issued need it
  BOOST_TEST(!retirement_due(r, defaults, kIssued));
  BOOST_TEST(retirement_due(r, defaults, *r.not_after));
  BOOST_TEST(kept_until_note(r, defaults).find("user certificates it issued keep authenticating") !=
             std::string::npos);
  r.kind = state::RecordKind::intune_codesigning;  // apps signed with it need it
  BOOST_TEST(!retirement_due(r, defaults, kIssued));
  BOOST_TEST(kept_until_note(r, defaults).find("apps signed with it must be re-signed") !=
             std::string::npos);
  RenewalPolicy never;
  never.retire_superseded = Retire::never;
  BOOST_TEST(!retirement_due(r, never, *r.not_after + std::chrono::days(1000)));
  RenewalPolicy cutover;
  cutover.retire_superseded = Retire::after_cutover;
  BOOST_TEST(retirement_due(r, cutover, kIssued));
  // A TLS-inspection CA cannot stay until it expires (one enabled certificate per tenant).
  auto gsa_kept = parse_config(R"({"tenants": {"t": {"tenant_id": "t", "client_id": "a",
      "auth": {"client_secret_env": "X"}}}, "certificates": [{"kind": "gsa-tls-ca", "name": "g",
      "tenant": "t", "subject": "CN=G,O=L", "retire_superseded": "at-expiry"}]})",
                               "c.json");
  BOOST_TEST_REQUIRE(!gsa_kept.ok());
  BOOST_TEST(gsa_kept.error().message().find("certificates[0].retire_superseded") == 0u);
}

// Monday 2027-01-18 00:00 UTC, and a time that many hours and minutes later.
TimePoint monday_utc(int hours, int minutes = 0) {
  return TimePoint(std::chrono::seconds(1'800'230'400)) + std::chrono::hours(hours) +
         std::chrono::minutes(minutes);
}

BOOST_AUTO_TEST_CASE(a_renewal_window_holds_days_hours_past_midnight_and_a_time_zone) {
  auto w = parse_window(R"({"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "22:00-06:00"})");
  BOOST_TEST_REQUIRE(w.ok(), pkiflow::test::why(w));
  BOOST_TEST(w->describe() == "mon,tue,wed,thu,fri 22:00-06:00 UTC");
  BOOST_TEST(w->contains(monday_utc(23)));            // Monday evening
  BOOST_TEST(w->contains(monday_utc(24 + 5, 59)));    // Tuesday morning: Monday's window
  BOOST_TEST(!w->contains(monday_utc(5)));            // Monday morning: Sunday's, not a window day
  BOOST_TEST(!w->contains(monday_utc(12)));           // midday
  BOOST_TEST(w->contains(monday_utc(5 * 24 + 3)));    // Saturday 03:00: Friday's window
  BOOST_TEST(!w->contains(monday_utc(5 * 24 + 23)));  // Saturday evening
  BOOST_TEST(!w->contains(monday_utc(21, 59)));       // 21:59
  // In a time zone: Berlin is UTC+1 in January.
  auto berlin =
      parse_window(R"({"days": ["mon"], "hours": "09:00-17:00", "time_zone": "Europe/Berlin"})");
  BOOST_TEST_REQUIRE(berlin.ok(), pkiflow::test::why(berlin));
  BOOST_TEST(berlin->contains(monday_utc(8, 30)));    // 09:30 in Berlin
  BOOST_TEST(!berlin->contains(monday_utc(16, 30)));  // 17:30 in Berlin
  BOOST_TEST(!berlin->contains(monday_utc(7, 59)));   // 08:59 in Berlin
  for (const char* bad :
       {R"({"days": ["monday"]})", R"({"days": []})", R"({"hours": "25:00-01:00"})",
        R"({"hours": "22-06"})", R"({"hours": "08:00-08:00"})", R"({"time_zone": "Mars/Olympus"})",
        R"({"time_zone": "../../etc/passwd"})", R"({"hour": "22:00-06:00"})", R"("nightly")",
        R"({"hours": "+1:00-06:00"})", R"({"hours": " 1:00-06:00"})",
        R"({"hours": "01:00-06:00x"})"})
    BOOST_TEST(!parse_window(bad).ok(), bad);
}

BOOST_FIXTURE_TEST_CASE(a_due_renewal_outside_its_window_waits_for_it, Fixture) {
  const auto year = std::chrono::seconds(std::chrono::days(365));
  clock.set(monday_utc(12));
  const std::string due = active(clock.now() - std::chrono::days(300), year);
  RenewalPolicy p;
  p.window = *parse_window(R"({"days": ["mon"], "hours": "22:00-23:00"})");
  auto outside = plan(policy(p));
  BOOST_TEST_REQUIRE(outside->size() == 1u);
  BOOST_TEST((*outside)[0].window == "mon 22:00-23:00 UTC");
  BOOST_TEST((*outside)[0].successor.empty());
  BOOST_TEST(store->list({}).value().size() == 1u);
  clock.set(monday_utc(22, 30));
  auto inside = plan(policy(p));
  BOOST_TEST_REQUIRE(inside->size() == 1u);
  BOOST_TEST(!(*inside)[0].successor.empty());
  BOOST_TEST((*inside)[0].id == due);
}

BOOST_FIXTURE_TEST_CASE(a_run_plans_each_due_renewal_once_and_a_dry_run_plans_none, Fixture) {
  const auto year = std::chrono::seconds(std::chrono::days(365));
  const std::string due = active(clock.now() - std::chrono::days(300), year);
  const std::string not_due = active(clock.now() - std::chrono::days(10), year);
  RenewalPolicy p;
  auto dry = plan(policy(p), true);
  BOOST_TEST_REQUIRE(dry.ok());
  BOOST_TEST_REQUIRE(dry->size() == 1u);
  BOOST_TEST((*dry)[0].id == due);
  BOOST_TEST((*dry)[0].successor.empty());
  BOOST_TEST(store->list({}).value().size() == 2u);  // nothing written

  auto first = plan(policy(p));
  BOOST_TEST_REQUIRE(first.ok());
  BOOST_TEST_REQUIRE(first->size() == 1u);
  const auto successor = store->get((*first)[0].successor).value();
  BOOST_TEST_REQUIRE(successor.has_value());
  BOOST_TEST(successor->renews == due);
  BOOST_TEST((successor->state == S::planned));
  auto history = store->history(successor->id).value();
  BOOST_TEST(history[0].reason.find("renewal of " + due + "; due since ") == 0u, history[0].reason);
  BOOST_TEST(history[0].reason.find("(2/3 of its lifetime)") != std::string::npos);
  // The next run finds it being renewed: nothing more.
  BOOST_TEST(plan(policy(p))->empty());
  // Two planners racing past the list: the store refuses the second successor.
  state::Record twin = *successor;
  twin.id = new_record_id(rng);
  state::HistoryEntry h;
  h.record_id = twin.id;
  h.to = S::planned;
  h.at = clock.now();
  auto refused = store->create(twin, h);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().message() == "is already being renewed by " + successor->id);
  // Time passes: the other one comes due too.
  clock.advance(std::chrono::days(250));
  auto later = plan(policy(p));
  BOOST_TEST_REQUIRE(later->size() == 1u);
  BOOST_TEST((*later)[0].id == not_due);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renewal_test

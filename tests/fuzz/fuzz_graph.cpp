// Every parser of what Microsoft Graph and the token endpoint send back: GSA objects and
// lists (with @odata.nextLink), their status values, Graph error bodies, token responses and
// errors, Retry-After values, a page of any collection and where its next link leads, CBA
// containers and listed CAs (and the fields that differ from what pkiflow would send), Intune
// listed certificates (and whether what the service reports is a record's certificate). The
// first byte picks the parser.
#include "engine/pki/local_ca.hpp"
#include "providers/entra_cba/cba_messages.hpp"
#include "providers/graph/cloud.hpp"
#include "providers/graph/detail/json_reading.hpp"
#include "providers/graph/graph_error.hpp"
#include "providers/graph/retry_policy.hpp"
#include "providers/graph/token.hpp"
#include "providers/gsa_tls/gsa_messages.hpp"
#include "providers/intune_codesigning/intune_messages.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pkiflow;

namespace {

using json = nlohmann::ordered_json;

// A certificate for the comparisons (CBA's field changes, Intune's reported identity).
const pki::Certificate& reference_certificate() {
  static const pki::Certificate cert = [] {
    auto rng = pki::Rng::deterministic(1);
    const auto key = pki::PrivateKey::generate(pki::KeyAlgorithm::p256, rng);
    pki::SignOptions opts;
    opts.not_before = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
    auto ca = pki::LocalCa::self_signed("CN=Fuzz CA,O=Lab", key, *pki::find_profile("root-ca"),
                                        opts, rng);
    if (!ca) __builtin_trap();
    return *ca;
  }();
  return cert;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::select(data, size, 11);
  const std::string_view body = fuzz::text(in.data, in.size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  switch (in.which) {
    case 0:
      (void)gsa::parse_remote_ca(body);
      break;
    case 1: {
      std::string next;
      (void)gsa::parse_remote_list(body, next);
      break;
    }
    case 2:
      (void)gsa::parse_status(body);
      break;
    case 3:
      (void)graph::parse_graph_error(400, body, "req-id").describe();
      break;
    case 4:
      (void)graph::parse_token_error(401, body).describe();
      break;
    case 5: {
      graph::HttpResponse r;
      r.status = 200;
      r.body = std::string(body);
      (void)graph::parse_token_response(r, now);
      break;
    }
    case 6: {
      auto ms = graph::parse_retry_after(body, now);
      if (ms && ms->count() < 0) __builtin_trap();  // a wait is never negative
      break;
    }
    case 7: {  // a page of a collection: a next link that passes is on Graph's own host and port
      std::vector<json> items;
      auto next = graph::detail::read_page(body, items, "list");
      const std::string base = "https://graph.microsoft.com/beta";
      if (next && graph::detail::same_origin(*next, base)) {
        auto url = graph::parse_url(*next, "@odata.nextLink");
        if (url && (url->host != "graph.microsoft.com" || url->port != "443")) __builtin_trap();
      }
      break;
    }
    case 8: {  // CBA: the container, its CAs as listed, and what differs from pkiflow's fields
      auto j = json::parse(body, nullptr, false);
      (void)cba::state_of(j);
      (void)cba::listed_ca(j, j.is_object() && j.contains("ca") ? j["ca"] : j);
      if (j.is_object()) {
        static const auto fields = cba::derive_ca_fields(reference_certificate(), {});
        for (const auto& c : cba::ca_field_changes(j, fields))
          if (c.remote == c.wanted) __builtin_trap();  // a change is a difference
      }
      break;
    }
    case 9: {  // Intune: a listed certificate, and whether the service reports the record's
      auto j = json::parse(body, nullptr, false);
      (void)intune::listed_certificate(j);
      (void)intune::reported_mismatch(j, reference_certificate().facts());
      break;
    }
    case 10: {  // a listed certificate's `content` (PEM or base64 DER) decoded as discover does
      json j = {{"content", std::string(body)}, {"certificate", std::string(body)}};
      const auto o = intune::listed_certificate(j);
      const auto c = cba::listed_ca(json::object(), j);
      if (o.thumbprint_sha1 != c.thumbprint_sha1) __builtin_trap();  // one decoder, one answer
      break;
    }
  }
  return 0;
}

// The Graph emulator's request handling (tools/graph-emulator): what a client sends it, parsed
// and answered against an in-memory tenant. An input is a sequence of requests to one fresh
// emulator, each "METHOD TARGET\n" then its body, separated by a 0xFF byte; every request carries
// an access token the emulator issued (signed in first with the client secret), so the fuzzer
// reaches every family's handlers, not only the 401. The emulator must answer each with a status
// in 100..599 and, when it says its body is JSON, a body that is JSON: it stands in for the
// service in every end-to-end test, so a crash or a malformed answer there hides client faults.
// The emulator serves any tenant (Options::multi_tenant): a sign-in in the input that succeeds
// gives the requests after it that tenant's token, so the fuzzer moves between tenants too.
#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_support.hpp"
#include "tools/graph-emulator/emulator.hpp"

using namespace pkiflow;

namespace {

constexpr const char* kSecret = "fuzz-client-secret";

emulator::Options options() {
  emulator::Options o;
  o.client_secret = kSecret;
  o.activation_delay = std::chrono::milliseconds(0);
  o.rsa_service_keys = false;  // P-256 service keys: the fuzzer runs many objects a second
  o.staged_flow = true;        // the service today (graph-api.md 0)
  o.gsa_page_size = 2;         // lists page after two objects
  o.multi_tenant = true;
  return o;
}

void check(const emulator::Response& r) {
  if (r.drop_connection) return;
  if (r.status < 100 || r.status > 599) __builtin_trap();
  if (!r.body.empty() && r.header("Content-Type").find("json") != std::string::npos &&
      !nlohmann::json::accept(r.body))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'790'000'000));
  emulator::GraphEmulator emu(
      options(), [&now] { return now += std::chrono::seconds(1); }, 7);
  emu.set_base_url("https://graph.example");
  auto token = emu.handle({"POST",
                           "/contoso/oauth2/v2.0/token",
                           {{"Content-Type", "application/x-www-form-urlencoded"}},
                           std::string("grant_type=client_credentials&client_id=") +
                               options().client_id + "&client_secret=" + kSecret +
                               "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"});
  const auto issued = nlohmann::json::parse(token.body, nullptr, false);
  if (token.status != 200 || !issued.contains("access_token")) __builtin_trap();
  std::string bearer = "Bearer " + issued["access_token"].get<std::string>();

  std::string_view in = fuzz::text(data, size);
  for (int n = 0; !in.empty() && n < 16; ++n) {
    const auto end = in.find('\xff');
    const std::string_view one = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
    const auto nl = one.find('\n');
    const std::string_view line = one.substr(0, nl);
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    emulator::Request req;
    req.method = std::string(line.substr(0, sp));
    req.target = std::string(line.substr(sp + 1));
    req.headers = {{"Authorization", bearer}, {"Content-Type", "application/json"}};
    if (nl != std::string_view::npos) req.body = std::string(one.substr(nl + 1));
    const auto res = emu.handle(req);
    check(res);
    if (res.status == 200 && req.target.find("/oauth2/") != std::string::npos) {
      const auto signed_in = nlohmann::json::parse(res.body, nullptr, false);
      if (signed_in.is_object() && signed_in.contains("access_token") &&
          signed_in["access_token"].is_string())
        bearer = "Bearer " + signed_in["access_token"].get<std::string>();
    }
  }
  return 0;
}

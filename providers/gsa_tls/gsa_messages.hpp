// The Global Secure Access TLS-inspection CA endpoint (graph-api.md 1) as requests and parsed
// responses, with no I/O: the provider sends them through the Graph client, dry-run prints them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"
#include "providers/graph/http_message.hpp"

namespace pkiflow::gsa {

inline constexpr const char* kCollection =
    "/networkAccess/tls/externalCertificateAuthorityCertificates";
// The Microsoft-managed CA (preview, graph-api.md 0): listed, never touched.
inline constexpr const char* kManagedCollection =
    "/networkAccess/tls/managedCertificateAuthorityCertificates";
inline constexpr std::size_t kMaxNameLength = 12;  // unique, no spaces, never reusable

// The remote object's name for a record: "pf" + the first 9 characters of its id (45 random
// bits) + one character counting the record's create attempts. Each renewal is a new record and
// so gets fresh names; a create whose response was lost is found again by the prefix, and the
// next attempt never reuses a name (the service never allows that).
inline constexpr int kMaxGenerations = 32;
std::string name_prefix(const std::string& record_id);
Result<std::string> object_name(const std::string& record_id, int generation);

// tlsCertificateStatus, an evolvable enum: members we do not know are kept, never mapped.
enum class TlsStatus {
  csrGenerated,
  enrolling,
  active,
  expiring,
  expired,
  enabled,
  disabled,
  creating,
  revoked,
  unknownFutureValue,
  unrecognised
};
struct StatusValue {
  TlsStatus status = TlsStatus::unrecognised;
  std::string raw;  // exactly what the service said
};
StatusValue parse_status(std::string_view raw);
// Whether the certificate is in force: active or enabled. Everything else, unknown values
// included, is "not active yet" (fail closed).
bool in_force(const StatusValue& s);

struct RemoteCa {
  std::string id;
  std::string name;
  std::string common_name;
  std::string organization_name;
  StatusValue status;
  std::string csr_pem;  // only in the POST response, per a field report
  std::string certificate_pem;
  std::string chain_pem;
  std::optional<std::chrono::system_clock::time_point> valid_from;
  std::optional<std::chrono::system_clock::time_point> valid_to;
};

Result<RemoteCa> parse_remote_ca(std::string_view json);
// A list page; `next_link` receives @odata.nextLink ("" on the last page).
Result<std::vector<RemoteCa>> parse_remote_list(std::string_view json, std::string& next_link);

// Requests (without Authorization, which the client adds). `base` is the Graph base URL, e.g.
// https://graph.microsoft.com/beta. Every request asks for unknown enum members.
graph::HttpRequest create_request(const std::string& base, const std::string& name,
                                  const std::string& common_name,
                                  const std::string& organization_name,
                                  const std::string& client_request_id);
graph::HttpRequest get_request(const std::string& base, const std::string& id,
                               const std::string& client_request_id);
graph::HttpRequest find_by_name_request(const std::string& base, const std::string& name,
                                        const std::string& client_request_id);
// Objects whose name starts with `prefix` ($filter=startsWith(name, '…')).
graph::HttpRequest find_by_prefix_request(const std::string& base, const std::string& prefix,
                                          const std::string& client_request_id);
graph::HttpRequest upload_request(const std::string& base, const std::string& id,
                                  const std::string& certificate_pem, const std::string& chain_pem,
                                  const std::string& client_request_id);
graph::HttpRequest enable_request(const std::string& base, const std::string& id,
                                  const std::string& client_request_id);
graph::HttpRequest delete_request(const std::string& base, const std::string& id,
                                  const std::string& client_request_id);

}  // namespace pkiflow::gsa

// The Entra certificate-based-authentication trust store (graph-api.md 2): each record is one CA
// in a PKI container (certificateBasedAuthPki, found by display name or created), uploaded as a
// certificateAuthorityDetail whose every field is derived from the certificate itself. Confirm =
// the CA is listed with its thumbprint; retire = delete it (after its successor is active: the
// engine retires superseded records only). Also the container's bulk `upload` action.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "providers/entra_cba/cba_messages.hpp"
#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::cba {

std::unique_ptr<providers::Provider> make_cba_provider(graph::GraphClient& client,
                                                       CbaSettings settings);

// The PKI container of settings.pki_name as the service holds it now.
boost::asio::awaitable<Result<PkiState>> pki_state(graph::GraphClient& client,
                                                   const CbaSettings& settings);
// Finds or creates the container, then starts its bulk `upload` job (one at a time).
boost::asio::awaitable<Result<PkiState>> start_bulk_upload(graph::GraphClient& client,
                                                           const CbaSettings& settings,
                                                           const std::string& url,
                                                           const std::string& sha256_hex,
                                                           providers::Journal& journal);
// PATCH displayName of the container (the update the endpoint accepts).
boost::asio::awaitable<Status> rename_pki(graph::GraphClient& client, const CbaSettings& settings,
                                          const std::string& new_name, providers::Journal& journal);

graph::HttpRequest bulk_upload_request(const std::string& base, const std::string& pki_id,
                                       const std::string& url, const std::string& sha256_hex,
                                       const std::string& client_request_id);

}  // namespace pkiflow::cba

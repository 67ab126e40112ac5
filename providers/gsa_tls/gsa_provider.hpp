// The Global Secure Access TLS-inspection CA provider (graph-api.md 1): the service makes the
// key and the CSR when the object is created; pkiflow stores the CSR from the POST response
// with the remote id, uploads the signed certificate and chain, waits for `active`, and
// deletes the object when it is retired. A create whose response was lost is found by its
// name prefix and adopted (or, when its CSR can no longer be read, deleted and made again
// under the next name): never two objects for one record.
#pragma once
#include <memory>

#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::gsa {

struct GsaOptions {
  // PATCH {"status":"enabled"} after the upload, for tenants where the staged certificate must
  // be switched on (a community practice; the docs call status read-only).
  bool enable_after_upload = false;
};

std::unique_ptr<providers::Provider> make_gsa_provider(graph::GraphClient& client,
                                                       GsaOptions options);

}  // namespace pkiflow::gsa

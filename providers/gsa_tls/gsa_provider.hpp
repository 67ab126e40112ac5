// The Global Secure Access TLS-inspection CA provider (graph-api.md 1, corrected by section 0):
// the service makes the key and the CSR when the object is created; pkiflow stores the CSR from
// the POST response with the remote id, uploads the signed certificate and chain (staged as
// "disabled" by today's service, or enrolling at once on older tenants), switches it on
// (PATCH status=enabled: the cutover, one enabled certificate per tenant), waits for `active`,
// and deletes the object when it is retired.
//
// Every mutating step reads the object back before it is (re)sent, and adopts what is there
// when it is this record's (DESIGN.md, "Exactly-once"): a create whose answer was lost is
// found among *all* objects (every page; the server's $filter is only a hint) by the exact
// names this record journaled, never by a prefix; an upload already applied is adopted when
// the object holds this record's certificate; an enable already applied is left alone.
#pragma once
#include <memory>

#include "providers/graph/client.hpp"
#include "providers/provider.hpp"

namespace pkiflow::gsa {

struct GsaOptions {
  // auto: pkiflow switches a staged upload on (for a renewal this is the cutover); manual: the
  // record waits in `uploaded` until an operator enables it (`pkiflow enable ID` or the portal).
  bool manual_activation = false;
  // The deprecated gsa_enable_after_upload: also enable an upload that reads "enrolling" (for
  // tenants that keep it there until the enable PATCH arrives).
  bool enable_enrolling = false;
};

std::unique_ptr<providers::Provider> make_gsa_provider(graph::GraphClient& client,
                                                       GsaOptions options);

}  // namespace pkiflow::gsa

// Signers (DESIGN.md, "Core interfaces"): turn a CSR into a certificate and its chain under
// the endpoint's profile. The kinds are in engine/signers/: `local-ca` signs with a CA key on
// this host, `command` runs an external program. A record with no signer waits in
// csrGenerated for an operator, who signs elsewhere and imports the result (`pkiflow import`).
#pragma once
#include <string>
#include <vector>

#include "engine/pki/certificate.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"

namespace pkiflow::engine {

struct Issued {
  pki::Certificate certificate;
  std::vector<pki::Certificate> chain;  // issuer first, up to and including the root
};

// What a signer is asked to sign.
struct SignRequest {
  const pki::Csr& csr;
  const pki::SigningProfile& profile;
  int validity_days;
  pki::TimePoint now;
  std::string record_id;  // the record it is for ("" outside a run)
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual const std::string& name() const = 0;
  // The certificate and its chain, or an error: ErrorKind::unavailable when it cannot sign now
  // but may later (pending approval, a CA not reachable): the record is retried.
  virtual Result<Issued> sign(const SignRequest& request) = 0;
  // Why it cannot sign now, or "" when it can: a record then waits in csrGenerated (nothing is
  // written) and the run says why.
  virtual std::string unavailable() const { return ""; }
  // True when signing reaches outside this process (runs a program, asks a CA service): a dry
  // run then does not sign, and says it would.
  virtual bool acts_outside() const { return false; }
};

}  // namespace pkiflow::engine

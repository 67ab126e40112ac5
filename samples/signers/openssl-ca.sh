#!/bin/sh
# A pkiflow command signer: `openssl ca` with a CA directory (samples/signers/README.md).
#
#   "signers": { "corp-ca": {
#     "type": "command",
#     "command": ["/usr/lib/pkiflow/signers/openssl-ca.sh", "/srv/ca", "{csr}", "{cert}",
#                 "{chain}", "{profile}", "{days}"],
#     "pass_environment": ["PKIFLOW_CA_PASS"] } }
#
# CA_DIR holds openssl-ca.cnf, ca.pem (the CA certificate), private/ca.key, chain.pem (ca.pem
# and every certificate above it up to the root), index.txt and issued/. Serial numbers are
# random (rand_serial); one signing at a time (flock on CA_DIR/.lock).
# Exit codes: 0 signed; 64 usage; 65 a profile this CA has no section for, or a validity beyond
# the CA's; 1 openssl ca issued nothing; else openssl's.
set -eu
if [ $# -ne 6 ]; then
  echo "usage: $0 CA_DIR CSR CERT CHAIN PROFILE DAYS" >&2
  exit 64
fi
ca_dir=$1 csr=$2 cert=$3 chain=$4 profile=$5 days=$6
if ! grep -q "^\[ *$profile *\]" "$ca_dir/openssl-ca.cnf"; then
  echo "openssl-ca.sh: $ca_dir/openssl-ca.cnf has no [ $profile ] section" >&2
  exit 65
fi
# Never beyond the CA's own validity (openssl ca would sign it): refused as pkiflow's CA does.
ca_end=$(openssl x509 -in "$ca_dir/ca.pem" -noout -enddate | sed 's/^notAfter=//')
if [ $(( $(date -u +%s) + days * 86400 )) -gt "$(date -u -d "$ca_end" +%s)" ]; then
  echo "openssl-ca.sh: $days days would outlive the CA (valid until $ca_end); shorten the validity or renew the CA" >&2
  exit 65
fi
# -preserveDN: the subject in the CSR's order (OpenSSL 3.0 ignores "preserve" in the file).
# -startdate five minutes back, as pkiflow's own CA does: a host whose clock is a little behind
# the CA's still finds the certificate valid.
start=$(date -u -d '5 minutes ago' +%Y%m%d%H%M%SZ)
set -- -batch -config "$ca_dir/openssl-ca.cnf" -extensions "$profile" -days "$days" \
  -startdate "$start" -preserveDN -notext -in "$csr" -out "$cert"
# The CA key's passphrase, if it has one, from the environment (never on a command line).
if [ -n "${PKIFLOW_CA_PASS:-}" ]; then set -- "$@" -passin env:PKIFLOW_CA_PASS; fi
CA_DIR=$ca_dir flock "$ca_dir/.lock" openssl ca "$@"
# openssl ca exits 0 when it skips a request (a CSR whose self-signature fails, say): an empty
# output is a refusal.
if [ ! -s "$cert" ]; then
  echo "openssl-ca.sh: openssl ca issued no certificate (see its words above)" >&2
  exit 1
fi
cp "$ca_dir/chain.pem" "$chain"

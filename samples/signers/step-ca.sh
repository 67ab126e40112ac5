#!/bin/sh
# A pkiflow command signer: a step-ca online CA through `step ca sign` (samples/signers/README.md).
#
#   "signers": { "step": {
#     "type": "command",
#     "command": ["/usr/lib/pkiflow/signers/step-ca.sh", "{csr}", "{cert}", "{chain}",
#                 "{profile}", "{days}"],
#     "environment": {"STEP_CA_URL": "https://ca.example.com", "STEP_ROOT": "/etc/step/root.pem",
#                     "STEPPATH": "/var/lib/pkiflow/step",
#                     "STEP_PROVISIONER_PASSWORD_FILE": "/etc/pkiflow/step-provisioner-pass"} } }
#
# One JWK provisioner per pkiflow profile, named pkiflow-PROFILE, whose X.509 template gives that
# profile's extensions (samples/signers/README.md). `step ca sign` writes the certificate and
# its intermediates; the chain pkiflow uploads goes up to the root, so STEP_ROOT is added.
# Exit codes: 0 signed; 64 usage; 69 STEP_CA_URL, STEP_ROOT or the password file missing;
# else step's.
set -eu
if [ $# -ne 5 ]; then
  echo "usage: $0 CSR CERT CHAIN PROFILE DAYS" >&2
  exit 64
fi
csr=$1 cert=$2 chain=$3 profile=$4 days=$5
for v in STEP_CA_URL STEP_ROOT STEP_PROVISIONER_PASSWORD_FILE; do
  eval "val=\${$v:-}"
  if [ -z "$val" ]; then echo "step-ca.sh: $v is not set" >&2; exit 69; fi
done
bundle="${PKIFLOW_SIGN_DIR:?}/step-bundle.pem"
step ca sign "$csr" "$bundle" --force \
  --provisioner "pkiflow-$profile" \
  --provisioner-password-file "$STEP_PROVISIONER_PASSWORD_FILE" \
  --not-after "$((days * 24))h" \
  --ca-url "$STEP_CA_URL" --root "$STEP_ROOT"
# The first certificate is the one issued; the rest, then the root, are its chain.
awk -v cert="$cert" -v chain="$chain" '
  /-----BEGIN CERTIFICATE-----/ { n++ }
  { print > (n == 1 ? cert : chain) }' "$bundle"
cat "$STEP_ROOT" >> "$chain"

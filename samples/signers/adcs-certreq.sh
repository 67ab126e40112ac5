#!/bin/sh
# A pkiflow command signer: Active Directory Certificate Services through `certreq` on a Windows
# host that pkiflow's host reaches over SSH (OpenSSH server on Windows; samples/signers/README.md).
#
#   "signers": { "adcs": {
#     "type": "command",
#     "command": ["/usr/lib/pkiflow/signers/adcs-certreq.sh", "{csr}", "{cert}", "{profile}",
#                 "{record}"],
#     "chain": "/etc/pkiflow/corp-issuing-chain.pem",
#     "timeout_seconds": 300,
#     "environment": {"ADCS_HOST": "svc-pkiflow@ca01.corp.example",
#                     "ADCS_CONFIG": "ca01.corp.example\\Corp Issuing CA",
#                     "ADCS_STATE": "/var/lib/pkiflow/adcs", "HOME": "/var/lib/pkiflow"} } }
#
# A template per pkiflow profile (edit the names below to yours). A request the CA holds for a
# manager's approval ("Taken Under Submission") is pending: its request id is kept per record in
# ADCS_STATE, the script exits 75, and the next run retrieves it (`certreq -retrieve`).
# The chain is not fetched: pkiflow takes it from the signer's "chain" file.
# Exit codes: 0 issued; 64 usage; 65 no template for the profile; 75 pending; 1 denied or failed.
set -eu
if [ $# -ne 4 ]; then
  echo "usage: $0 CSR CERT PROFILE RECORD" >&2
  exit 64
fi
csr=$1 cert=$2 profile=$3 record=$4
case "$profile" in
  tls-inspection-ca) template=PkiflowTlsInspectionCA ;;
  cba-ca) template=PkiflowCbaCA ;;
  code-signing) template=PkiflowCodeSigning ;;
  *) echo "adcs-certreq.sh: no certificate template for profile $profile" >&2; exit 65 ;;
esac
: "${ADCS_HOST:?}" "${ADCS_CONFIG:?}" "${ADCS_STATE:?}"
mkdir -p "$ADCS_STATE"
idfile="$ADCS_STATE/$record.request-id"
remote="pkiflow-$record"
ssh_opts="-o BatchMode=yes"
rc=0
if [ -f "$idfile" ]; then
  id=$(cat "$idfile")
  out=$(ssh $ssh_opts "$ADCS_HOST" "certreq -q -config \"$ADCS_CONFIG\" -retrieve $id $remote.cer" 2>&1) || rc=$?
else
  scp -q $ssh_opts "$csr" "$ADCS_HOST:$remote.csr"
  out=$(ssh $ssh_opts "$ADCS_HOST" "certreq -q -config \"$ADCS_CONFIG\" -attrib \"CertificateTemplate:$template\" -submit $remote.csr $remote.cer" 2>&1) || rc=$?
fi
id=$(printf '%s\n' "$out" | sed -n 's/^RequestId: *"\{0,1\}\([0-9][0-9]*\)"\{0,1\}.*$/\1/p' | head -n 1)
case "$out" in
  *"(Issued)"*)
    scp -q $ssh_opts "$ADCS_HOST:$remote.cer" "$cert"
    rm -f "$idfile"
    exit 0 ;;
  *"Taken Under Submission"*|*"(Pending)"*)
    [ -n "$id" ] && echo "$id" > "$idfile"
    echo "AD CS request $id (template $template) is pending: approve it on the CA" >&2
    exit 75 ;;
  *)
    printf '%s\n' "$out" >&2
    echo "adcs-certreq.sh: certreq did not issue (exit $rc)" >&2
    rm -f "$idfile"
    exit 1 ;;
esac

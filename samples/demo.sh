#!/usr/bin/env bash
# pkiflow's main job: the whole lifecycle of the three endpoint families on the embedded SQLite
# store, against the local Graph emulator over HTTPS (no tenant, no network): a Global Secure
# Access TLS-inspection CA (the service makes its key and CSR), an Entra CBA issuing CA and an
# Intune code-signing certificate (pkiflow makes their keys and CSRs):
#   offline root CA -> configuration -> sign-in check -> request -> dry run -> run
#   (planned -> csrGenerated -> signed -> uploaded -> active) -> renewal (old one retired)
# and a wrong certificate refused by validation before anything is sent.
#   samples/demo.sh [path/to/pkiflow] [work-dir]
# The emulator is taken from next to pkiflow (or $PKIFLOW_EMULATOR).
set -euo pipefail
PKIFLOW=${1:-build/pkiflow}
PKIFLOW=$(cd "$(dirname "$PKIFLOW")" && pwd)/$(basename "$PKIFLOW")
EMULATOR=${PKIFLOW_EMULATOR:-$(dirname "$PKIFLOW")/pkiflow-graph-emulator}
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-demo.XXXXXX")}
mkdir -p "$WORK" && cd "$WORK"
WORK=$(pwd)
umask 077
pf() { "$PKIFLOW" "$@"; }
step() { printf '\n== %s\n' "$*"; }

# The demo's own throwaway secrets; real runs take them from files or the environment.
head -c 24 /dev/urandom | base64 > ca-passphrase
head -c 24 /dev/urandom | base64 > client-secret
chmod 600 ca-passphrase client-secret

step "offline root CA (P-384, encrypted key, 0600)"
pf ca new-root --subject "CN=Demo Root CA,O=Contoso,C=US" --key-out root.key --cert-out root.pem \
  --passphrase-file ca-passphrase

step "local Graph emulator over HTTPS (it makes its own TLS CA; pkiflow trusts only that), GSA uploads staged as the service does today"
"$EMULATOR" --tls --tls-ca-out emulator-ca.pem --client-secret-file client-secret --staged-flow \
  --activation-delay-ms 1500 --log emulator-requests.jsonl --state emulator-state.json \
  > emulator.out 2> emulator.err &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" emulator.out 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/.*listening on \(https:\/\/[^ ]*\).*/\1/p' emulator.out)
[ -n "$base" ] || { echo "demo: the emulator did not start:" >&2; cat emulator.err >&2; exit 1; }
echo "emulator at $base"

step "configuration: one tenant (the emulator), a local-CA signer, trust anchors, three certificates"
cat > pkiflow.json <<EOF
{
  // Comments are allowed. Secrets are never written here: files or environment variables only.
  "state_url": "sqlite://$WORK/state.db",
  "tenants": {
    "contoso": {
      "tenant_id": "contoso",
      "client_id": "00000000-0000-4000-8000-00000000c11e",
      "graph_url": "$base/beta",
      "token_url": "$base/contoso/oauth2/v2.0/token",
      "tls_ca_file": "emulator-ca.pem",
      "auth": {"client_secret_file": "client-secret"}
    }
  },
  "signers": {
    "demo-root": {"certificate": "root.pem", "key": "root.key", "passphrase_file": "ca-passphrase",
                  "crl_urls": ["http://pki.contoso.example/demo-root.crl"]}
  },
  "keys": {"passphrase_file": "ca-passphrase"},
  "trust_anchors": "root.pem",
  "run": {"poll_interval_ms": 500, "confirm_wait_seconds": 30},
  "certificates": [
    {"kind": "gsa-tls-ca", "name": "tls-inspection", "tenant": "contoso",
     "subject": "CN=Demo TLS Inspection CA,O=Contoso", "signer": "demo-root"},
    {"kind": "cba-ca", "name": "user-ca", "tenant": "contoso",
     "subject": "CN=Demo User CA,O=Contoso", "key_algorithm": "p384", "signer": "demo-root"},
    {"kind": "intune-codesigning", "name": "apps", "tenant": "contoso",
     "subject": "CN=Contoso Apps,O=Contoso", "key_algorithm": "rsa3072", "signer": "demo-root"}
  ]
}
EOF
export PKIFLOW_CONFIG=$WORK/pkiflow.json

step "sign-in check (the token is never printed)"
pf graph login-test

step "request the certificates of the configuration"
pf request --from-config
id=$(pf status --kind gsa-tls-ca --json | sed -n 's/.*"id":"\([0-9A-Z]*\)".*/\1/p' | head -n1)

step "dry run: the requests pkiflow would send (token redacted); nothing is sent or stored"
before=$(wc -l < emulator-requests.jsonl)
pf run --dry-run
after=$(wc -l < emulator-requests.jsonl)
[ "$before" = "$after" ] || { echo "demo: the dry run sent requests" >&2; exit 1; }

step "run: keys and CSRs (GSA: made by the service), sign, validate, upload, confirm"
pf run
pf status
pf history "$id"

step "renewal: the successor is staged and activated, then the old object is deleted"
pf renew "$id"
pf run
pf status

step "what the emulator's tenant holds now"
echo "TLS-inspection CA objects: $(grep -o '"name": "pf[0-9A-Z]*"' emulator-state.json | sed 's/.*: //' | tr '\n' ' ')"
echo "CBA trusted CAs: $(grep -o '"thumbprint": "[0-9A-F]*"' emulator-state.json | sed 's/.*: //' | tr '\n' ' ')"
echo "code-signing certificates: $(grep -o '"subjectName": "[^"]*"' emulator-state.json | sed 's/.*: //' | tr '\n' ' ')"
echo "keys made here (encrypted, 0600):"
ls -l keys/ | tail -n +2

step "a wrong certificate is refused before upload: a code-signing leaf as the TLS-inspection CA"
pf key new --alg rsa3072 --out sign.key --passphrase-file ca-passphrase
pf csr new --key sign.key --subject "CN=Contoso Apps,O=Contoso" --out sign.csr --passphrase-file ca-passphrase
pf ca sign --csr sign.csr --ca-cert root.pem --ca-key root.key --profile code-signing --out sign.pem \
  --passphrase-file ca-passphrase
set +e
pf validate --cert sign.pem --trust root.pem --profile tls-inspection-ca > refused.txt
code=$?
set -e
grep -E '^(INVALID|  FAIL)' refused.txt
if [ $code -ne 1 ]; then echo "demo: expected exit 1 for the refused certificate, got $code" >&2; exit 1; fi

echo
echo "demo: done; files in $WORK (keys and secrets are 0600: $(stat -c %a root.key))"

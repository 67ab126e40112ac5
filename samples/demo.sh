#!/usr/bin/env bash
# pkiflow's main job until the Graph lifecycle lands: build a small offline PKI with the CLI
# (root -> TLS-inspection CA, CBA issuing CA, code-signing leaf), validate each certificate
# against its endpoint profile, and show that a broken upload is refused before anything is sent.
#   samples/demo.sh [path/to/pkiflow] [work-dir]
set -euo pipefail
PKIFLOW=${1:-build/pkiflow}
PKIFLOW=$(cd "$(dirname "$PKIFLOW")" && pwd)/$(basename "$PKIFLOW")
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-demo.XXXXXX")}
mkdir -p "$WORK" && cd "$WORK"
umask 077
# The demo's own throwaway passphrase; real runs take it from a file or the environment.
head -c 24 /dev/urandom | base64 > passphrase
chmod 600 passphrase
pf() { "$PKIFLOW" "$@"; }
pass=(--passphrase-file passphrase)
step() { printf '\n== %s\n' "$*"; }

step "root CA (P-384, encrypted key)"
pf ca new-root --subject "CN=Demo Root CA,O=Contoso,C=US" --key-out root.key --cert-out root.pem "${pass[@]}"

step "intermediate for Global Secure Access TLS inspection (RSA 3072, CSR signed by the root)"
pf key new --alg rsa3072 --out tls.key "${pass[@]}"
pf csr new --key tls.key --subject "CN=Demo TLS Inspection CA,O=Contoso" --out tls.csr "${pass[@]}"
pf ca sign --csr tls.csr --ca-cert root.pem --ca-key root.key --profile tls-inspection-ca \
  --out tls.pem "${pass[@]}"
cp root.pem tls-chain.pem
pf validate --cert tls.pem --chain tls-chain.pem --trust root.pem --csr tls.csr --profile tls-inspection-ca

step "issuing CA for Entra certificate-based authentication"
pf key new --alg p256 --out cba.key "${pass[@]}"
pf csr new --key cba.key --subject "CN=Demo User CA,O=Contoso" --out cba.csr "${pass[@]}"
pf ca sign --csr cba.csr --ca-cert root.pem --ca-key root.key --profile cba-ca \
  --crl-url http://pki.contoso.example/demo-user-ca.crl --days 1095 --out cba.pem "${pass[@]}"
pf validate --cert cba.pem --trust root.pem --csr cba.csr --profile cba-ca --json > cba-report.json
echo "cba-ca: $(grep -m1 '"verdict"' cba-report.json)"

step "code-signing certificate for Intune"
pf key new --alg rsa3072 --out sign.key "${pass[@]}"
pf csr new --key sign.key --subject "CN=Contoso Apps,O=Contoso" --out sign.csr "${pass[@]}"
pf ca sign --csr sign.csr --ca-cert root.pem --ca-key root.key --profile code-signing --out sign.pem "${pass[@]}"
pf validate --cert sign.pem --trust root.pem --csr sign.csr --profile code-signing > sign-report.txt
head -n1 sign-report.txt

step "a wrong upload is refused: the code-signing leaf offered as the TLS-inspection CA"
set +e
pf validate --cert sign.pem --chain tls-chain.pem --trust root.pem --csr tls.csr --profile tls-inspection-ca > refused.txt
code=$?
set -e
grep -E '^(INVALID|  FAIL)' refused.txt
if [ $code -ne 1 ]; then echo "demo: expected exit 1 for the refused chain, got $code" >&2; exit 1; fi

step "certificate facts the Graph providers will send"
pf cert show tls.pem
echo
echo "demo: done; files in $WORK (keys are 0600: $(stat -c %a root.key))"

#!/usr/bin/env bash
# The baseline: GSA TLS-inspection CAs put in force the way admins script it today, one record
# after another with curl and openssl, against a Graph (the emulator here) as section 0 of
# graph-api.md describes the service: sign in, create the object (the service makes the key and
# CSR), sign the CSR with the CA, upload certificate and chain (staged), enable it, and poll
# until it reads active. No journal, no validation beyond openssl's, no retry.
#   bench/admin_script.sh BASE_URL TENANT_PREFIX FIRST COUNT SECRET_FILE CA_CERT CA_KEY PASS_FILE
# Tenants PREFIX<FIRST> .. PREFIX<FIRST+COUNT-1> (5 digits), as the emulator's --multi-tenant
# mode serves them.
set -euo pipefail
BASE=$1 PREFIX=$2 FIRST=$3 COUNT=$4 SECRET=$5 CA=$6 CAKEY=$7 PASS=$8
CLIENT_ID=00000000-0000-4000-8000-00000000c11e
GSA="$BASE/beta/networkAccess/tls/externalCertificateAuthorityCertificates"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/admin-script.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/ext.cnf" <<'EOF'
[v3]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.bench.test/root.crl
EOF
# The secret's first line, without its newline, for curl's @file (never on a command line).
(umask 077 && head -n 1 "$SECRET" | tr -d '\r\n' > "$WORK/secret")
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
pem_json() { awk '{ printf "%s\\n", $0 }' "$1"; }

for i in $(seq "$FIRST" $((FIRST + COUNT - 1))); do
  t=$(printf "%s%05d" "$PREFIX" "$i")
  token=$(curl -sS --fail -X POST "$BASE/$t/oauth2/v2.0/token" \
    -d grant_type=client_credentials -d "client_id=$CLIENT_ID" \
    --data-urlencode "client_secret@$WORK/secret" \
    --data-urlencode "scope=https://graph.microsoft.com/.default" | json_field access_token)
  auth="Authorization: Bearer $token"
  created=$(curl -sS --fail -X POST "$GSA" -H "$auth" -H "Content-Type: application/json" \
    -d "{\"name\":\"adm$i\",\"commonName\":\"Inspection $t\",\"organizationName\":\"Scale\"}")
  id=$(json_field id <<< "$created")
  json_field certificateSigningRequest <<< "$created" | sed 's/\\n/\n/g' > "$WORK/csr.pem"
  openssl x509 -req -in "$WORK/csr.pem" -CA "$CA" -CAkey "$CAKEY" -passin "file:$PASS" \
    -days 400 -sha256 -set_serial "0x$(openssl rand -hex 16)" -extfile "$WORK/ext.cnf" \
    -extensions v3 -out "$WORK/cert.pem" 2>/dev/null
  curl -sS --fail -X PATCH "$GSA/$id" -H "$auth" -H "Content-Type: application/json" \
    -d "{\"certificate\":\"$(pem_json "$WORK/cert.pem")\",\"chain\":\"$(pem_json "$CA")\"}"
  curl -sS --fail -X PATCH "$GSA/$id" -H "$auth" -H "Content-Type: application/json" \
    -d '{"status":"enabled"}'
  for _ in $(seq 1 600); do
    status=$(curl -sS --fail "$GSA/$id" -H "$auth" | json_field status)
    [ "$status" = active ] || [ "$status" = enabled ] && break
    sleep 0.1
  done
  [ "$status" = active ] || [ "$status" = enabled ] ||
    { echo "admin script: $t: $id is still $status" >&2; exit 1; }
done

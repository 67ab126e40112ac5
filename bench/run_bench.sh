#!/usr/bin/env bash
# How fast `pkiflow run` takes records from planned to active against the local emulator, one
# record at a time (the baseline) and with --concurrency N, in the same script on the same
# emulator. Intune code-signing records: each makes a key and CSR here, is signed and
# validated, uploaded, then confirmed after the emulator's activation delay (the wait that
# concurrency overlaps).
#   bench/run_bench.sh [build-dir] [records] [concurrency] [activation-delay-ms]
set -euo pipefail
BUILD=${1:-build}
N=${2:-40}
C=${3:-8}
DELAY=${4:-300}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/lib.sh"
bench_workdir bench
"$BUILD/pkiflow-graph-emulator" --client-secret-file secret --activation-delay-ms "$DELAY" \
  > emu.out 2>&1 &
emu=$!
base=$(emulator_url)

run_pass() {  # $1 = label, $2 = concurrency; prints records/s
  local db="$WORK/$1.db"
  cat > "$1.json" <<EOF
{"state_url": "sqlite://$db",
 "tenants": {"t": {"tenant_id": "contoso", "client_id": "00000000-0000-4000-8000-00000000c11e",
   "graph_url": "$base/beta", "token_url": "$base/contoso/oauth2/v2.0/token",
   "auth": {"client_secret_file": "secret"}}},
 "signers": {"root": {"certificate": "root.pem", "key": "root.key", "passphrase_file": "pass"}},
 "keys": {"passphrase_file": "pass"}, "trust_anchors": "root.pem",
 "run": {"poll_interval_ms": 50, "confirm_wait_seconds": 60, "max_in_flight": 16}}
EOF
  for i in $(seq 1 "$N"); do
    "$BUILD/pkiflow" request --config "$1.json" --kind intune-codesigning --name "$1-$i" \
      --tenant t --subject "CN=Bench $1 $i" --key-alg p256 --signer root >/dev/null
  done
  local start end
  start=$(date +%s.%N)
  "$BUILD/pkiflow" run --config "$1.json" --concurrency "$2" --json > "$1.report.json"
  end=$(date +%s.%N)
  local active
  active=$(grep -o '"to": *"active"' "$1.report.json" | wc -l)
  [ "$active" -eq "$N" ] || { echo "bench: only $active of $N records became active" >&2; exit 1; }
  awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", n / (e - s) }'
}

one=$(run_pass serial 1)
many=$(run_pass concurrent "$C")
echo "pkiflow run, $N Intune code-signing records planned -> active, activation delay ${DELAY} ms:"
echo "  --concurrency 1:  $one records/s"
echo "  --concurrency $C:  $many records/s"
awk -v a="$one" -v b="$many" 'BEGIN { printf "  ratio: %.2f\n", b / a }'

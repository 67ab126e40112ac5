#!/usr/bin/env bash
# Runs the README's quick start as written (the first ```sh block after "## Quick start"), in a
# fresh directory, with only the build directory and the emulator's port substituted; then checks
# that it left the renewed TLS-inspection CA active and its predecessor retired.
#   quick-start.sh README.md BUILD_DIR WORK_DIR
set -euo pipefail
readme=$(realpath "$1") build=$(cd "$2" && pwd) work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
awk '/^## Quick start/ {on=1} on && /^```sh$/ && !inblock {inblock=1; next}
     inblock && /^```$/ {exit} inblock {print}' "$readme" \
  | sed -e "s#\.\./build/#$build/#g" -e "s#8443#$port#g" > quick-start-lines.sh
[ -s quick-start-lines.sh ] || { echo "no quick start block in $readme" >&2; exit 1; }
trap 'pkill -f "pkiflow-graph-emulator.*--port $port" || true' EXIT
bash -euo pipefail quick-start-lines.sh
cd quickstart
"$build/pkiflow" status --all --json > final.json
python3 - final.json <<'PY'
import json, sys
records = json.load(open(sys.argv[1]))
states = sorted(r["state"] for r in records)
assert states == ["active", "retired"], f"expected one active and one retired record, got {states}"
new = next(r for r in records if r["state"] == "active")
old = next(r for r in records if r["state"] == "retired")
assert new["renews"] == old["id"], "the active record is not the renewal of the retired one"
print("quick start: ok,", len(records), "records:", states)
PY

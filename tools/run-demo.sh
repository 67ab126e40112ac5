#!/usr/bin/env bash
# The main job: set up, build, then run samples/demo.sh (the GSA lifecycle against the local
# Graph emulator over HTTPS, on the embedded SQLite store).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(tools/build.sh | tail -n1)
exec samples/demo.sh "$dir/pkiflow"

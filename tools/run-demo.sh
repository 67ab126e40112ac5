#!/usr/bin/env bash
# The main job: set up, build, then run samples/demo.sh (an offline PKI made and validated).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(tools/build.sh | tail -n1)
exec samples/demo.sh "$dir/pkiflow"

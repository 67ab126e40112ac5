#!/usr/bin/env bash
# Installs dependencies (tools/setup-deps.sh), configures and builds pkiflow.
#   tools/build.sh [--sanitize] [--werror]    -> prints the build directory on its last line
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=OFF; werror=OFF; dir=build
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; dir=build-asan ;;
    --werror) werror=ON ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
botan_prefix=$(tools/setup-deps.sh | tail -n1)
prefix_arg=()
[ "$botan_prefix" != "system" ] && prefix_arg=(-DCMAKE_PREFIX_PATH="$botan_prefix")
# -g1 (line tables: enough for backtraces and sanitizer reports) instead of -g: full debug
# information of the Asio/Beast templates is a quarter of the compile time.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${prefix_arg[@]}" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DPKIFLOW_SANITIZE="$sanitize" -DPKIFLOW_WERROR="$werror" \
  -DPKIFLOW_BUILD_BENCH="$([ "$sanitize" = ON ] && echo OFF || echo ON)" >&2
cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"

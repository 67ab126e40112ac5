#!/usr/bin/env bash
# Installs dependencies (tools/setup-deps.sh), configures and builds pkiflow.
#   tools/build.sh [--sanitize | --tsan | --tidy] [--werror]   -> prints the build directory last
# --sanitize: AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/); --tsan: ThreadSanitizer
# (build-tsan/, tools/tsan.sh); --tidy: configure only, without the unity build, for clang-tidy's
# per-file compile commands (build-tidy/, tools/tidy.sh). Otherwise a unity build (several
# sources per compiler run: CI's clean builds take about half as long); PKIFLOW_UNITY=OFF in the
# environment turns it off while editing.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=OFF; tsan=OFF; werror=OFF; dir=build; unity=${PKIFLOW_UNITY:-ON}; build=1
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; dir=build-asan ;;
    --tsan) tsan=ON; dir=build-tsan ;;
    --tidy) dir=build-tidy; unity=OFF; build=0 ;;
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
  -DPKIFLOW_SANITIZE="$sanitize" -DPKIFLOW_TSAN="$tsan" -DPKIFLOW_WERROR="$werror" \
  -DCMAKE_UNITY_BUILD="$unity" \
  -DPKIFLOW_BUILD_BENCH="$([ "$dir" = build ] && echo ON || echo OFF)" >&2
[ "$build" = 1 ] && cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"

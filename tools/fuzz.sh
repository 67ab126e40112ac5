#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan; build-fuzz/) and runs one of them.
#   tools/fuzz.sh --build                    build every target, run none
#   tools/fuzz.sh TARGET SECONDS             fuzz for that long, e.g. tools/fuzz.sh crl 60
#   tools/fuzz.sh TARGET -runs=N             fuzz N inputs
#   tools/fuzz.sh --smoke SECONDS            every target in turn, SECONDS each (CI)
#   tools/fuzz.sh --list                     the targets
# Seeds are tests/fuzz/corpus/TARGET (kept in the repository); what a run learns goes to
# build-fuzz/corpus/TARGET, crashes to build-fuzz/crashes/TARGET. A crash exits non-zero and
# names its input: add it to tests/fuzz/regressions/TARGET/ so tests/fuzz/regressions.sh (run by
# ctest) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${PKIFLOW_FUZZ_DIR:-build-fuzz}  # another directory keeps a long run's binaries untouched
targets=(certificate csr crl validate private_key config graph emulator bundle)

build() {
  botan_prefix=$(PKIFLOW_FUZZ_DEPS=1 tools/setup-deps.sh | tail -n1)
  prefix_arg=()
  [ "$botan_prefix" != "system" ] && prefix_arg=(-DCMAKE_PREFIX_PATH="$botan_prefix")
  CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${prefix_arg[@]}" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPKIFLOW_FUZZ=ON -DPKIFLOW_BUILD_TESTS=OFF \
    -DCMAKE_UNITY_BUILD="${PKIFLOW_UNITY:-ON}" \
    -DPKIFLOW_BUILD_BENCH=OFF -DPKIFLOW_WERROR=ON >&2
  cmake --build "$dir" -j"$(nproc)" --target fuzzers >&2
}

run() {  # run TARGET libFuzzer-arguments...
  local t=$1; shift
  local seeds=tests/fuzz/corpus/$t work=$dir/corpus/$t crashes=$dir/crashes/$t
  mkdir -p "$work" "$crashes"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  "$dir/tests/fuzz/fuzz_$t" -artifact_prefix="$crashes/" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "$@" "$work" "$seeds"
}

case "${1:-}" in
  --list) printf '%s\n' "${targets[@]}" ;;
  --build) build ;;
  --smoke)
    secs=${2:-5}
    build
    for t in "${targets[@]}"; do
      log=$dir/smoke-$t.log
      if run "$t" -max_total_time="$secs" > "$log" 2>&1; then
        echo "fuzz.sh: $t: $(grep -m1 '^Done' "$log")" >&2
      else
        tail -n 60 "$log" >&2
        echo "fuzz.sh: $t failed; the input is in $dir/crashes/$t" >&2
        exit 1
      fi
    done ;;
  ""|-h|--help) sed -n '2,12p' "$0"; exit 2 ;;
  *)
    t=$1; shift
    [[ " ${targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t' (tools/fuzz.sh --list)" >&2; exit 2; }
    build
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then run "$t" -max_total_time="$1"; else run "$t" "$@"; fi ;;
esac

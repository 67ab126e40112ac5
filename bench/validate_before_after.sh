#!/usr/bin/env bash
# The validator's speed now against an earlier commit, in one script on one machine: builds
# validate_bench of BASE in a git worktree (default 8b2186f, the last commit before the RFC 5280
# path and CRL processing), then runs BASE's and this tree's benchmark in turns (ABAB…, so drift
# in the machine's speed hits both) and prints, per key type, the median chains/s of each and
# the ratio now/before for pkiflow single and pkiflow batch (1 thread).
#   bench/validate_before_after.sh [build-dir] [base-rev] [chains] [seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BASE=${2:-8b2186f}
N=${3:-1000}
SECONDS_EACH=${4:-1.5}
ROUNDS=${5:-3}
now_bin=$(cd "$BUILD" && pwd)/bench/validate_bench
[ -x "$now_bin" ] || { echo "no $now_bin: build with tools/build.sh first" >&2; exit 2; }
base_sha=$(git rev-parse --verify "$BASE^{commit}")
tree="${TMPDIR:-/tmp}/pkiflow-bench-base-${base_sha:0:12}"
if [ ! -x "$tree/build/bench/validate_bench" ]; then
  rm -rf "$tree"
  git worktree prune
  git worktree add --detach "$tree" "$base_sha" >/dev/null
  botan_prefix=$(tools/setup-deps.sh | tail -n1)
  prefix_arg=()
  [ "$botan_prefix" != "system" ] && prefix_arg=(-DCMAKE_PREFIX_PATH="$botan_prefix")
  cmake -S "$tree" -B "$tree/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "${prefix_arg[@]}" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DPKIFLOW_BUILD_BENCH=ON >/dev/null
  cmake --build "$tree/build" -j"$(nproc)" --target validate_bench >/dev/null
fi
base_bin="$tree/build/bench/validate_bench"

out=$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-vba.XXXXXX")
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  "$base_bin" "$N" --seconds "$SECONDS_EACH" --openssl-processes 1 > "$out/base.$r"
  "$now_bin" "$N" --seconds "$SECONDS_EACH" --openssl-processes 1 > "$out/now.$r"
done

# figure FILE-PREFIX KEY-TYPE LABEL -> the median over the rounds
figure() {
  for f in "$out/$1".*; do
    awk -v kt="$2" -v label="$3" '
      /chains \(root/ { section = index($0, kt) == 1 }
      section && index($0, label) { print $(NF - 1) }' "$f"
  done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "validate_bench, $N chains per key type, $ROUNDS rounds of ${SECONDS_EACH} s, median chains/s"
echo "before: $BASE ($(git log -1 --format=%s "$base_sha" | cut -c1-60)…)"
echo "now:    $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine || echo ' + uncommitted changes')"
for kt in RSA-2048 "ECDSA P-256"; do
  for label in "pkiflow validator, single" "pkiflow batch, 1 thread"; do
    b=$(figure base "$kt" "$label")
    n=$(figure now "$kt" "$label")
    awk -v kt="$kt" -v l="$label" -v b="$b" -v n="$n" \
      'BEGIN { printf "  %-11s %-27s before %8.0f  now %8.0f  ratio now/before %5.2f\n", kt, l, b, n, n / b }'
  done
done

#!/usr/bin/env bash
# clang-tidy 14 with the repository's .clang-tidy over pkiflow's own sources (engine, providers,
# state, tools), with the normal build's compile commands: configured (not built) in build-tidy/
# without the unity build, whose commands name the combined sources rather than each file.
#   tools/tidy.sh [--build DIR]                every source (about an hour of CPU: Asio and Beast
#                                              make each file heavy for clang-tidy)
#   tools/tidy.sh [--build DIR] --since REF    the sources changed since commit REF, and those
#                                              that include a header changed since REF
#   tools/tidy.sh [--build DIR] FILE...        these files
# CI runs `--since $(cat .ci/tidy-clean)`: .ci/tidy-clean names a commit at which every source
# was clean (a full run on it, or a clean `--since OLD` run on it where OLD was the marker).
# Exit 0 when clean, 1 with the findings (every check is an error), 2 when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=""
since=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) dir=$2; shift 2 ;;
    --since) since=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) files+=("$1"); shift ;;
  esac
done
if [ -z "$dir" ]; then  # the normal build's flags, from the one place that sets them
  configure_log=$(mktemp)
  dir=$(tools/build.sh --tidy 2>"$configure_log" | tail -n1) ||
    { cat "$configure_log" >&2; echo "tidy.sh: cannot configure build-tidy/" >&2; exit 2; }
  rm -f "$configure_log"
fi
[ -f "$dir/compile_commands.json" ] || { echo "tidy.sh: no $dir/compile_commands.json" >&2; exit 2; }
grep -q '/Unity/unity_' "$dir/compile_commands.json" &&
  { echo "tidy.sh: $dir is a unity build; leave out --build (build-tidy/ is configured without)" >&2; exit 2; }
command -v run-clang-tidy-14 >/dev/null || { echo "tidy.sh: clang-tidy 14 is not installed (apt-get install clang-tidy)" >&2; exit 2; }
sources='^(engine|providers|state|tools)/.*\.cpp$'
if [ -n "$since" ]; then
  git rev-parse -q --verify "$since^{commit}" >/dev/null || { echo "tidy.sh: no commit $since" >&2; exit 2; }
  changed=$(git diff --name-only --diff-filter=d "$since" -- engine providers state tools)
  mapfile -t files < <(
    { grep -E "$sources" <<<"$changed" || true
      for h in $(grep -E '\.hpp$' <<<"$changed" || true); do
        git grep -l -F "#include \"$h\"" -- engine providers state tools | grep -E "$sources" || true
      done; } | sort -u)
  if [ ${#files[@]} -eq 0 ]; then echo "tidy.sh: nothing changed since $since"; exit 0; fi
  echo "tidy.sh: ${#files[@]} sources changed since $since" >&2
fi
root=$(pwd)
if [ ${#files[@]} -eq 0 ]; then
  regex="^$root/(engine|providers|state|tools)/.*\\.cpp\$"
else
  regex="^$root/($(printf '%s|' "${files[@]}" | sed 's/[.]/\\./g; s/|$//'))\$"
fi
# Boost 1.74's Asio enables co_await for clang only with <experimental/coroutine>, which
# libstdc++ 12 does not have; clang 14 has the C++20 coroutines the code is written with.
args=(-extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1 -extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1
  -extra-arg=-Wno-unknown-warning-option)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run-clang-tidy-14 -p "$dir" -quiet -j "$(nproc)" "${args[@]}" "$regex" 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g' >"$log" || status=$?
checked=$(grep -c '^clang-tidy-14' "$log" || true)
if [ "$status" -eq 0 ] && ! grep -q -E ': (error|warning): ' "$log"; then
  echo "tidy.sh: clean ($checked files)"
  exit 0
fi
grep -E -A3 ': (error|warning): ' "$log" | grep -v '^--$' >&2 || tail -n 40 "$log" >&2
echo "tidy.sh: $(grep -c -E ': (error|warning): ' "$log" || true) findings in $checked files" >&2
exit 1

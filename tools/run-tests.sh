#!/usr/bin/env bash
# Set up, build (warnings are errors) and run the whole test suite.
#   tools/run-tests.sh              # the normal build
#   tools/run-tests.sh --sanitize   # AddressSanitizer + UndefinedBehaviorSanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
export PKIFLOW_TEST_DEPS=1  # what only the tests use (promtool)
dir=$(tools/build.sh --werror "$@" | tail -n1)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# More tests than cores: the end-to-end suites spend much of their time waiting on the emulator
# and on their runs' poll intervals. The normal suite on 2 cores: -j2 216 s, -j3 165 s, -j4 145 s.
# The sanitizer build's tests use more CPU each, so one more than the cores there.
case " $* " in
  *" --sanitize "*) jobs=$(( $(nproc) + 1 )) ;;
  *) jobs=$(( $(nproc) * 2 )) ;;
esac
ctest --test-dir "$dir" --output-on-failure -j"${PKIFLOW_TEST_JOBS:-$jobs}"

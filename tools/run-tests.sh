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
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)"

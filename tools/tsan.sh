#!/usr/bin/env bash
# ThreadSanitizer over the tests that exercise pkiflow's threads: the run workflow (its I/O thread
# and the crypto pool that makes keys, signs and validates), the emulator's server, `validate`'s
# worker threads, leases and claims across processes, the signers. The CLI, the emulator and the
# test binary are all built with -fsanitize=thread (build-tsan/), so the processes the tests
# start are checked too; the first data race or lock-order inversion fails its test.
#   tools/tsan.sh            build, then run those suites
#   tools/tsan.sh REGEX      build, then run the CTest entries matching REGEX
# Not part of .ci/run: a third full build of the project does not fit CI's 30 minutes.
# Botan, OpenSSL and SQLite are not instrumented: a race inside them is not seen here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PKIFLOW_TEST_DEPS=1
dir=$(tools/build.sh --tsan | tail -n1)
suites=${1:-'^(graph_lifecycle|graph_providers|graph_trusted_runs|graph_faults|graph_client|emulator_server|hostile_server|batch|leases|store_processes|lifecycle|graph_signers|demo)$'}
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -R "$suites"

#!/usr/bin/env bash
# Durable transitions per second and `pkiflow status` over the same records, on SQLite and on
# PostgreSQL side by side (state_bench on each). The PostgreSQL server is a throwaway one from
# Debian's postgresql package with its default durability (fsync on, synchronous_commit on),
# on a Unix socket in a temporary directory, stopped at the end.
#   bench/state_backends.sh [build-dir] [records]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-10000}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "no PostgreSQL server: apt-get install postgresql" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-pg-bench.XXXXXX")
chmod 755 "$WORK"
as_server() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- sh -c "$1"; else sh -c "$1"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
stop() { as_server "'$BIN/pg_ctl' -D '$WORK/data' -m fast stop" >/dev/null 2>&1 || true; }
trap 'stop; rm -rf "$WORK"' EXIT
as_server "'$BIN/initdb' -D '$WORK/data' -U pkiflow --auth-local=trust -E UTF8 --no-locale \
  --no-instructions" >/dev/null
as_server "'$BIN/pg_ctl' -D '$WORK/data' -l '$WORK/server.log' -w -t 60 \
  -o \"-c listen_addresses='' -k $WORK\" start" >/dev/null
as_server "'$BIN/createdb' -h '$WORK' -U pkiflow bench"
echo "== SQLite"
"$BUILD/bench/state_bench" "$N" "$BUILD/pkiflow"
echo "== PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') (default fsync and synchronous_commit, Unix socket)"
"$BUILD/bench/state_bench" "$N" "$BUILD/pkiflow" "postgresql:///bench?host=$WORK&user=pkiflow"

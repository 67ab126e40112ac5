#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs a consumer project with
# find_package(pkiflow) and another with pkg-config: the installed package must be usable, the
# PKI core and the embedding API (pkiflow/engine.hpp) alike.
#   check-install.sh BUILD_DIR CERT_PEM
set -euo pipefail
build=$1; cert=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
# The installed headers are the public API only: none includes Boost, Asio, Botan, SQLite, libpq
# or JSON, none of the lifecycle's internals is there, and each compiles on its own.
inc="$tmp/prefix/include/pkiflow"
if grep -rEn '#include *[<"](boost/|botan/|sqlite3|libpq|postgresql/|nlohmann/)' "$inc"; then
  echo "an installed header includes a dependency's header (above)" >&2; exit 1
fi
for internal in state providers engine/workflow.hpp engine/graph_session.hpp engine/config.hpp \
    engine/pki/botan_access.hpp engine/pki/json_text.hpp; do
  [ ! -e "$inc/$internal" ] || { echo "internal header installed: $internal" >&2; exit 1; }
done
find "$inc" -name '*.hpp' -o -name '*.h' | while read -r h; do
  case "$h" in *.h) lang=c; std=c11 ;; *) lang=c++; std=c++20 ;; esac
  echo "#include \"$h\"" | g++ -x "$lang" -std="$std" -fsyntax-only -I"$inc" - ||
    { echo "$h does not compile on its own" >&2; exit 1; }
done
# The C ABI: libpkiflow.so.1 exports the pkiflow_* functions under PKIFLOW_1, nothing else.
so="$tmp/prefix/lib/libpkiflow.so.1"
[ -e "$so" ] || { echo "libpkiflow.so.1 is not installed" >&2; exit 1; }
others=$(nm -D --defined-only "$so" | awk '$3 != "" && $3 !~ /^pkiflow_.*@@PKIFLOW_1$/ && $3 != "PKIFLOW_1"')
[ -z "$others" ] || { echo "libpkiflow.so.1 exports more than its C ABI:" >&2; echo "$others" | head >&2; exit 1; }
# libpq is loaded only when a PostgreSQL store is opened (state/postgres/libpq.hpp): neither the
# command nor the C ABI links it, so a run on SQLite never loads it and its twenty libraries.
for bin in "$tmp/prefix/bin/pkiflow" "$so"; do
  if readelf -d "$bin" | grep -E 'NEEDED.*libpq'; then
    echo "$bin links libpq (above); it must load it on demand" >&2; exit 1
  fi
done
# Where the build found Botan 3 (its CMake package directory is PREFIX/lib/cmake/Botan-3.x.y).
botan_dir=$(sed -n 's/^Botan_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
botan_prefix=""
case "$botan_dir" in */lib/cmake/Botan-*) botan_prefix=${botan_dir%/lib/cmake/Botan-*} ;; esac
cmake -S "$here" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix;$botan_prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
want="$(openssl x509 -in "$cert" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
planned"
mkdir "$tmp/fp" "$tmp/pc"
got=$("$tmp/consumer/consumer" "$cert" "$tmp/fp")
[ "$got" = "$want" ] || { echo "find_package consumer printed '$got', want '$want'" >&2; exit 1; }
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig${botan_prefix:+:$botan_prefix/lib/pkgconfig}"
g++ -std=c++20 "$here/main.cpp" $(pkg-config --cflags --libs pkiflow) -o "$tmp/pc-consumer"
got=$("$tmp/pc-consumer" "$cert" "$tmp/pc")
[ "$got" = "$want" ] || { echo "pkg-config consumer printed '$got', want '$want'" >&2; exit 1; }
echo "install: public headers only; find_package and pkg-config consumers work"

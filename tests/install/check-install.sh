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
echo "install: find_package and pkg-config consumers work"

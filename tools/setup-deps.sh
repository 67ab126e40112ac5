#!/usr/bin/env bash
# Installs what pkiflow needs to build and test on Debian 12 (or newer), and provides
# Botan 3 (>= 3.7). Idempotent: installs only missing packages, builds Botan once into
# a cache outside the repository and reuses it.
#
#   tools/setup-deps.sh            # prints the Botan prefix on its last line
#   PKIFLOW_CACHE=/path tools/setup-deps.sh
#
# Why Botan is built from Debian's own source package: Debian 12 ships only Botan 2.19
# (end of life upstream, ~6x slower at path validation). We fetch the trixie source
# package of botan3 from the mirror this machine already uses, check it against the
# .dsc checksums, and build a minimized static library.
#
# Debian's botan3 source leaves out Botan's PKCS#11 module (Files-Excluded: the OASIS headers'
# licence is unclear to Debian), so pkiflow speaks PKCS#11 itself (engine/pki/pkcs11/) with
# p11-kit's freely licensed pkcs11.h (libp11-kit-dev) and plugs the token key into Botan's
# signature interface.
set -euo pipefail

BOTAN_VERSION="3.7.1"
BOTAN_MIN="3.7.0"
CACHE_DIR="${PKIFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pkiflow}"
BOTAN_MODULES="x509,certstor_flatfile,certstor_system,rsa,ecdsa,ed25519,ecdh,x25519,\
sha2_32,sha2_64,sha1,pbes2,pbkdf2,cbc,aes,gcm,hmac,system_rng,auto_rng,hmac_drbg,pem,\
base64,hex,emsa_pkcs1,emsa_pssr,argon2,scrypt,pubkey,pcurves_secp256r1,pcurves_secp384r1,\
pcurves_secp521r1,aes_ni,sha2_32_x86,sha2_64_bmi2,sha1_x86,ghash_cpu"
BOTAN_PREFIX="$CACHE_DIR/botan-$BOTAN_VERSION"

PACKAGES=(g++ make cmake ninja-build pkg-config python3 xz-utils ca-certificates
  debian-archive-keyring openssl libssl-dev libboost-dev libboost-test-dev
  nlohmann-json3-dev libcli11-dev libsqlite3-dev sqlite3 libpq-dev libp11-kit-dev clang-format
  ccache systemd man-db tzdata)  # systemd-analyze and man check the package; tzdata: renewal windows
# Only the tests use these: a software HSM for the PKCS#11 CA keys, OpenSC's pkcs11-tool to
# look at the token with a tool pkiflow did not write, and a PostgreSQL 15 server that the tests
# start in a temporary directory of their own (tests/support/postgres_server.cpp).
TEST_PACKAGES=(softhsm2 opensc postgresql)
# The fuzz targets (tools/fuzz.sh): clang with libFuzzer (Debian 12: clang 14; libFuzzer is in the
# runtime package clang only recommends).
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# Static analysis (tools/tidy.sh): clang-tidy 14.
TIDY_PACKAGES=(clang-tidy)

log() { printf 'setup-deps: %s\n' "$*" >&2; }
die() { printf 'setup-deps: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null; then sudo "$@";
  else die "need root (or sudo) to run: $*"; fi
}

install_packages() {
  local missing=() wanted=("${PACKAGES[@]}")
  if [ "${PKIFLOW_TEST_DEPS:-}" = 1 ]; then wanted+=("${TEST_PACKAGES[@]}"); fi
  if [ "${PKIFLOW_FUZZ_DEPS:-}" = 1 ]; then wanted+=("${FUZZ_PACKAGES[@]}"); fi
  if [ "${PKIFLOW_TIDY_DEPS:-}" = 1 ]; then wanted+=("${TIDY_PACKAGES[@]}"); fi
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "all Debian packages present"; return; fi
  log "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

system_botan_ok() {
  pkg-config --exists botan-3 2>/dev/null && version_ge "$(pkg-config --modversion botan-3)" "$BOTAN_MIN"
}

# The first Debian (non-security) mirror URI the system's apt already uses.
debian_mirror() {
  local uri=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    uri=$(awk '/^URIs:/ {for (i=2;i<=NF;i++) print $i}' /etc/apt/sources.list.d/*.sources \
          | grep -v security | grep -i debian | head -n1 || true)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^(https?|ftp):/) {print $i; break}}' \
          /etc/apt/sources.list | grep -v security | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# Checks every file listed in the .dsc's Checksums-Sha256 section.
verify_dsc() {
  local dsc="$1" dir; dir=$(dirname "$dsc")
  awk '/^Checksums-Sha256:/ {on=1; next} /^[^ ]/ {on=0} on && NF==3 {print $1"  "$3}' "$dsc" \
    > "$dir/sha256sums"
  [ -s "$dir/sha256sums" ] || die "no Checksums-Sha256 in $dsc"
  (cd "$dir" && sha256sum --quiet -c sha256sums) || die "checksum mismatch for the files of $dsc"
  log "checksums of $(basename "$dsc") verified"
}

build_botan() {
  if [ -f "$BOTAN_PREFIX/.complete" ]; then log "Botan $BOTAN_VERSION cached at $BOTAN_PREFIX"; return; fi
  local work; work=$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-botan.XXXXXX")
  trap 'rm -rf "${work:-}"; trap - RETURN' RETURN
  local mirror; mirror=$(debian_mirror)
  log "fetching botan3 source from $mirror (trixie)"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
    > "$work/sources.list"
  local aptopts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=/dev/null"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1")
  apt-get "${aptopts[@]}" update -qq >&2
  local full
  full=$(apt-cache "${aptopts[@]}" showsrc botan3 | awk -v v="$BOTAN_VERSION" \
         '$1=="Version:" && index($2, v)==1 {print $2; exit}')
  [ -n "$full" ] || die "botan3 $BOTAN_VERSION not found in trixie on $mirror"
  (cd "$work/src" && apt-get "${aptopts[@]}" source --download-only "botan3=$full" >&2)
  local dsc; dsc=$(ls "$work"/src/botan3_"$BOTAN_VERSION"*.dsc | head -n1)
  [ -f "$dsc" ] || die "botan3 $BOTAN_VERSION not found in trixie on $mirror"
  verify_dsc "$dsc"
  local orig; orig=$(ls "$work"/src/botan3_*.orig.tar.* | head -n1)
  tar -xf "$orig" -C "$work/src"
  local srcdir; srcdir=$(find "$work/src" -maxdepth 1 -type d -iname 'botan*' | head -n1)
  [ -n "$srcdir" ] || die "could not unpack $orig"
  log "configuring Botan (minimized, static) into $BOTAN_PREFIX"
  (cd "$srcdir" && python3 configure.py --minimized-build --enable-modules="$BOTAN_MODULES" \
      --disable-shared-library --build-targets=static --without-documentation \
      --extra-cxxflags=-fPIC --prefix="$BOTAN_PREFIX" >&2)
  log "building Botan (takes a few minutes, once)"
  (cd "$srcdir" && make -j"$(nproc)" >"$work/build.log" 2>&1) || { tail -n 40 "$work/build.log" >&2; die "Botan build failed"; }
  rm -rf "$BOTAN_PREFIX"
  (cd "$srcdir" && make install >&2)
  touch "$BOTAN_PREFIX/.complete"
  log "Botan $BOTAN_VERSION installed in $BOTAN_PREFIX"
}

# The tests check the sample alert rules with promtool: Debian's prometheus package, unpacked
# into the cache rather than installed (installing it would start a Prometheus server).
PROMTOOL="$CACHE_DIR/bin/promtool"
fetch_promtool() {
  command -v promtool >/dev/null && return
  [ -x "$PROMTOOL" ] && return
  local work; work=$(mktemp -d)
  (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 ||
                   { as_root apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; }) \
    || { log "could not download prometheus (promtool): the alert rules get a shape check only"; rm -rf "$work"; return; }
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$CACHE_DIR/bin"
  cp "$work/root/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$work"
  log "promtool unpacked to $PROMTOOL"
}

main() {
  install_packages
  if [ "${PKIFLOW_TEST_DEPS:-}" = 1 ]; then mkdir -p "$CACHE_DIR"; fetch_promtool; fi
  if system_botan_ok; then
    log "using the system's Botan $(pkg-config --modversion botan-3)"
    echo "system"
    return
  fi
  mkdir -p "$CACHE_DIR"
  build_botan
  echo "$BOTAN_PREFIX"
}

main "$@"

#!/usr/bin/env bash
# Builds the Debian package from a build tree (cpack -G DEB) and checks what an admin installs:
# the control data, the files (binaries, a man page per verb group, pkiflow.json(5), the systemd
# units, the sample configuration), that the binaries need no Botan from the system, that the
# units and examples are the checked samples (whose checks run with the package's binary), and what
# postinst does (run against stand-in commands: it must create the system user, /var/lib/pkiflow
# 0700 and /etc/pkiflow, and enable nothing).
#   check-deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-deb: $*" >&2; exit 1; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
(cd "$build" && cpack -G DEB -B "$tmp/out" >/dev/null)
deb="$tmp/out/pkiflow_${version}_amd64.deb"
[ -f "$deb" ] || fail "no $deb"

info=$(dpkg-deb -I "$deb")
for field in "Package: pkiflow" "Version: $version" "Architecture: amd64" "Section: admin"; do
  grep -q "^ $field$" <<<"$info" || fail "control lacks '$field'"
done
grep -q '^ Depends: .*libsqlite3-0' <<<"$info" || fail "Depends lacks libsqlite3-0"
! grep -qi 'botan' <<<"$(grep '^ Depends:' <<<"$info")" || fail "Depends names Botan (it is linked in)"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/pkiflow ./usr/bin/pkiflow-graph-emulator \
         ./usr/lib/systemd/system/pkiflow.service ./usr/lib/systemd/system/pkiflow.timer \
         ./usr/share/doc/pkiflow/examples/pkiflow.json ./usr/share/doc/pkiflow/copyright \
         ./usr/share/doc/pkiflow/examples/pkiflow-alerts.yml ./usr/share/doc/pkiflow/examples/pkiflow.cron \
         ./usr/share/man/man1/pkiflow.1.gz ./usr/share/man/man5/pkiflow.json.5.gz; do
  grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin/pkiflow"
! ldd "$bin" | grep -qi botan || fail "pkiflow needs a Botan library at run time"
"$bin" --version | grep -qx "pkiflow $version" || fail "pkiflow --version is not $version"
# A man page per top-level verb (or verb group), generated from the help.
for group in $("$bin" help verbs --json | python3 -c \
    'import json,sys; print("\n".join(sorted({v["verb"].split()[0] for v in json.load(sys.stdin)})))'); do
  page="$root/usr/share/man/man1/pkiflow-$group.1.gz"
  [ -f "$page" ] || fail "no man page for '$group'"
  zcat "$page" | grep -q '^\.TH' || fail "$page is not a man page"
done
zcat "$root/usr/share/man/man5/pkiflow.json.5.gz" | grep -q 'client_secret_file' \
  || fail "pkiflow.json(5) lacks the configuration keys"
if command -v man >/dev/null; then
  for page in "$root"/usr/share/man/man1/*.gz "$root"/usr/share/man/man5/*.gz; do
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man cannot render $page"
    [ -z "$out" ] || fail "man warns about $page: $out"
  done
fi

# The units and examples are the checked-in samples, byte for byte; the samples' own checks
# (config check, systemd-analyze, promtool, cron) then run with the package's binary.
src=$(sed -n 's/^pkiflow_SOURCE_DIR:STATIC=//p' "$build/CMakeCache.txt")
for u in pkiflow.service pkiflow.timer; do
  cmp -s "$root/usr/lib/systemd/system/$u" "$src/samples/systemd/$u" || fail "$u is not samples/systemd/$u"
done
for f in pkiflow.json pkiflow-alerts.yml pkiflow.cron signers/README.md signers/openssl-ca.cnf; do
  cmp -s "$root/usr/share/doc/pkiflow/examples/$f" "$src/samples/$f" || fail "examples/$f is not samples/$f"
done
# The signer recipes, runnable where a "command" names them.
for s in openssl-ca.sh step-ca.sh adcs-certreq.sh; do
  p="$root/usr/lib/pkiflow/signers/$s"
  [ -e "$p" ] || fail "the package lacks /usr/lib/pkiflow/signers/$s"
  [ -x "$p" ] || fail "$p is not executable"
  cmp -s "$p" "$src/samples/signers/$s" || fail "$s is not samples/signers/$s"
done
"$src/tests/samples-check.sh" "$src" "$bin" >/dev/null || fail "the samples' checks fail with the package's binary"
grep -q '^User=pkiflow$' "$root/usr/lib/systemd/system/pkiflow.service" || fail "the service is not run as pkiflow"
grep -q '^WantedBy=timers.target$' "$root/usr/lib/systemd/system/pkiflow.timer" || fail "timer has no [Install]"

# postinst, with stand-ins for the commands that change the system.
ctl="$tmp/control"; mkdir -p "$ctl"
dpkg-deb -e "$deb" "$ctl"
for s in postinst prerm postrm; do
  [ -x "$ctl/$s" ] || fail "$s is missing or not executable"
  sh -n "$ctl/$s" || fail "$s has a syntax error"
done
shim="$tmp/shim"; mkdir -p "$shim"; log="$tmp/calls"
for cmd in getent groupadd useradd install chown chmod systemctl deb-systemd-helper; do
  printf '#!/bin/sh\necho "%s $*" >> "%s"\n%s\n' "$cmd" "$log" \
    "$([ "$cmd" = getent ] && echo 'exit 2' || echo 'exit 0')" > "$shim/$cmd"
  chmod +x "$shim/$cmd"
done
PATH="$shim:$PATH" sh "$ctl/postinst" configure
grep -q '^groupadd --system pkiflow$' "$log" || fail "postinst does not create the pkiflow group"
grep -q '^useradd --system --gid pkiflow --home-dir /var/lib/pkiflow .*--shell /usr/sbin/nologin.* pkiflow$' "$log" \
  || fail "postinst does not create the pkiflow system user: $(cat "$log")"
grep -q '^install -d -m 0700 -o pkiflow -g pkiflow /var/lib/pkiflow$' "$log" || fail "no /var/lib/pkiflow 0700"
grep -q '^install -d -m 0750 -o root -g pkiflow /etc/pkiflow$' "$log" || fail "no /etc/pkiflow"
! grep -q 'enable' "$log" || fail "postinst enables a unit: $(grep enable "$log")"
echo "check-deb: $(basename "$deb") ($(stat -c %s "$deb") bytes): control, files, man pages, units, sample, postinst ok"

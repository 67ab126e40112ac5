#!/usr/bin/env bash
# The samples an admin copies (samples/): the configuration uses only known keys (it fails only
# on the files it names), the alert rules pass `promtool check rules` and the units
# `systemd-analyze verify` where those tools are installed, the cron line is a valid cron.d
# entry that runs request then run.
#   samples-check.sh SOURCE_DIR PKIFLOW_BINARY
set -euo pipefail
src=$1 bin=$(realpath "$2")
fail() { echo "samples: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if out=$("$bin" config check --config "$src/samples/pkiflow.json" 2>&1); then
  fail "the sample configuration passed config check without its files"
fi
! grep -q 'unknown field' <<<"$out" || fail "the sample configuration has an unknown key: $out"
grep -q 'does not exist' <<<"$out" || fail "unexpected config check answer: $out"
for kind in gsa-tls-ca cba-ca intune-codesigning; do
  grep -q "\"kind\": \"$kind\"" "$src/samples/pkiflow.json" || fail "the sample configuration has no $kind"
done

checked="config"
promtool=$(command -v promtool || true)
cached="${PKIFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pkiflow}/bin/promtool"
[ -n "$promtool" ] || { [ -x "$cached" ] && promtool="$cached"; }
if [ -n "$promtool" ]; then
  "$promtool" check rules "$src/samples/pkiflow-alerts.yml" >/dev/null || fail "promtool refuses the alert rules"
  checked="$checked, rules (promtool)"
else
  python3 - "$src/samples/pkiflow-alerts.yml" <<'PY' || fail "the alert rules are not what promtool expects"
import sys
text = open(sys.argv[1]).read()
assert text.startswith("#") and "groups:" in text and text.count("- alert: ") == 5, "shape"
for line in text.splitlines():
    assert "\t" not in line, "tab in YAML"
PY
  checked="$checked, rules (shape; no promtool)"
fi
if command -v systemd-analyze >/dev/null; then
  for u in pkiflow.service pkiflow.timer; do
    sed "s#/usr/bin/pkiflow#$bin#" "$src/samples/systemd/$u" > "$tmp/$u"
  done
  out=$(systemd-analyze verify --man=no "$tmp/pkiflow.service" "$tmp/pkiflow.timer" 2>&1) \
    || fail "systemd-analyze refuses the units: $out"
  [ -z "$out" ] || fail "systemd-analyze warns about the units: $out"
  checked="$checked, units (systemd-analyze)"
fi
line=$(grep -v '^#' "$src/samples/pkiflow.cron" | grep -v '^$')
[ "$(wc -l <<<"$line")" -eq 1 ] || fail "the cron sample has more than one entry"
read -r m h dom mon dow user cmd <<<"$line"
for f in "$m" "$h" "$dom" "$mon" "$dow"; do
  [[ "$f" =~ ^(\*|[0-9]+)$ ]] || fail "cron field '$f' is not valid"
done
[ "$user" = pkiflow ] || fail "the cron entry does not run as pkiflow"
grep -q 'request --from-config .*&& pkiflow run ' <<<"$cmd" || fail "the cron entry does not request then run"
echo "samples: $checked, cron ok"

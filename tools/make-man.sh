#!/usr/bin/env bash
# Man pages from the program's own help, so they cannot drift from it: pkiflow(1) (the verbs,
# exit codes and lifecycle), one pkiflow-VERB(1) per top-level verb or verb group (every
# sub-verb's --help), and pkiflow.json(5) (every configuration key).
#   make-man.sh PKIFLOW_BINARY OUT_DIR VERSION
set -euo pipefail
bin=$1 out=$2 version=$3
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$bin")}" +%Y-%m-%d)
mkdir -p "$out/man1" "$out/man5"

# roff-safe text: backslashes doubled, a leading dot or quote escaped.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
# Text as a no-fill block, so the help's own alignment survives.
block() { printf '.nf\n'; esc; printf '.fi\n'; }
header() { printf '.TH %s %s %s "pkiflow %s" "pkiflow manual"\n' "$1" "$2" "$date" "$version"; }
finish() { gzip -9n > "$1.gz"; }

verbs=$("$bin" help verbs --json | python3 -c 'import json,sys; [print(v["verb"]) for v in json.load(sys.stdin)]')
groups=$(printf '%s\n' "$verbs" | awk '{print $1}' | uniq)

{
  header PKIFLOW 1
  printf '.SH NAME\npkiflow \\- CSR, sign and upload lifecycle of CA and signing certificates for Microsoft Graph\n'
  printf '.SH SYNOPSIS\n.B pkiflow\n.I VERB\n[\\fIOPTIONS\\fR] [\\fB\\-\\-json\\fR]\n'
  printf '.SH DESCRIPTION\n'
  "$bin" --help | block
  printf '.SH VERBS\n'
  "$bin" help verbs | block
  printf '.SH EXIT STATUS\n'
  "$bin" help exit-codes | block
  printf '.SH LIFECYCLE\n'
  "$bin" help states | block
  printf '.SH FILES\n.TP\n/etc/pkiflow/pkiflow.json\nthe configuration (see \\fBpkiflow.json\\fR(5))\n'
  printf '.TP\n/var/lib/pkiflow/state.db\nthe state store of the nightly run (pkiflow.service)\n'
  printf '.SH SEE ALSO\n'
  for g in $groups; do printf '\\fBpkiflow\\-%s\\fR(1), ' "$g"; done
  printf '\\fBpkiflow.json\\fR(5)\n'
} | finish "$out/man1/pkiflow.1"

for g in $groups; do
  {
    header "PKIFLOW-${g^^}" 1
    printf '.SH NAME\npkiflow\\-%s \\- ' "$g"
    "$bin" "$g" --help | head -n1 | esc
    for v in $(printf '%s\n' "$verbs" | awk -v g="$g" '$1 == g {print NR}'); do
      verb=$(printf '%s\n' "$verbs" | sed -n "${v}p")
      printf '.SH "PKIFLOW %s"\n' "${verb^^}"
      # shellcheck disable=SC2086  # the verb path is words
      "$bin" $verb --help | block
    done
    printf '.SH SEE ALSO\n\\fBpkiflow\\fR(1), \\fBpkiflow.json\\fR(5)\n'
  } | finish "$out/man1/pkiflow-$g.1"
done

{
  header PKIFLOW.JSON 5
  printf '.SH NAME\npkiflow.json \\- the configuration of pkiflow\n'
  printf '.SH DESCRIPTION\nOne JSON file (comments allowed; relative paths from its directory), found at \\fB\\-\\-config\\fR, $PKIFLOW_CONFIG or ./pkiflow.json. Unknown keys are errors. \\fBpkiflow config check\\fR validates it whole.\n'
  printf '.SH KEYS\n'
  "$bin" help config | block
  printf '.SH SEE ALSO\n\\fBpkiflow\\fR(1), \\fBpkiflow\\-config\\fR(1)\n'
} | finish "$out/man5/pkiflow.json.5"

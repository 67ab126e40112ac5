#!/usr/bin/env bash
# Builds the README's embedding example as written (the ```cpp block after "### Embedding the
# lifecycle") against the installed package with the build line its first comment gives, and
# runs it on a configuration for the emulator: the TLS-inspection CA it requests must end
# active, and the program must exit as `pkiflow run` would (0). Then the Python example (the
# ```python block) through the installed libpkiflow.so.1, on a configuration of its own: its
# code-signing certificate must end active.
#   embedding.sh README.md BUILD_DIR
set -euo pipefail
readme=$(realpath "$1") build=$(cd "$2" && pwd)
work=$(mktemp -d)
emu=""
trap '[ -z "$emu" ] || kill "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
awk '/^### Embedding the lifecycle/ {on=1} on && /^```cpp$/ && !inblock {inblock=1; next}
     inblock && /^```$/ {exit} inblock {print}' "$readme" > embed.cpp
[ -s embed.cpp ] || { echo "no embedding example in $readme" >&2; exit 1; }
awk '/^### Embedding the lifecycle/ {on=1} on && /^```python$/ && !inblock {inblock=1; next}
     inblock && /^```$/ {exit} inblock {print}' "$readme" > embed.py
[ -s embed.py ] || { echo "no Python embedding example in $readme" >&2; exit 1; }
build_line=$(sed -n '1s#^// embed.cpp: ##p' embed.cpp)
[ -n "$build_line" ] || { echo "the example's first line gives no build command" >&2; exit 1; }

# The installed package, and where the build found Botan (as tests/install/check-install.sh).
cmake --install "$build" --prefix "$work/prefix" >/dev/null
botan_dir=$(sed -n 's/^Botan_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
botan_prefix=""
case "$botan_dir" in */lib/cmake/Botan-*) botan_prefix=${botan_dir%/lib/cmake/Botan-*} ;; esac
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig${botan_prefix:+:$botan_prefix/lib/pkgconfig}"
bash -euo pipefail -c "$build_line"

# The emulator on a free loopback port, and a configuration for it.
umask 077
head -c 24 /dev/urandom | base64 > client-secret
head -c 24 /dev/urandom | base64 > ca-passphrase
"$build/pkiflow" ca new-root --subject "CN=Embed Root,O=Lab" --key-out root.key \
  --cert-out root.pem --passphrase-file ca-passphrase >/dev/null
"$build/pkiflow-graph-emulator" --client-secret-file client-secret --port 0 > emu.out 2>&1 &
emu=$!
for _ in $(seq 1 100); do grep -q "listening on" emu.out && break; sleep 0.05; done
base=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' emu.out)
[ -n "$base" ] || { echo "the emulator did not start" >&2; cat emu.out >&2; exit 1; }
cat > pkiflow.json <<JSON
{"state_url": "sqlite://$work/state.db",
 "tenants": {"contoso": {"tenant_id": "contoso", "client_id": "00000000-0000-4000-8000-00000000c11e",
   "graph_url": "$base/beta", "token_url": "$base/contoso/oauth2/v2.0/token",
   "auth": {"client_secret_file": "client-secret"}}},
 "signers": {"lab-root": {"certificate": "root.pem", "key": "root.key",
                          "passphrase_file": "ca-passphrase"}},
 "keys": {"passphrase_file": "ca-passphrase"},
 "trust_anchors": "root.pem", "run": {"poll_interval_ms": 100},
 "certificates": [{"kind": "gsa-tls-ca", "name": "tlsca", "tenant": "contoso",
                   "subject": "CN=Embedded TLS Inspection CA,O=Contoso", "signer": "lab-root"}]}
JSON
./embed pkiflow.json > embed.out || { echo "embed exited $?" >&2; cat embed.out >&2; exit 1; }
grep -q ' planned -> active$' embed.out ||
  { echo "no transition to active in:" >&2; cat embed.out >&2; exit 1; }
"$build/pkiflow" status --config pkiflow.json --json | grep -q '"state":"active"' ||
  { echo "the record is not active" >&2; exit 1; }

# The Python example: its own store, a code-signing certificate.
python3 - "$work" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/pkiflow.json"))
c["state_url"] = "sqlite://" + sys.argv[1] + "/state-py.db"
c["certificates"] = [{"kind": "intune-codesigning", "name": "apps", "tenant": "contoso",
                      "subject": "CN=Embedded Apps,O=Contoso", "key_algorithm": "p256",
                      "signer": "lab-root"}]
json.dump(c, open(sys.argv[1] + "/py.json", "w"))
PY
LD_LIBRARY_PATH="$work/prefix/lib" python3 embed.py py.json > embed-py.out ||
  { echo "embed.py exited $?" >&2; cat embed-py.out >&2; exit 1; }
grep -q ' apps active$' embed-py.out ||
  { echo "the Python example did not bring its record to active:" >&2; cat embed-py.out >&2; exit 1; }
echo "readme embedding examples (C++, Python): ok"

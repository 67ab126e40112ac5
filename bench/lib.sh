# Shared by the bench scripts (sourced): a private work directory, removed at exit unless KEEP
# is set (the emulator in $emu stopped first), holding a client secret, a passphrase and a
# P-256 root CA (root.pem, root.key); and the emulator's URL once it listens.

# bench_workdir NAME: makes the directory and cds into it; needs $BUILD.
bench_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkiflow-$1.XXXXXX")
  trap 'kill $emu 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
  cd "$WORK"
  umask 077
  head -c 24 /dev/urandom | base64 > secret
  head -c 24 /dev/urandom | base64 > pass
  "$BUILD/pkiflow" ca new-root --subject "CN=Bench Root" --alg p256 --key-out root.key \
    --cert-out root.pem --passphrase-file pass --crl-url http://crl.bench.test/root.crl >/dev/null
}

# emulator_url: waits for the emulator whose output goes to emu.out; prints its base URL.
emulator_url() {
  for _ in $(seq 1 100); do grep -q "listening on" emu.out && break; sleep 0.05; done
  sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' emu.out
}

#!/usr/bin/env python3
"""The C ABI (pkiflow/pkiflow.h) from Python's ctypes, standard library only (issue 17): an
engine opened on the emulator requests a record of each family, runs them to active, and reads
the status and a history back; errors come back as status codes with messages; a run is
cancelled from another thread.
    c_api_test.py BUILD_DIR"""
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

build = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="pkiflow-capi-")
os.chmod(work, 0o700)

# --- the library and its declarations ------------------------------------------------------
lib = ctypes.CDLL(os.path.join(build, "libpkiflow.so.1"))
TRANSITION = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
lib.pkiflow_abi_version.restype = ctypes.c_int
lib.pkiflow_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_close.argtypes = [ctypes.c_void_p]
lib.pkiflow_last_error.argtypes = [ctypes.c_void_p]
lib.pkiflow_last_error.restype = ctypes.c_char_p
lib.pkiflow_free.argtypes = [ctypes.c_void_p]
lib.pkiflow_request_configured.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_request.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_status_json.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_show.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_history.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_run.argtypes = [ctypes.c_void_p, ctypes.c_char_p, TRANSITION, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_interrupt.argtypes = [ctypes.c_void_p]
for verb in ("renew", "retry", "enable", "verify"):
    getattr(lib, "pkiflow_" + verb).argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                ctypes.POINTER(ctypes.c_void_p)]
lib.pkiflow_cancel.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                               ctypes.POINTER(ctypes.c_void_p)]

OK, ERR_INVALID_INPUT = 0, 1


def take(ptr):
    """The text a call returned, released with pkiflow_free."""
    if not ptr.value:
        return None
    text = ctypes.string_at(ptr.value).decode()
    lib.pkiflow_free(ptr.value)
    return text


def call(engine, fn, *args):
    """Calls fn(engine, *args, &out); returns (status, parsed JSON or the error message)."""
    out = ctypes.c_void_p()
    rc = fn(engine, *args, ctypes.byref(out))
    if rc != OK:
        return rc, lib.pkiflow_last_error(engine).decode()
    return rc, json.loads(take(out))


def expect(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


assert lib.pkiflow_abi_version() == 1

# The PowerShell sketch (samples/embedding/pkiflow.ps1) cannot run here: every function it
# declares must be exported by the library and declared in pkiflow.h with as many parameters.
source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
header = open(os.path.join(source, "pkiflow", "pkiflow.h")).read()
sketch = open(os.path.join(source, "samples", "embedding", "pkiflow.ps1")).read()
sketch = re.sub(r"\[MarshalAs\([^)]*\)\]", "", sketch)  # attributes hold parentheses


def arity(params):
    params = re.sub(r"\[[^\]]*\]", "", params).strip()
    return 0 if params in ("", "void") else params.count(",") + 1


declared = {m.group(1): arity(m.group(2)) for m in
            re.finditer(r"extern \w+ (pkiflow_\w+)\(([^)]*)\);", sketch)}
expect(len(declared) >= 8, "the PowerShell sketch declares too few functions: %r" % (declared,))
for name, n in declared.items():
    expect(hasattr(lib, name), "the sketch declares %s, which libpkiflow.so.1 lacks" % name)
    m = re.search(r"\b%s\(([^)]*)\);" % name, header)
    expect(m is not None, "the sketch declares %s, which pkiflow.h lacks" % name)
    expect(arity(m.group(1)) == n, "%s: %d parameters in the sketch, %d in pkiflow.h"
           % (name, n, arity(m.group(1))))

# --- the emulator, a root CA, a configuration -------------------------------------------------
def write(name, text, mode=0o600):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path

write("client-secret", "capi-secret-" + os.urandom(8).hex() + "\n")
write("pass", "capi-passphrase-" + os.urandom(8).hex() + "\n")
subprocess.run([os.path.join(build, "pkiflow"), "ca", "new-root", "--subject", "CN=CAPI Root,O=Lab",
                "--key-out", os.path.join(work, "root.key"), "--cert-out",
                os.path.join(work, "root.pem"), "--passphrase-file", os.path.join(work, "pass")],
               check=True, stdout=subprocess.DEVNULL)
emu_out = open(os.path.join(work, "emu.out"), "w")
emu = subprocess.Popen([os.path.join(build, "pkiflow-graph-emulator"), "--client-secret-file",
                        os.path.join(work, "client-secret"), "--port", "0"], stdout=emu_out,
                       stderr=subprocess.STDOUT)
try:
    base = None
    for _ in range(200):
        m = re.search(r"listening on (http://\S+)", open(os.path.join(work, "emu.out")).read())
        if m:
            base = m.group(1)
            break
        time.sleep(0.05)
    expect(base, "the emulator did not start")

    def entry(kind, name, subject):
        e = {"kind": kind, "name": name, "tenant": "contoso", "subject": subject,
             "signer": "root"}
        if kind != "gsa-tls-ca":
            e["key_algorithm"] = "p256"
        return e

    config = {
        "state_url": "sqlite://" + os.path.join(work, "state.db"),
        "tenants": {"contoso": {
            "tenant_id": "contoso", "client_id": "00000000-0000-4000-8000-00000000c11e",
            "graph_url": base + "/beta", "token_url": base + "/contoso/oauth2/v2.0/token",
            "auth": {"client_secret_file": "client-secret"}}},
        "signers": {"root": {"certificate": "root.pem", "key": "root.key",
                             "passphrase_file": "pass"}},
        "keys": {"passphrase_file": "pass"},
        "trust_anchors": "root.pem",
        "run": {"poll_interval_ms": 50, "retry_base_seconds": 0},
        "certificates": [entry("gsa-tls-ca", "inspection", "CN=CAPI Inspection,O=Lab"),
                         entry("cba-ca", "users", "CN=CAPI Users,O=Lab")],
    }
    config_file = write("pkiflow.json", json.dumps(config), 0o644)

    # --- errors are codes and messages --------------------------------------------------------
    engine = ctypes.c_void_p()
    error = ctypes.c_void_p()
    rc = lib.pkiflow_open(b'{"config_fil": "x"}', ctypes.byref(engine), ctypes.byref(error))
    message = take(error)
    expect(rc == ERR_INVALID_INPUT and not engine.value, "a misspelt option opened an engine")
    expect('unknown key "config_fil"' in message, "the message: " + str(message))
    rc = lib.pkiflow_open(json.dumps({"config_json": '{"tenants": 1}'}).encode(),
                          ctypes.byref(engine), ctypes.byref(error))
    message = take(error)
    expect(rc == ERR_INVALID_INPUT and "tenants" in message, "a bad config: " + str(message))

    rc = lib.pkiflow_open(json.dumps({"config_file": config_file}).encode(),
                          ctypes.byref(engine), ctypes.byref(error))
    expect(rc == OK, "open: " + str(take(error)))
    rc, msg = call(engine, lib.pkiflow_show, b"NO-SUCH-RECORD")
    expect(rc != OK, "show of a record that does not exist succeeded")

    # --- the lifecycle ----------------------------------------------------------------------
    rc, planned = call(engine, lib.pkiflow_request_configured)
    expect(rc == OK and len(planned) == 2 and all(p["created"] for p in planned),
           "request_configured: %r" % (planned,))
    rc, one = call(engine, lib.pkiflow_request, json.dumps(
        entry("intune-codesigning", "apps", "CN=CAPI Apps,O=Lab")).encode())
    expect(rc == OK and one["created"] and one["state"] == "planned", "request: %r" % (one,))
    rc, msg = call(engine, lib.pkiflow_request, b'{"kind": "cba-ca", "name": "x", "tenant": "nope"}')
    expect(rc == ERR_INVALID_INPUT and '"nope" is not defined' in msg, "a bad entry: " + str(msg))

    heard = []
    on_transition = TRANSITION(lambda text, user: heard.append(json.loads(text)))
    out = ctypes.c_void_p()
    metrics = os.path.join(work, "pkiflow.prom")
    rc = lib.pkiflow_run(engine, json.dumps({"concurrency": 3, "run_id": "CAPI-RUN",
                                             "metrics_file": metrics}).encode(),
                         on_transition, None, ctypes.byref(out))
    expect(rc == OK, "run: " + lib.pkiflow_last_error(engine).decode())
    result = json.loads(take(out))
    expect(result["exit"] == 0 and result["progressed"] == 3 and result["settled"] == 3
           and result["run_id"] == "CAPI-RUN" and result["metrics_error"] is None
           and result["held"] == [] and result["renewals"] == [], "run result: %r" % (result,))
    expect("pkiflow_run_exit_code 0" in open(metrics).read(), "the metrics file")
    rc = lib.pkiflow_run(engine, b'{"keep_record": false}', TRANSITION(lambda t, u: None), None,
                         ctypes.byref(out))
    expect(rc == ERR_INVALID_INPUT and "keep_records" in lib.pkiflow_last_error(engine).decode(),
           "a misspelt run option")
    expect(sorted(t["to"] for t in heard) == ["active"] * 3, "transitions heard: %r" % (heard,))

    rc, records = call(engine, lib.pkiflow_status_json, 0)
    expect(rc == OK and sorted(r["kind"] for r in records) ==
           ["cba-ca", "gsa-tls-ca", "intune-codesigning"], "status: %r" % (records,))
    expect(all(r["state"] == "active" and r["remote_id"] for r in records),
           "not all active: %r" % ([(r["name"], r["state"]) for r in records],))
    cli = json.loads(subprocess.run([os.path.join(build, "pkiflow"), "status", "--config",
                                     config_file, "--json"], check=True, capture_output=True,
                                    text=True).stdout)
    expect(sorted(cli, key=lambda r: r["id"]) == sorted(records, key=lambda r: r["id"]),
           "the C ABI's status differs from `pkiflow status --json`")
    rc, history = call(engine, lib.pkiflow_history, records[0]["id"].encode())
    expect(rc == OK and history[0]["from"] is None and history[-1]["to"] == "active",
           "history: %r" % (history,))

    # --- cancelled from another thread once the first record settled -------------------------
    rc, more = call(engine, lib.pkiflow_request, json.dumps(
        entry("cba-ca", "admins", "CN=CAPI Admins,O=Lab")).encode())
    rc, more2 = call(engine, lib.pkiflow_request, json.dumps(
        entry("intune-codesigning", "tools", "CN=CAPI Tools,O=Lab")).encode())
    settled = []

    def cancel_after_first(text, user):
        settled.append(text)
        if len(settled) == 1:
            t = threading.Thread(target=lib.pkiflow_interrupt, args=(engine,))
            t.start()
            t.join()

    on_cut = TRANSITION(cancel_after_first)
    rc = lib.pkiflow_run(engine, b'{"concurrency": 1}', on_cut, None, ctypes.byref(out))
    expect(rc == OK, "cancelled run: " + lib.pkiflow_last_error(engine).decode())
    cut = json.loads(take(out))
    expect(cut["interrupted"] and cut["exit"] == 7, "cancelled run result: %r" % (cut,))

    # --- the record verbs ----------------------------------------------------------------------
    gsa = next(r for r in records if r["kind"] == "gsa-tls-ca")
    rc, checked = call(engine, lib.pkiflow_verify, gsa["id"].encode())
    expect(rc == OK and checked["drift"] == "" and checked["to"] == "active",
           "verify: %r" % (checked,))
    rc, msg = call(engine, lib.pkiflow_retry, gsa["id"].encode())
    expect(rc == ERR_INVALID_INPUT and msg, "retry of an active record: %r" % (msg,))
    rc, successor = call(engine, lib.pkiflow_renew, gsa["id"].encode())
    expect(rc == OK and successor["renews"] == gsa["id"] and successor["state"] == "planned"
           and successor["profile_changes"] == [], "renew: %r" % (successor,))
    rc = lib.pkiflow_run(engine, None, TRANSITION(lambda t, u: None), None, ctypes.byref(out))
    expect(rc == OK, "the renewal's run: " + lib.pkiflow_last_error(engine).decode())
    rc, old = call(engine, lib.pkiflow_show, gsa["id"].encode())
    rc2, new = call(engine, lib.pkiflow_show, successor["id"].encode())
    expect(old["state"] == "retired" and new["state"] == "active",
           "after the renewal: %s %s" % (old["state"], new["state"]))
    expect(new["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----"),
           "show gives the record whole: %r" % (sorted(new),))

    # --- validate: the new CA against the configuration's anchors, then a day after expiry ------
    request = {"certificate": new["certificate_pem"], "chain": new["chain_pem"],
               "profile": "tls-inspection-ca"}
    rc, verdict = call(engine, lib.pkiflow_validate, json.dumps(request).encode())
    expect(rc == OK and verdict["valid"] and verdict["report"]["verdict"] == "valid",
           "validate: %r" % (verdict,))
    rc, verdict = call(engine, lib.pkiflow_validate, json.dumps(
        dict(request, profile="code-signing")).encode())
    expect(rc == OK and not verdict["valid"], "a CA against the code-signing profile: %r"
           % (verdict,))
    rc, msg = call(engine, lib.pkiflow_validate, b'{"certificate": 1}')
    expect(rc == ERR_INVALID_INPUT and "must be a string" in msg, "validate: %r" % (msg,))
    rc, msg = call(engine, lib.pkiflow_repair, new["id"].encode())
    expect(rc == OK and msg["to"] == "active", "repair of a record without drift: %r" % (msg,))
    rc, spare = call(engine, lib.pkiflow_request, json.dumps(
        entry("cba-ca", "spare", "CN=CAPI Spare,O=Lab")).encode())
    out = ctypes.c_void_p()
    rc = lib.pkiflow_cancel(engine, spare["id"].encode(), 0, ctypes.byref(out))
    expect(rc == OK, "cancel: " + lib.pkiflow_last_error(engine).decode())
    cancelled = json.loads(take(out))
    expect(cancelled["state"] == "retired", "cancel: %r" % (cancelled,))
    lib.pkiflow_close(engine)
    print("c_api: ok; three families active through the C ABI; %d records" % len(records))
finally:
    emu.terminate()
    emu.wait()
    subprocess.run(["rm", "-rf", work])

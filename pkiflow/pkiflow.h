/* pkiflow's C ABI: the lifecycle of pkiflow/engine.hpp for any language that can call C
 * (Python ctypes, PowerShell P/Invoke, Go cgo, ...). Shared library: libpkiflow.so.1.
 *
 * - Handles are opaque. An engine is used by one thread at a time; several engines may be open
 *   at once (on one store or several).
 * - Every call returns a pkiflow_status: PKIFLOW_OK, or the family of the error. After an
 *   error, pkiflow_last_error(engine) says what is wrong, naming the file, field, record or
 *   service (pkiflow_open gives it through its `error` argument, as there is no engine yet).
 * - Structured data goes in and comes out as JSON text (UTF-8), in the shapes of the command
 *   line's --json output. Every string the library returns is the caller's to release with
 *   pkiflow_free; strings passed in are only read during the call.
 * - No C++ exception crosses this boundary; an unexpected one is PKIFLOW_ERR_INTERNAL.
 * - pkiflow_abi_version() is PKIFLOW_ABI_VERSION of the library loaded; the symbols carry the
 *   version node PKIFLOW_1. */
#ifndef PKIFLOW_PKIFLOW_H
#define PKIFLOW_PKIFLOW_H

#ifdef __cplusplus
extern "C" {
#endif

#define PKIFLOW_ABI_VERSION 1

typedef enum pkiflow_status {
  PKIFLOW_OK = 0,
  PKIFLOW_ERR_INVALID_INPUT = 1, /* a value, file or configuration entry is malformed */
  PKIFLOW_ERR_IO = 2,            /* a file or the state store could not be read or written */
  PKIFLOW_ERR_PARSE = 3,         /* bytes are not what they should be (JSON, PEM, DER) */
  PKIFLOW_ERR_PASSPHRASE = 4,    /* a key's passphrase is missing or wrong */
  PKIFLOW_ERR_UNAVAILABLE = 5,   /* a service could not be reached: try again later */
  PKIFLOW_ERR_REMOTE = 6,        /* a service refused the request */
  PKIFLOW_ERR_AUTH = 7,          /* signing in to Microsoft Graph failed */
  PKIFLOW_ERR_BUSY = 8,          /* another live run holds the store or the record */
  PKIFLOW_ERR_UNSUPPORTED = 9,   /* an algorithm or format pkiflow does not handle */
  PKIFLOW_ERR_CRYPTO = 10,       /* a cryptographic operation failed */
  PKIFLOW_ERR_INTERNAL = 99      /* a bug: please report it with the message */
} pkiflow_status;

typedef struct pkiflow_engine pkiflow_engine;

/* Each record as a run settles it: one JSON object ({"id", "name", "kind", "from", "to",
 * "result", "message", "drift"}), on the thread that called pkiflow_run. Valid during the call
 * only. */
typedef void (*pkiflow_transition_fn)(const char* transition_json, void* user);

int pkiflow_abi_version(void);

/* Opens an engine. options_json: {"config_file": PATH} or {"config_json": TEXT,
 * "config_name": PATH} or {"find_config": true} ($PKIFLOW_CONFIG, else ./pkiflow.json), and
 * optionally "state_url", "actor" (who the records' history names) and
 * "allow_insecure_permissions" (bool).
 * On failure *engine is NULL and *error (if error is not NULL) holds the message. */
pkiflow_status pkiflow_open(const char* options_json, pkiflow_engine** engine, char** error);
void pkiflow_close(pkiflow_engine* engine); /* NULL is allowed */

/* The message of the engine's last failed call ("" when none); valid until its next call. */
const char* pkiflow_last_error(const pkiflow_engine* engine);

/* Plans every certificate of the configuration without a live record: *result_json is an array
 * of {"id", "name", "created", "state", "profile_changes"} (`pkiflow request --from-config`). */
pkiflow_status pkiflow_request_configured(pkiflow_engine* engine, char** result_json);
/* Plans one certificate given as an entry of "certificates"; *result_json is one object. */
pkiflow_status pkiflow_request(pkiflow_engine* engine, const char* certificate_json,
                               char** result_json);

/* The records as `pkiflow status --json` prints them (include_retired: also the retired). */
pkiflow_status pkiflow_status_json(pkiflow_engine* engine, int include_retired,
                                   char** records_json);
/* One record whole (`pkiflow show --json`: the status object, its PEMs and key file) or its
 * history (`pkiflow history --json`: an array of {"seq", "at", "from", "to", "actor", "reason",
 * "details"}). */
pkiflow_status pkiflow_show(pkiflow_engine* engine, const char* id, char** record_json);
pkiflow_status pkiflow_history(pkiflow_engine* engine, const char* id, char** history_json);

/* A run (`pkiflow run`). options_json (NULL for the defaults): {"dry_run", "plan",
 * "keep_records" (bool), "concurrency", "deadline_seconds", "poll_interval_ms",
 * "confirm_wait_seconds" (numbers), "run_id", "metrics_file" (a Prometheus textfile written
 * after the run)}. *result_json: {"run_id", "records": [transitions], "settled", "progressed",
 * "unchanged", "waiting", "failed", "interrupted", "deadline_passed", "drift", "drifted"
 * [records], "held_elsewhere", "held" [{"id", "owner", "until"}], "renewals" [{"id", "name",
 * "successor", "due", "reason", "window", "error"}], "taken_over", "not_read", "metrics_error",
 * "requests" (dry run), "exit"}. PKIFLOW_OK means the run happened; its records' failures are
 * in the result ("exit" as `pkiflow run` exits). */
pkiflow_status pkiflow_run(pkiflow_engine* engine, const char* options_json,
                           pkiflow_transition_fn on_transition, void* user, char** result_json);

/* Stops the engine's run under way from any thread: no new step starts, steps in flight finish,
 * leases are released; pkiflow_run then returns with "interrupted": true. Without a run under
 * way it does nothing. */
void pkiflow_interrupt(pkiflow_engine* engine);

/* The record verbs; each *result_json is the record as `pkiflow status --json` shows it after
 * the verb (for renew: the successor, with "profile_changes"). renew: plans a successor with the
 * configuration as it is now. retry: a failed record goes back to the state it failed in.
 * cancel: retires the record, deleting the remote object pkiflow made for it unless keep_remote
 * is non-zero. */
pkiflow_status pkiflow_renew(pkiflow_engine* engine, const char* id, char** result_json);
pkiflow_status pkiflow_retry(pkiflow_engine* engine, const char* id, char** result_json);
pkiflow_status pkiflow_cancel(pkiflow_engine* engine, const char* id, int keep_remote,
                              char** result_json);
/* enable: switches on an upload the service holds staged and waits for it to be in force.
 * verify: reads an active record's object back; "drift" says what differs ("" nothing).
 * repair: puts a drifted record right (uploads again, switches on again, or plans a renewal).
 * *result_json is a transition ({"id", "name", "kind", "from", "to", "result", "message",
 * "drift", "verified"}). */
pkiflow_status pkiflow_enable(pkiflow_engine* engine, const char* id, char** result_json);
pkiflow_status pkiflow_verify(pkiflow_engine* engine, const char* id, char** result_json);
pkiflow_status pkiflow_repair(pkiflow_engine* engine, const char* id, char** result_json);

/* Checks a certificate and its chain as an upload would be (`pkiflow validate`). request_json:
 * {"certificate", "chain", "csr" (PEM), "profile" ("tls-inspection-ca", "cba-ca",
 * "code-signing", "root-ca"), "trust" (a PEM file, a directory or "system"; default: the
 * configuration's trust_anchors), "crls" [PEM], "crl_check", "purpose", "lenient"}.
 * *report_json: {"valid": bool, "report": `pkiflow validate --json`'s report}. A chain that
 * fails a rule is PKIFLOW_OK with "valid": false. */
pkiflow_status pkiflow_validate(pkiflow_engine* engine, const char* request_json,
                                char** report_json);

void pkiflow_free(char* text); /* NULL is allowed */

#ifdef __cplusplus
}
#endif

#endif /* PKIFLOW_PKIFLOW_H */

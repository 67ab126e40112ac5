#include "state/sql/schema.hpp"

namespace pkiflow::state::sql {

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> all{
      // 1: records, their history, the operation journal.
      R"sql(
CREATE TABLE records (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  tenant TEXT NOT NULL,
  profile TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL,
  failed_from TEXT,
  remote_id TEXT NOT NULL DEFAULT '',
  remote_status TEXT NOT NULL DEFAULT '',
  key_path TEXT NOT NULL DEFAULT '',
  csr TEXT NOT NULL DEFAULT '',
  certificate TEXT NOT NULL DEFAULT '',
  chain TEXT NOT NULL DEFAULT '',
  not_before INTEGER,
  not_after INTEGER,
  thumbprint_sha1 TEXT NOT NULL DEFAULT '',
  thumbprint_sha256 TEXT NOT NULL DEFAULT '',
  renews TEXT REFERENCES records(id),
  superseded_by TEXT REFERENCES records(id),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX records_state ON records(state, next_attempt_at);
CREATE INDEX records_not_after ON records(not_after);
CREATE TABLE history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL REFERENCES records(id),
  from_state TEXT,
  to_state TEXT NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX history_record ON history(record_id, seq);
-- History is append-only: the database itself refuses to rewrite it.
CREATE TRIGGER history_no_update BEFORE UPDATE ON history
  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history
  BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TABLE journal (
  op_id TEXT PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(id),
  action TEXT NOT NULL,
  request_summary TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  state TEXT NOT NULL,
  response_summary TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX journal_open ON journal(state) WHERE state IN ('pending', 'sent');
CREATE INDEX journal_record ON journal(record_id);
)sql",
      // 2: run leases, so two runs never work on the same record at once.
      R"sql(
ALTER TABLE records ADD COLUMN lease_owner TEXT;
ALTER TABLE records ADD COLUMN lease_expires_at INTEGER;
CREATE INDEX records_lease ON records(lease_owner, lease_expires_at);
)sql",
      // 3: drift checks: when the remote object was last read back, and what was found.
      R"sql(
ALTER TABLE records ADD COLUMN verified_at INTEGER;
ALTER TABLE records ADD COLUMN drift TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN drift_note TEXT NOT NULL DEFAULT '';
)sql",
      // 4: air-gap bundles: the bundle a record's CSR was last sent out in, and when.
      R"sql(
ALTER TABLE records ADD COLUMN bundle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN bundle_exported_at INTEGER;
)sql",
      // 5: throttling shared by the workers of a fleet: a tenant's "not before".
      R"sql(
CREATE TABLE tenant_throttle (
  tenant TEXT PRIMARY KEY,
  not_before INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql",
      // 6: the renewals, found without reading every record (StateStore::due_page asks for them
      // with every page of due records).
      R"sql(
CREATE INDEX records_renews ON records(renews) WHERE renews IS NOT NULL;
)sql",
  };
  return all;
}

const std::vector<std::string>& postgres_migrations() {
  // Times are milliseconds since the epoch (BIGINT), as in SQLite; text is TEXT. Only what the
  // dialects spell differently differs: the identity column, the triggers.
  static const std::vector<std::string> all{
      // 1: records, their history, the operation journal.
      R"sql(
CREATE TABLE pkiflow_schema (
  application TEXT NOT NULL,
  version INTEGER NOT NULL
);
INSERT INTO pkiflow_schema (application, version) VALUES ('pkiflow', 0);
CREATE TABLE records (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  tenant TEXT NOT NULL,
  profile TEXT NOT NULL DEFAULT '{}',
  state TEXT NOT NULL,
  failed_from TEXT,
  remote_id TEXT NOT NULL DEFAULT '',
  remote_status TEXT NOT NULL DEFAULT '',
  key_path TEXT NOT NULL DEFAULT '',
  csr TEXT NOT NULL DEFAULT '',
  certificate TEXT NOT NULL DEFAULT '',
  chain TEXT NOT NULL DEFAULT '',
  not_before BIGINT,
  not_after BIGINT,
  thumbprint_sha1 TEXT NOT NULL DEFAULT '',
  thumbprint_sha256 TEXT NOT NULL DEFAULT '',
  renews TEXT REFERENCES records(id),
  superseded_by TEXT REFERENCES records(id),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX records_state ON records(state, next_attempt_at);
CREATE INDEX records_not_after ON records(not_after);
CREATE TABLE history (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(id),
  from_state TEXT,
  to_state TEXT NOT NULL,
  at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX history_record ON history(record_id, seq);
-- History is append-only: the database itself refuses to rewrite it, to any role but a
-- superuser who drops the triggers.
CREATE FUNCTION pkiflow_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'history is append-only';
END
$$;
CREATE TRIGGER history_no_change BEFORE UPDATE OR DELETE ON history
  FOR EACH ROW EXECUTE FUNCTION pkiflow_history_append_only();
CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history
  FOR EACH STATEMENT EXECUTE FUNCTION pkiflow_history_append_only();
CREATE TABLE journal (
  op_id TEXT PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(id),
  action TEXT NOT NULL,
  request_summary TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  state TEXT NOT NULL,
  response_summary TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX journal_open ON journal(state) WHERE state IN ('pending', 'sent');
CREATE INDEX journal_record ON journal(record_id);
)sql",
      // 2: run leases, so two runs never work on the same record at once.
      R"sql(
ALTER TABLE records ADD COLUMN lease_owner TEXT;
ALTER TABLE records ADD COLUMN lease_expires_at BIGINT;
CREATE INDEX records_lease ON records(lease_owner, lease_expires_at);
)sql",
      // 3: drift checks: when the remote object was last read back, and what was found.
      R"sql(
ALTER TABLE records ADD COLUMN verified_at BIGINT;
ALTER TABLE records ADD COLUMN drift TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN drift_note TEXT NOT NULL DEFAULT '';
)sql",
      // 4: air-gap bundles: the bundle a record's CSR was last sent out in, and when.
      R"sql(
ALTER TABLE records ADD COLUMN bundle_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN bundle_exported_at BIGINT;
)sql",
      // 5: throttling shared by the workers of a fleet: a tenant's "not before".
      R"sql(
CREATE TABLE tenant_throttle (
  tenant TEXT PRIMARY KEY,
  not_before BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql",
      // 6: the renewals, found without reading every record.
      R"sql(
CREATE INDEX records_renews ON records(renews) WHERE renews IS NOT NULL;
)sql",
  };
  return all;
}

}  // namespace pkiflow::state::sql

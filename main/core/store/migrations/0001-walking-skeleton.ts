// Schema 1: the walking skeleton. Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion1(db: Db): void {
  db.exec(`
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE hosts (
    id            INTEGER PRIMARY KEY,
    hostname      TEXT NOT NULL,
    domain        TEXT NOT NULL,
    mac           TEXT NOT NULL UNIQUE,
    dns_servers   TEXT NOT NULL,
    ntp_servers   TEXT NOT NULL,
    ssh_user      TEXT NOT NULL,
    ssh_port      INTEGER NOT NULL,
    root_password BLOB,
    token_hash    TEXT NOT NULL UNIQUE,
    token         BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (hostname, domain)
  ) STRICT;

  CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    source_ip   TEXT NOT NULL,
    host_id     INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    mac_matches INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    report      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX checkins_host ON checkins(host_id);

  CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    checkin_id  INTEGER NOT NULL REFERENCES checkins(id),
    host_id     INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    host_name   TEXT,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    error       TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
  ) STRICT;
  CREATE INDEX runs_checkin ON runs(checkin_id);

  CREATE TABLE run_steps (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    key         TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    output      TEXT NOT NULL DEFAULT '',
    error       TEXT,
    started_at  TEXT,
    finished_at TEXT,
    UNIQUE (run_id, seq)
  ) STRICT;

  CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    type    TEXT NOT NULL,
    subject TEXT,
    data    TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  `)
}

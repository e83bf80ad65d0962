// Schema 4: a run's output is an append-only log of chunks, each with its own
// sequence number, so a screen fetches only what it has not seen and events
// never carry a whole run; runs and steps can be cancelled. Released: never
// edit it.
import type { Db } from '../db'

export function updateToSchemaVersion4(db: Db): void {
  db.exec(`
  CREATE TABLE run_output (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id INTEGER NOT NULL REFERENCES run_steps(id) ON DELETE CASCADE,
    at      TEXT NOT NULL,
    text    TEXT NOT NULL
  ) STRICT;
  CREATE INDEX run_output_run ON run_output(run_id, id);
  INSERT INTO run_output (run_id, step_id, at, text)
    SELECT run_id, id, COALESCE(finished_at, started_at, '1970-01-01T00:00:00.000Z'), output
    FROM run_steps WHERE output <> '' ORDER BY run_id, seq;
  CREATE TRIGGER run_output_append_only_update BEFORE UPDATE ON run_output
    BEGIN SELECT RAISE(ABORT, 'run output is append-only'); END;

  CREATE TABLE runs_v4 (
    id              INTEGER PRIMARY KEY,
    checkin_id      INTEGER REFERENCES checkins(id) ON DELETE SET NULL,
    host_id         INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    host_name       TEXT,
    target          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed',
                      'interrupted', 'cancelled')),
    error           TEXT,
    snapshot        TEXT,
    sealed_password BLOB,
    plan            TEXT NOT NULL DEFAULT '[]',
    attempts        INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
  ) STRICT;
  INSERT INTO runs_v4 (id, checkin_id, host_id, host_name, target, state, error, snapshot,
      sealed_password, plan, created_at, started_at, finished_at)
    SELECT id, checkin_id, host_id, host_name, target, state, error, snapshot, sealed_password,
      plan, created_at, started_at, finished_at
    FROM runs;

  CREATE TABLE run_steps_v4 (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    key         TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped',
                  'interrupted', 'cancelled')),
    error       TEXT,
    started_at  TEXT,
    finished_at TEXT,
    UNIQUE (run_id, seq)
  ) STRICT;
  INSERT INTO run_steps_v4 (id, run_id, seq, key, title, state, error, started_at, finished_at)
    SELECT id, run_id, seq, key, title, state, error, started_at, finished_at FROM run_steps;

  DROP TABLE run_steps;
  DROP TABLE runs;
  ALTER TABLE runs_v4 RENAME TO runs;
  ALTER TABLE run_steps_v4 RENAME TO run_steps;
  CREATE INDEX runs_host ON runs(host_id, id);
  CREATE INDEX runs_state ON runs(state);
  CREATE INDEX run_steps_run ON run_steps(run_id, seq);
  `)
}

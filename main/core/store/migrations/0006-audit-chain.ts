// Schema 6: the audit log becomes a hash chain. Each entry carries the hash of
// the one before it and its own (SHA-256 over that and its content), so a
// changed, removed or inserted entry breaks the chain at the first entry it
// touched. Existing entries are chained here, oldest first. Released: never
// edit it.
//
// Self-contained on purpose: it must hash tomorrow as it hashes today, whatever
// the live code in events.ts becomes.
import { createHash } from 'node:crypto'
import type { Db } from '../db'

const GENESIS = '0'.repeat(64)

interface OldEvent {
  id: number
  at: string
  type: string
  subject: string | null
  data: string
}

export function updateToSchemaVersion6(db: Db): void {
  db.exec(`
  DROP TRIGGER events_append_only_update;
  DROP TRIGGER events_append_only_delete;
  CREATE TABLE events_v4 (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    type      TEXT NOT NULL,
    subject   TEXT,
    data      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  ) STRICT;
  `)
  const insert = db.prepare(
    'INSERT INTO events_v4 (id, at, type, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  let prev = GENESIS
  // All at once: one connection cannot write while it iterates.
  const rows = db
    .prepare('SELECT id, at, type, subject, data FROM events ORDER BY id')
    .all() as OldEvent[]
  for (const e of rows) {
    const hash = createHash('sha256')
      .update(`${prev}\n${JSON.stringify([e.id, e.at, e.type, e.subject, e.data])}`)
      .digest('hex')
    insert.run(e.id, e.at, e.type, e.subject, e.data, prev, hash)
    prev = hash
  }
  db.exec(`
  DROP TABLE events;
  ALTER TABLE events_v4 RENAME TO events;
  CREATE INDEX events_subject ON events(subject, id);
  CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  -- SQLite cannot hash; it can refuse an entry that does not link to the last one.
  CREATE TRIGGER events_chained BEFORE INSERT ON events
    WHEN NEW.prev_hash IS NOT COALESCE((SELECT hash FROM events ORDER BY id DESC LIMIT 1), '${GENESIS}')
      OR NEW.id <= COALESCE((SELECT MAX(id) FROM events), 0)
    BEGIN SELECT RAISE(ABORT, 'an audit entry must follow the last one and carry its hash'); END;
  `)
}

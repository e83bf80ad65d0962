// Schema 7: the Secure Boot path. With Secure Boot on, %firstboot never runs,
// so no client checks in: Midwife turns SSH on over the host's vSphere API and
// reads the identity itself. That synthesized check-in is evidence of its own
// kind (secure_boot), and the host keeps where the path stands (its step, its
// finding, the TLS certificate pinned on first contact). SQLite cannot change
// a CHECK constraint in place, so the check-ins table is rebuilt (foreign keys
// are off while migrations run). Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion7(db: Db): void {
  db.exec(`
  CREATE TABLE checkins_v7 (
    id           INTEGER PRIMARY KEY,
    host_id      INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('token', 'enrollment', 'secure_boot')),
    received_at  TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    repeats      INTEGER NOT NULL DEFAULT 0,
    source_ip    TEXT NOT NULL,
    digest       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    report       TEXT NOT NULL
  ) STRICT;
  INSERT INTO checkins_v7 (id, host_id, kind, received_at, last_seen_at, repeats, source_ip,
      digest, payload, report)
    SELECT id, host_id, kind, received_at, last_seen_at, repeats, source_ip, digest, payload, report
    FROM checkins;
  DROP TABLE checkins;
  ALTER TABLE checkins_v7 RENAME TO checkins;
  CREATE INDEX checkins_host ON checkins(host_id, id);

  -- JSON: where the Secure Boot path stands for the host's current install; NULL: not started.
  ALTER TABLE hosts ADD COLUMN secure_boot_path TEXT;
  `)
}

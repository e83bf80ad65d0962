// Schema 11: servers the generic kickstart installed. An unknown server's
// %post reports `installed` with the enrollment key; its boot MAC is kept
// here, so its per-MAC HTTP boot files boot the local disk instead of the
// generic install (which would erase it again at every network boot) until
// the operator chooses Install again. Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion11(db: Db): void {
  db.exec(`
  CREATE TABLE generic_installs (
    boot_mac     TEXT PRIMARY KEY,
    installed_at TEXT NOT NULL,
    source_ip    TEXT NOT NULL,
    -- JSON: the MACs, serial and UUID the installer read.
    report       TEXT NOT NULL,
    repeats      INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  `)
}

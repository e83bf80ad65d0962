// Schema 10: a host id is never used twice. The hosts table's ids are plain
// rowids, so deleting the newest host let the next one take its id, and with
// it the deleted host's audit trail, change-ticket report and any open
// screen's actions. The highest id ever given is kept here (for data from
// before: the highest a host or an audit entry about a host names), and each
// new host takes the next one. Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion10(db: Db): void {
  db.exec(`
  CREATE TABLE id_high_water (
    name TEXT PRIMARY KEY,
    id   INTEGER NOT NULL
  ) STRICT;
  INSERT INTO id_high_water (name, id) VALUES ('hosts', MAX(
    COALESCE((SELECT MAX(id) FROM hosts), 0),
    COALESCE((SELECT MAX(CAST(substr(subject, 6) AS INTEGER)) FROM events
               WHERE subject LIKE 'host:%'), 0)
  ));
  `)
}

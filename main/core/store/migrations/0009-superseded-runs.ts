// Schema 9: a run belongs to one installation of its host. Re-arming a host
// for a reinstall marks its runs superseded, so the Servers table and Resume
// no longer treat the last installation's run as the host's current one; the
// run stays in the host's history. Runs of hosts re-armed before this schema
// are marked from the retired tokens: each with the first re-arm after it.
// Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion9(db: Db): void {
  db.exec(`
  ALTER TABLE runs ADD COLUMN superseded_at TEXT;
  UPDATE runs SET superseded_at = (
    SELECT MIN(t.retired_at) FROM retired_tokens t
     WHERE t.host_id = runs.host_id AND t.retired_at >= runs.created_at
  ) WHERE host_id IS NOT NULL;
  `)
}

// Schema 8: runs approved together form a batch (a bulk approval on the
// Servers screen), so the screen can follow the batch's progress after a
// reload and the core can say when the whole batch is done. A run approved on
// its own has no batch. Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion8(db: Db): void {
  db.exec(`
  ALTER TABLE runs ADD COLUMN batch_id TEXT;
  CREATE INDEX runs_batch ON runs(batch_id) WHERE batch_id IS NOT NULL;
  `)
}

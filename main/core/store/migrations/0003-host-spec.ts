// Schema 3: a host's wanted configuration is one JSON document (its own
// values, over the site profile's defaults), so adding a setting needs no
// migration. DNS and NTP move into it. Released: never edit it.
import type { Db } from '../db'

export function updateToSchemaVersion3(db: Db): void {
  db.exec(`
  ALTER TABLE hosts ADD COLUMN spec TEXT NOT NULL DEFAULT '{}';
  UPDATE hosts SET spec = json_object(
      'dns', json(dns_servers),
      'ntp', json_object('servers', json(ntp_servers), 'enabled', json('true')))
    WHERE hostname IS NOT NULL;
  ALTER TABLE hosts DROP COLUMN dns_servers;
  ALTER TABLE hosts DROP COLUMN ntp_servers;

  -- The plan an operator approved, as it was shown (secrets masked).
  ALTER TABLE runs ADD COLUMN plan TEXT NOT NULL DEFAULT '[]';

  CREATE TABLE site_profile (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    spec    TEXT NOT NULL,
    install TEXT NOT NULL
  ) STRICT;
  INSERT INTO site_profile (id, spec, install) VALUES (1, '{}', '{}');
  `)
}

// Schema 5: the installer reports back (%pre: installing, %post: installed,
// with what it could read of the server), and a definition says which ESXi
// version it installs and whether it boots with UEFI Secure Boot. SQLite
// cannot change a CHECK constraint in place, so the hosts table is rebuilt
// (SQLite's procedure: foreign keys are off while migrations run).
// Released: never edit it.
import type { Db } from '../db'

const STATES = `'defined', 'booting', 'installing', 'installed', 'discovered', 'checked_in',
  'needs_attention', 'approved', 'configuring', 'configured', 'failed', 'interrupted', 'retired'`

export function updateToSchemaVersion5(db: Db): void {
  db.exec(`
  CREATE TABLE hosts_v4 (
    id               INTEGER PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN (${STATES})),
    state_reason     TEXT,
    state_changed_at TEXT NOT NULL,
    hostname         TEXT,
    domain           TEXT,
    mac              TEXT UNIQUE,
    serial           TEXT,
    ssh_user         TEXT NOT NULL DEFAULT 'root',
    ssh_port         INTEGER NOT NULL DEFAULT 22,
    root_password    BLOB,
    token_hash       TEXT UNIQUE,
    token            BLOB,
    identity         TEXT,
    attention        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    spec             TEXT NOT NULL DEFAULT '{}',
    -- NULL: the site's default version; else '7.0', '8.0' or '9.0'.
    esxi_version     TEXT CHECK (esxi_version IN ('7.0', '8.0', '9.0')),
    -- NULL: as the site expects; else 1 (on) or 0 (off).
    secure_boot      INTEGER CHECK (secure_boot IN (0, 1)),
    -- The installer's last report (JSON): what it could read of the server.
    install_report   TEXT,
    UNIQUE (hostname, domain),
    CHECK ((hostname IS NULL) = (domain IS NULL) AND (hostname IS NULL) = (mac IS NULL))
  ) STRICT;

  INSERT INTO hosts_v4 (id, state, state_reason, state_changed_at, hostname, domain, mac, serial,
      ssh_user, ssh_port, root_password, token_hash, token, identity, attention, created_at,
      updated_at, spec)
    SELECT id, state, state_reason, state_changed_at, hostname, domain, mac, serial, ssh_user,
      ssh_port, root_password, token_hash, token, identity, attention, created_at, updated_at, spec
    FROM hosts;

  DROP TABLE hosts;
  ALTER TABLE hosts_v4 RENAME TO hosts;
  CREATE INDEX hosts_state ON hosts(state);
  `)
}

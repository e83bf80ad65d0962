// Schema 2: a host has a lifecycle and a bound identity; a discovered server
// is a host without a definition; check-ins are evidence that repeats count
// instead of stacking; runs carry the snapshot they were approved with; no
// deployment token is kept in a reported boot line. Released: never edit it.
//
// Self-contained on purpose: it must do tomorrow what it does today, whatever
// the live code that reads these tables becomes.
import { createHash } from 'node:crypto'
import type { Db } from '../db'

const STATES = `'defined', 'booting', 'discovered', 'checked_in', 'needs_attention', 'approved',
  'configuring', 'configured', 'failed', 'interrupted', 'retired'`

/** A reported boot line carries the kickstart URL, and in it the token: keep neither. */
function scrubPayload(payload: string): string {
  return payload
    .replace(/\/(ks|c)\/[A-Za-z0-9_-]{16,128}\.(cfg|sh)/g, '/$1/***.$2')
    .replace(/PBKEY=[^\s"\\]+/g, 'PBKEY=***')
}

interface OldReport {
  nics?: Array<{ mac?: string }>
  serial?: string | null
  uuid?: string | null
  sshHostKeys?: Array<{ type: string; fingerprint: string }>
  managementIp?: string | null
}

export function updateToSchemaVersion2(db: Db): void {
  db.exec(`
  CREATE TABLE hosts_v2 (
    id               INTEGER PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN (${STATES})),
    state_reason     TEXT,
    state_changed_at TEXT NOT NULL,
    hostname         TEXT,
    domain           TEXT,
    mac              TEXT UNIQUE,
    serial           TEXT,
    dns_servers      TEXT NOT NULL DEFAULT '[]',
    ntp_servers      TEXT NOT NULL DEFAULT '[]',
    ssh_user         TEXT NOT NULL DEFAULT 'root',
    ssh_port         INTEGER NOT NULL DEFAULT 22,
    root_password    BLOB,
    token_hash       TEXT UNIQUE,
    token            BLOB,
    identity         TEXT,
    attention        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (hostname, domain),
    CHECK ((hostname IS NULL) = (domain IS NULL) AND (hostname IS NULL) = (mac IS NULL))
  ) STRICT;

  INSERT INTO hosts_v2 (id, state, state_changed_at, hostname, domain, mac, dns_servers,
      ntp_servers, ssh_user, ssh_port, root_password, token_hash, token, created_at, updated_at)
    SELECT id, 'defined', updated_at, hostname, domain, mac, dns_servers, ntp_servers, ssh_user,
      ssh_port, root_password, token_hash, token, created_at, updated_at
    FROM hosts;

  CREATE TABLE checkins_v2 (
    id           INTEGER PRIMARY KEY,
    host_id      INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('token', 'enrollment')),
    received_at  TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    repeats      INTEGER NOT NULL DEFAULT 0,
    source_ip    TEXT NOT NULL,
    digest       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    report       TEXT NOT NULL
  ) STRICT;

  CREATE TABLE runs_v2 (
    id              INTEGER PRIMARY KEY,
    checkin_id      INTEGER REFERENCES checkins(id) ON DELETE SET NULL,
    host_id         INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    host_name       TEXT,
    target          TEXT NOT NULL,
    state           TEXT NOT NULL
                    CHECK (state IN ('queued', 'running', 'done', 'failed', 'interrupted')),
    error           TEXT,
    snapshot        TEXT,
    sealed_password BLOB,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
  ) STRICT;
  INSERT INTO runs_v2 (id, checkin_id, host_id, host_name, target, state, error, created_at,
      started_at, finished_at)
    SELECT id, checkin_id, host_id, host_name, target, state, error, created_at, started_at,
      finished_at
    FROM runs;

  CREATE TABLE run_steps_v2 (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    key         TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped',
                  'interrupted')),
    output      TEXT NOT NULL DEFAULT '',
    error       TEXT,
    started_at  TEXT,
    finished_at TEXT,
    UNIQUE (run_id, seq)
  ) STRICT;
  INSERT INTO run_steps_v2 SELECT * FROM run_steps;

  CREATE TABLE retired_tokens (
    token_hash TEXT PRIMARY KEY,
    host_id    INTEGER REFERENCES hosts(id) ON DELETE CASCADE,
    retired_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE site_secrets (
    name   TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    hash   TEXT
  ) STRICT;
  `)

  // Check-ins: scrub tokens out of what hosts reported, and fingerprint each for de-duplication.
  const insertCheckin = db.prepare(
    `INSERT INTO checkins_v2 (id, host_id, kind, received_at, last_seen_at, source_ip, digest,
       payload, report) VALUES (?, ?, 'token', ?, ?, ?, ?, ?, ?)`,
  )
  const old = db
    .prepare('SELECT id, host_id, received_at, source_ip, payload, report FROM checkins')
    .all() as Array<{
    id: number
    host_id: number | null
    received_at: string
    source_ip: string
    payload: string
    report: string
  }>
  for (const c of old) {
    const payload = scrubPayload(c.payload)
    const digest = createHash('sha256').update(`${c.source_ip}\n${payload}`).digest('hex')
    insertCheckin.run(
      c.id,
      c.host_id,
      c.received_at,
      c.received_at,
      c.source_ip,
      digest,
      payload,
      c.report,
    )
  }

  // Hosts: the latest check-in that matched by MAC becomes the bound identity
  // (trust on first use, as the skeleton's Approve did); the last run says the rest.
  const hosts = db.prepare('SELECT id, mac FROM hosts_v2').all() as Array<{
    id: number
    mac: string
  }>
  const setHost = db.prepare(
    `UPDATE hosts_v2 SET state = ?, state_reason = ?, identity = ?, attention = ? WHERE id = ?`,
  )
  for (const h of hosts) {
    const checkins = old
      .filter((c) => c.host_id === h.id)
      .map((c) => ({ id: c.id, report: JSON.parse(c.report) as OldReport }))
      .sort((a, b) => b.id - a.id)
    const lastRun = db
      .prepare('SELECT state FROM runs WHERE host_id = ? ORDER BY id DESC LIMIT 1')
      .pluck()
      .get(h.id) as string | undefined
    const latest = checkins[0]
    if (!latest) continue
    const matched = checkins.find((c) => (c.report.nics ?? []).some((n) => n.mac === h.mac))
    const identityOf = (c: { id: number; report: OldReport }) => ({
      macs: (c.report.nics ?? []).map((n) => n.mac ?? ''),
      serial: c.report.serial ?? null,
      uuid: c.report.uuid ?? null,
      sshHostKeys: c.report.sshHostKeys ?? [],
      managementIp: c.report.managementIp ?? null,
    })
    if (!matched) {
      const reported = identityOf(latest)
      const attention = {
        reason: 'mac_mismatch',
        message: `none of the MACs this server reported is ${h.mac}, the MAC this host is defined with`,
        checkinId: latest.id,
        differences: [
          { field: 'macs', label: 'MACs', trusted: h.mac, reported: reported.macs.join(', ') },
        ],
        reported,
      }
      setHost.run(
        'needs_attention',
        'upgraded: its only check-ins did not report its MAC',
        null,
        JSON.stringify(attention),
        h.id,
      )
      continue
    }
    const identity = {
      ...identityOf(matched),
      boundAt: new Date().toISOString(),
      how: 'first_checkin',
      checkinId: matched.id,
    }
    const state = lastRun === 'done' ? 'configured' : lastRun === 'failed' ? 'failed' : 'checked_in'
    setHost.run(state, 'upgraded from schema 1', JSON.stringify(identity), null, h.id)
  }

  db.exec(`
  DROP TABLE run_steps;
  DROP TABLE runs;
  DROP TABLE checkins;
  DROP TABLE hosts;
  ALTER TABLE hosts_v2 RENAME TO hosts;
  ALTER TABLE checkins_v2 RENAME TO checkins;
  ALTER TABLE runs_v2 RENAME TO runs;
  ALTER TABLE run_steps_v2 RENAME TO run_steps;
  CREATE INDEX checkins_host ON checkins(host_id, id);
  CREATE INDEX runs_host ON runs(host_id, id);
  CREATE INDEX runs_state ON runs(state);
  CREATE INDEX hosts_state ON hosts(state);
  `)
}

// Schema 4 -> 5 on real rows: the hosts table is rebuilt so its states may
// be installing and installed, and gains the ESXi version, Secure Boot and
// the install report. Every host keeps every column and what points at it
// (check-ins, runs, retired tokens) still does.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate5-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'
const REPORT = JSON.stringify({
  managementIp: '10.0.0.11',
  nics: [{ name: 'vmnic0', mac: '00:50:56:aa:bb:01' }],
  bootMac: null,
  serial: 'SN-1',
  uuid: null,
  vendor: null,
  model: null,
  esxiVersion: '8.0.2',
  esxiBuild: '22380479',
  reportedHostname: null,
  sshHostKeys: [],
})
const IDENTITY = `{"macs":["00:50:56:aa:bb:01"],"serial":"SN-1","uuid":null,"sshHostKeys":[],"managementIp":"10.0.0.11","boundAt":"${T}","how":"first_checkin","checkinId":1}`

function seedVersion4(): void {
  const db = openDatabase(file, { version: 4 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_reason, state_changed_at, hostname, domain, mac, serial,
       spec, ssh_user, ssh_port, root_password, token_hash, token, identity, created_at, updated_at)
     VALUES (1, 'checked_in', 'checked in', ?, 'esx01', 'lab.local', '00:50:56:aa:bb:01', 'SN-1',
       '{"dns":["10.0.0.2"]}', 'root', 2222, X'01', 'h1', X'02', ?, ?, ?)`,
  ).run(T, IDENTITY, T, T)
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, identity, created_at, updated_at)
     VALUES (2, 'discovered', ?, ?, ?, ?)`,
  ).run(T, IDENTITY.replace('first_checkin', 'discovered'), T, T)
  db.prepare(
    `INSERT INTO checkins (id, host_id, kind, received_at, last_seen_at, source_ip, digest, payload, report)
     VALUES (1, 1, 'token', ?, ?, '10.0.0.11', 'd1', '{}', ?)`,
  ).run(T, T, REPORT)
  db.prepare(
    `INSERT INTO runs (id, host_id, checkin_id, host_name, target, state, created_at)
     VALUES (1, 1, 1, 'esx01.lab.local', '10.0.0.11', 'done', ?)`,
  ).run(T)
  db.prepare(
    `INSERT INTO retired_tokens (token_hash, host_id, retired_at) VALUES ('old', 1, ?)`,
  ).run(T)
  db.close()
}

describe('schema 5: install states, version, Secure Boot, install report', () => {
  it('keeps every host and every reference to it', () => {
    seedVersion4()
    const store = Store.open(file)
    try {
      const h = store.hosts.get(1)
      expect(h).toMatchObject({
        state: 'checked_in',
        stateReason: 'checked in',
        tokenHash: 'h1',
        install: null,
        definition: {
          hostname: 'esx01',
          mac: '00:50:56:aa:bb:01',
          serial: 'SN-1',
          sshPort: 2222,
          hasPassword: true,
          spec: { dns: ['10.0.0.2'] },
          esxiVersion: null,
          secureBoot: null,
        },
      })
      expect(h?.identity?.managementIp).toBe('10.0.0.11')
      expect(store.hosts.secrets(1)).toEqual({
        rootPassword: Buffer.from([1]),
        token: Buffer.from([2]),
      })
      expect(store.hosts.get(2)).toMatchObject({ state: 'discovered', definition: null })
      expect(store.checkins.latestFor(1)?.id).toBe(1)
      expect(store.runs.get(1)).toMatchObject({ hostId: 1, state: 'done' })
      expect(store.hosts.retiredToken('old')).toBe(1)

      // The new states are allowed by the table's CHECK now, and the moves by the lifecycle.
      store.moveHost(1, 'installing', 'test')
      store.moveHost(1, 'installed', 'test')
      expect(store.hosts.get(1)?.state).toBe('installed')
      // Deleting the host still reaches what pointed at it (foreign keys intact).
      store.hosts.delete(1)
      expect(store.hosts.retiredToken('old')).toBeUndefined()
      expect(store.runs.get(1)?.hostId).toBeNull()
    } finally {
      store.close()
    }
  })
})

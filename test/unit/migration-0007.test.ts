// Schema 6 -> 7 on real rows: the check-ins table is rebuilt so a check-in may
// be of kind secure_boot (read by Midwife over SSH on the Secure Boot path),
// and hosts gain where that path stands. Every check-in keeps every column
// and what points at it (runs) still does.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate7-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'
const REPORT = {
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
}

function seedVersion6(): void {
  const db = openDatabase(file, { version: 6 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, created_at, updated_at)
     VALUES (1, 'checked_in', ?, 'esx01', 'lab.local', '00:50:56:aa:bb:01', ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO checkins (id, host_id, kind, received_at, last_seen_at, repeats, source_ip, digest,
       payload, report)
     VALUES (1, 1, 'token', ?, ?, 3, '10.0.0.11', 'd1', '{"client":"x"}', ?),
            (2, 1, 'enrollment', ?, ?, 0, '10.0.0.11', 'd2', '{}', ?)`,
  ).run(T, T, JSON.stringify(REPORT), T, T, JSON.stringify(REPORT))
  db.prepare(
    `INSERT INTO runs (id, host_id, checkin_id, host_name, target, state, created_at)
     VALUES (1, 1, 2, 'esx01.lab.local', '10.0.0.11', 'done', ?)`,
  ).run(T)
  db.close()
}

describe('schema 7: secure_boot check-ins, the Secure Boot path on hosts', () => {
  it('keeps every check-in and what points at it, and takes the new kind', () => {
    seedVersion6()
    const store = Store.open(file)
    try {
      expect(store.checkins.get(1)).toMatchObject({ kind: 'token', repeats: 3, serial: 'SN-1' })
      expect(store.checkins.get(2)).toMatchObject({ kind: 'enrollment', hostId: 1 })
      expect(store.runs.get(1)).toMatchObject({ hostId: 1, checkinId: 2 })
      expect(store.hosts.get(1)?.secureBootPath).toBeNull()

      const c = store.checkins.insert({
        hostId: 1,
        kind: 'secure_boot',
        sourceIp: '10.0.0.11',
        digest: 'd3',
        payload: '{}',
        report: REPORT,
      })
      expect(store.checkins.latestFor(1)).toMatchObject({ id: c.id, kind: 'secure_boot' })
      const path = {
        status: 'failed' as const,
        step: 'vsphere' as const,
        message: 'refused',
        at: T,
        address: '10.0.0.11',
        certificate: null,
        attempts: 1,
      }
      store.hosts.setSecureBootPath(1, path)
      expect(store.hosts.get(1)?.secureBootPath).toEqual(path)
      // Deleting the host still reaches its check-ins (foreign keys intact).
      store.hosts.delete(1)
      expect(store.checkins.get(1)?.hostId).toBeNull()
    } finally {
      store.close()
    }
  })
})

// Schema 9 -> 10 on real rows: host ids are never used twice. A data folder
// whose newest host was deleted (its id named only by the audit log now)
// gives the next host a new id, not the deleted one's; and so does every
// deletion after the upgrade.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate10-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'
const fields = (n: number) => ({
  hostname: `esx0${n}`,
  domain: 'lab.local',
  mac: `00:50:56:aa:bb:0${n}`,
  serial: null,
  sshUser: 'root',
  sshPort: 22,
  spec: {},
})

describe('schema 10: host ids are never used twice', () => {
  it('starts above the highest host id the data folder ever named, and stays above', () => {
    const db = openDatabase(file, { version: 9 })
    db.prepare(
      `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, created_at, updated_at)
       VALUES (2, 'defined', ?, 'esx02', 'lab.local', '00:50:56:aa:bb:02', ?, ?)`,
    ).run(T, T, T)
    db.close()
    const before = Store.open(file, { version: 9 })
    // Host 5 lived and was deleted: only the audit log still names it.
    before.events.append('host.deleted', 'host:5', {})
    before.close()

    const store = Store.open(file)
    try {
      const secrets = { rootPassword: null, token: null }
      const a = store.hosts.insertDefinition(fields(6), secrets, 'a'.repeat(64))
      expect(a).toBe(6)
      // The newest host deleted: the next one does not take its id.
      store.hosts.delete(a)
      const b = store.hosts.insertDefinition(fields(7), secrets, 'b'.repeat(64))
      expect(b).toBe(7)
      const identity = {
        macs: ['00:50:56:aa:bb:09'],
        serial: null,
        uuid: null,
        sshHostKeys: [],
        managementIp: null,
        how: 'discovered' as const,
        checkinId: null,
        boundAt: T,
      }
      const c = store.hosts.insertDiscovered(identity, 'checked in with the site enrollment key')
      expect(c).toBe(8)
      store.hosts.delete(c)
      expect(store.hosts.insertDefinition(fields(8), secrets, 'c'.repeat(64))).toBe(9)
    } finally {
      store.close()
    }
  })
})

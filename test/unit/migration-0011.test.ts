// Schema 10 -> 11 on real rows: servers the generic kickstart installed are
// kept by boot MAC. A data folder from before keeps its hosts and audit log,
// starts with none kept, and then keeps, counts, lists and forgets them, across
// a reopen (the per-MAC files of a kept MAC boot the disk after a restart too).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate11-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'
const T2 = '2026-01-01T00:05:00.000Z'
const MAC = '00:50:56:aa:bb:09'

describe('schema 11: servers installed from the generic kickstart', () => {
  it('upgrades a data folder with hosts and an audit log, and keeps what is recorded after', () => {
    const db = openDatabase(file, { version: 10 })
    db.prepare(
      `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, created_at, updated_at)
       VALUES (2, 'defined', ?, 'esx02', 'lab.local', '00:50:56:aa:bb:02', ?, ?)`,
    ).run(T, T, T)
    db.close()
    const before = Store.open(file, { version: 10 })
    before.events.append('host.created', 'host:2', {})
    before.close()

    let store = Store.open(file)
    try {
      expect(store.hosts.byMac('00:50:56:aa:bb:02')?.id).toBe(2)
      expect(store.events.verify()).toMatchObject({ entries: 1, broken: null })
      expect(store.genericInstalls.list()).toEqual([])
      const report = {
        bootMac: MAC,
        installedAt: T,
        sourceIp: '10.0.0.50',
        macs: [MAC, '00:50:56:aa:bb:0a'],
        serial: 'SN-1',
        uuid: null,
      }
      expect(store.genericInstalls.record(report)).toEqual({ repeat: false })
      // The same server again (a %post retried): the newest report is kept, counted once more.
      expect(
        store.genericInstalls.record({ ...report, installedAt: T2, sourceIp: '10.0.0.51' }),
      ).toEqual({ repeat: true })
    } finally {
      store.close()
    }

    store = Store.open(file)
    try {
      expect(store.genericInstalls.byMac(MAC)).toEqual({
        bootMac: MAC,
        installedAt: T2,
        sourceIp: '10.0.0.51',
        macs: [MAC, '00:50:56:aa:bb:0a'],
        serial: 'SN-1',
        uuid: null,
        repeats: 1,
      })
      expect(store.genericInstalls.list().map((r) => r.bootMac)).toEqual([MAC])
      expect(store.genericInstalls.forget(MAC)).toBe(true)
      expect(store.genericInstalls.forget(MAC)).toBe(false)
      expect(store.genericInstalls.byMac(MAC)).toBeUndefined()
    } finally {
      store.close()
    }
  })
})

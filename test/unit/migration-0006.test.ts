// Schema 5 -> 6 on real rows: the audit log's existing entries are chained,
// oldest first, with their content untouched; the triggers come back, and a
// new entry links to the last migrated one.
import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH, Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate4-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'

/** What a schema-3 Midwife wrote: a host, its run, and the audit entries about them. */
const EVENTS: Array<[number, string, string, string | null, string]> = [
  [1, T, 'site.enrollment_key_created', 'site', '{}'],
  [
    2,
    T,
    'host.created',
    'host:1',
    '{"fqdn":"esx01.lab.local","mac":"00:50:56:aa:bb:01","serial":null,"spec":{"dns":["10.0.0.2"]}}',
  ],
  [
    3,
    T,
    'host.state',
    'host:1',
    '{"checkin":1,"from":"defined","to":"checked_in","reason":"checked in; its identity is bound (trust on first use)"}',
  ],
  [
    4,
    T,
    'host.state',
    'host:1',
    '{"run":1,"plan":"p1","from":"checked_in","to":"approved","reason":"approved by the operator (run 1)"}',
  ],
  // Ids with a gap, as a rolled-back transaction can leave them.
  [7, T, 'run.done', 'run:1', '{"error":null}'],
  [8, T, 'settings.saved', null, '{"listenerHost":"0.0.0.0","listenerPort":8080}'],
]

function seedVersion3(): void {
  const db = openDatabase(file, { version: 5 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, ssh_user, ssh_port,
       root_password, token_hash, token, spec, created_at, updated_at)
     VALUES (1, 'configured', ?, 'esx01', 'lab.local', '00:50:56:aa:bb:01', 'root', 22, X'01',
       'h1', X'02', '{"dns":["10.0.0.2"]}', ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO runs (id, host_id, host_name, target, state, created_at) VALUES (1, 1, 'esx01.lab.local', '10.0.0.11', 'done', ?)`,
  ).run(T)
  const insert = db.prepare(
    'INSERT INTO events (id, at, type, subject, data) VALUES (?, ?, ?, ?, ?)',
  )
  for (const e of EVENTS) insert.run(...e)
  db.close()
}

describe('schema 6: the audit log as a hash chain', () => {
  it('chains every existing entry, oldest first, and keeps its content', () => {
    seedVersion3()
    const store = Store.open(file)
    try {
      expect(store.events.verify()).toMatchObject({ entries: 6, broken: null, head: { id: 8 } })
      const db = new Database(file, { readonly: true })
      const rows = db.prepare('SELECT * FROM events ORDER BY id').all() as Array<{
        id: number
        at: string
        type: string
        subject: string | null
        data: string
        prev_hash: string
        hash: string
      }>
      db.close()
      expect(rows.map((r) => [r.id, r.at, r.type, r.subject, r.data])).toEqual(EVENTS)
      let prev = GENESIS_HASH
      for (const r of rows) {
        expect(r.prev_hash).toBe(prev)
        const content = JSON.stringify([r.id, r.at, r.type, r.subject, r.data])
        expect(r.hash).toBe(createHash('sha256').update(`${prev}\n${content}`).digest('hex'))
        prev = r.hash
      }
      // Everything else is as it was.
      expect(store.hosts.get(1)?.definition).toMatchObject({ hostname: 'esx01', hasPassword: true })
      expect(store.runs.get(1)).toMatchObject({ state: 'done', hostId: 1 })
      expect(store.events.aboutHost(1).map((e) => e.id)).toEqual([2, 3, 4, 7])
    } finally {
      store.close()
    }
  })

  it('keeps the log append-only, and a new entry follows the last migrated one', () => {
    seedVersion3()
    const store = Store.open(file)
    try {
      const head = store.events.head()
      store.events.append('host.updated', 'host:1', {})
      const [last] = store.events.list(1)
      expect(last).toMatchObject({ id: 9, prevHash: head?.hash })
      const db = new Database(file)
      expect(() => db.prepare("UPDATE events SET type = 'x' WHERE id = 2").run()).toThrow(
        'the event log is append-only',
      )
      expect(() => db.prepare('DELETE FROM events WHERE id = 2').run()).toThrow(
        'the event log is append-only',
      )
      db.close()
      expect(store.events.verify()).toMatchObject({ entries: 7, broken: null })
    } finally {
      store.close()
    }
  })

  it('migrates an empty log', () => {
    openDatabase(file, { version: 5 }).close()
    const store = Store.open(file)
    try {
      expect(store.events.verify()).toEqual({ entries: 0, head: null, broken: null })
      store.events.append('site.enrollment_key_created', 'site', {})
      expect(store.events.list(1)[0]?.prevHash).toBe(GENESIS_HASH)
    } finally {
      store.close()
    }
  })
})

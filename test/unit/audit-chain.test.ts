// The audit log as a hash chain: every entry carries the hash of the one
// before it, appends link inside the caller's transaction, and a change made
// behind Midwife's back (a second raw SQLite connection on a copy, its
// append-only triggers dropped) is found and named.
import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GENESIS_HASH, Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
const opened: Array<{ close(): void }> = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-audit-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => {
  for (const s of opened.splice(0)) s.close()
  rmSync(dir, { recursive: true, force: true })
})

function open(path = file): Store {
  const s = Store.open(path)
  opened.push(s)
  return s
}

function raw(path: string): Database.Database {
  const db = new Database(path)
  opened.push(db)
  return db
}

interface Row {
  id: number
  at: string
  type: string
  subject: string | null
  data: string
  prev_hash: string
  hash: string
}

const rows = (db: Database.Database) =>
  db.prepare('SELECT * FROM events ORDER BY id').all() as Row[]

/** The documented hash: SHA-256 of the previous hash, a newline, and [id, at, type, subject, data]. */
const expectedHash = (prev: string, r: Row) =>
  createHash('sha256')
    .update(`${prev}\n${JSON.stringify([r.id, r.at, r.type, r.subject, r.data])}`)
    .digest('hex')

/** A store with four entries, closed, and a copy of its file to tamper with. */
function seededCopy(): string {
  const store = open()
  store.events.append('host.created', 'host:1', { fqdn: 'esx01.lab.local' })
  store.events.append('host.state', 'host:1', { from: 'defined', to: 'checked_in' })
  store.events.append('host.state', 'host:1', {
    from: 'checked_in',
    to: 'approved',
    reason: 'approved by the operator (run 1)',
  })
  store.events.append('run.done', 'run:1', { error: null })
  store.close()
  const copy = join(dir, 'copy.db')
  copyFileSync(file, copy)
  return copy
}

/** Another process with write access, past the triggers Midwife installed. */
function tamper(path: string, sql: string, ...params: unknown[]): void {
  const db = raw(path)
  db.exec('DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;')
  db.prepare(sql).run(...params)
  db.close()
}

describe('the audit chain', () => {
  it('links each entry to the one before it by hash', () => {
    const store = open()
    store.events.append('host.created', 'host:1', { fqdn: 'esx01.lab.local' })
    store.events.append('settings.saved', null, { listenerPort: 8080 })
    store.events.append('host.deleted', 'host:1', { name: 'esx01.lab.local' })
    const list = rows(raw(file))
    expect(list).toHaveLength(3)
    expect(list[0]?.prev_hash).toBe(GENESIS_HASH)
    let prev = GENESIS_HASH
    for (const r of list) {
      expect(r.prev_hash).toBe(prev)
      expect(r.hash).toBe(expectedHash(prev, r))
      prev = r.hash
    }
    expect(store.events.verify()).toEqual({
      entries: 3,
      head: { id: list[2]?.id, hash: list[2]?.hash },
      broken: null,
    })
  })

  it('rolls an entry back with the transaction it records, and the chain stays whole', () => {
    const store = open()
    store.events.append('host.created', 'host:1', {})
    expect(() =>
      store.transaction(() => {
        store.events.append('host.updated', 'host:1', {})
        throw new Error('the write it records failed')
      }),
    ).toThrow('the write it records failed')
    store.events.append('host.deleted', 'host:1', {})
    expect(store.events.list().map((e) => e.type)).toEqual(['host.deleted', 'host.created'])
    expect(store.events.verify().broken).toBeNull()
  })

  it('lets SQLite refuse an entry that does not link to the last one', () => {
    const store = open()
    store.events.append('host.created', 'host:1', {})
    const db = raw(file)
    const insert = db.prepare(
      `INSERT INTO events (id, at, type, subject, data, prev_hash, hash) VALUES (?, 't', 'forged', NULL, '{}', ?, ?)`,
    )
    expect(() => insert.run(2, GENESIS_HASH, 'f'.repeat(64))).toThrow(
      'an audit entry must follow the last one and carry its hash',
    )
    const head = store.events.head()
    expect(() => insert.run(1, head?.hash, 'f'.repeat(64))).toThrow(
      'an audit entry must follow the last one and carry its hash',
    )
    expect(store.events.verify()).toMatchObject({ entries: 1, broken: null })
  })

  it('names the entry whose content was changed behind its back', () => {
    const copy = seededCopy()
    tamper(copy, `UPDATE events SET data = '{"to":"configured"}' WHERE id = 3`)
    const check = Store.verifyAuditFile(copy)
    expect(check.entries).toBe(2)
    expect(check.head?.id).toBe(2)
    expect(check.broken).toMatchObject({ id: 3, type: 'host.state', subject: 'host:1' })
    expect(check.broken?.reason).toBe(
      'its content no longer matches its hash: it was changed after it was written',
    )
    // The original, untouched, still checks out.
    expect(Store.verifyAuditFile(file).broken).toBeNull()
  })

  it('names the entry after one that was removed', () => {
    const copy = seededCopy()
    tamper(copy, 'DELETE FROM events WHERE id = 2')
    expect(Store.verifyAuditFile(copy).broken).toMatchObject({
      id: 3,
      reason:
        'it does not link to entry 1 before it: an entry between them was removed or inserted, or entry 1 was rewritten with its hash',
    })
  })

  it('names the entry after one rewritten with a fresh hash of its own', () => {
    const copy = seededCopy()
    const before = rows(raw(copy)).find((r) => r.id === 2) as Row
    const forged = { ...before, data: '{"from":"defined","to":"configured"}' }
    tamper(
      copy,
      'UPDATE events SET data = ?, hash = ? WHERE id = 2',
      forged.data,
      expectedHash(before.prev_hash, forged),
    )
    expect(Store.verifyAuditFile(copy).broken?.id).toBe(3)
  })

  it('names the first entry when those before it were removed', () => {
    const copy = seededCopy()
    tamper(copy, 'DELETE FROM events WHERE id = 1')
    expect(Store.verifyAuditFile(copy)).toMatchObject({
      entries: 0,
      head: null,
      broken: {
        id: 2,
        reason: expect.stringContaining('entries before it were removed') as unknown,
      },
    })
  })

  it('checks a file without writing to it, and says when it cannot', () => {
    expect(() => Store.verifyAuditFile(join(dir, 'nothing.db'))).toThrow(
      `there is no Midwife database at ${join(dir, 'nothing.db')}`,
    )
    const old = join(dir, 'old.db')
    openDatabase(old, { version: 5 }).close()
    expect(() => Store.verifyAuditFile(old)).toThrow(
      /is at schema 5; start this Midwife once to upgrade it/,
    )
    const copy = seededCopy()
    const db = raw(copy)
    const before = db.pragma('user_version', { simple: true })
    expect(Store.verifyAuditFile(copy).broken).toBeNull()
    expect(db.pragma('user_version', { simple: true })).toBe(before)
  })
})

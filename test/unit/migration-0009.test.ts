// Schema 8 -> 9 on real rows: a run belongs to one installation of its host.
// Runs of a host re-armed for a reinstall after them are marked superseded,
// each with the first re-arm after it; later runs and other hosts' runs stay
// current.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate9-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`

function seedVersion8(): void {
  const db = openDatabase(file, { version: 8 })
  const host = db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'lab.local', ?, ?, ?)`,
  )
  host.run(1, 'configured', at(0), 'esx01', '00:50:56:aa:bb:01', at(0), at(0))
  host.run(2, 'configured', at(0), 'esx02', '00:50:56:aa:bb:02', at(0), at(0))
  const run = db.prepare(
    `INSERT INTO runs (id, host_id, host_name, target, state, attempts, created_at)
     VALUES (?, ?, ?, '10.0.0.11', ?, 1, ?)`,
  )
  // esx01: two runs, re-armed, one run, re-armed again, one run (its current).
  run.run(1, 1, 'esx01.lab.local', 'failed', at(1))
  run.run(2, 1, 'esx01.lab.local', 'done', at(2))
  run.run(3, 1, 'esx01.lab.local', 'failed', at(4))
  run.run(4, 1, 'esx01.lab.local', 'done', at(6))
  // esx02: never re-armed.
  run.run(5, 2, 'esx02.lab.local', 'done', at(2))
  const retired = db.prepare(
    'INSERT INTO retired_tokens (token_hash, host_id, retired_at) VALUES (?, ?, ?)',
  )
  retired.run('a'.repeat(64), 1, at(3))
  retired.run('b'.repeat(64), 1, at(5))
  db.close()
}

describe('schema 9: runs of an earlier installation are superseded', () => {
  it('marks each run with the first re-arm after it, and keeps the rest current', () => {
    seedVersion8()
    const store = Store.open(file)
    try {
      const superseded = [1, 2, 3, 4, 5].map((id) => store.runs.header(id)?.supersededAt)
      expect(superseded).toEqual([at(3), at(3), at(5), null, null])
      expect(store.runs.currentFor(1)).toBe(4)
      expect(store.runs.currentFor(2)).toBe(5)
      expect(store.runs.currentPerHost().map((r) => r.id)).toEqual([4, 5])

      // Re-armed once more: esx01 has no current run; esx02 is untouched.
      store.runs.supersede(1)
      expect(store.runs.header(4)?.supersededAt).not.toBeNull()
      expect(store.runs.header(3)?.supersededAt).toBe(at(5))
      expect(store.runs.currentFor(1)).toBeNull()
      expect(store.runs.currentPerHost().map((r) => r.id)).toEqual([5])
    } finally {
      store.close()
    }
  })
})

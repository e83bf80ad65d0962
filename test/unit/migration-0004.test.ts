// Schema 3 -> 4 on real rows: each step's output becomes the first chunk of
// the run's append-only output log, runs gain an attempt count, and the
// states a cancel needs are allowed. Nothing is lost.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate4-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'

function seedVersion3(): void {
  const db = openDatabase(file, { version: 3 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, created_at, updated_at)
     VALUES (1, 'failed', ?, ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO runs (id, host_id, host_name, target, state, error, plan, created_at, started_at, finished_at)
     VALUES (1, 1, 'esx01.lab.local', '10.0.0.11', 'failed', 'NTP refused', '[]', ?, ?, ?)`,
  ).run(T, T, T)
  const step = db.prepare(
    `INSERT INTO run_steps (id, run_id, seq, key, title, state, output, error, started_at, finished_at)
     VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  step.run(1, 0, 'connect', 'Connect', 'done', 'connected to 10.0.0.11\n', null, T, T)
  step.run(
    2,
    1,
    'hostname',
    'Hostname',
    'done',
    '$ esxcli system hostname set\nverified\n',
    null,
    T,
    T,
  )
  step.run(3, 2, 'ntp', 'NTP', 'failed', 'refused\n', 'NTP refused', T, null)
  step.run(4, 3, 'syslog', 'Syslog', 'pending', '', null, null, null)
  db.close()
}

describe('schema 4: the run output log', () => {
  it('keeps every step’s output as a chunk, in order, and every run and step row', () => {
    seedVersion3()
    const store = Store.open(file)
    try {
      const run = store.runs.get(1)
      expect(run).toMatchObject({ state: 'failed', error: 'NTP refused', attempts: 1 })
      expect(run?.steps.map((s) => [s.key, s.state, s.output])).toEqual([
        ['connect', 'done', 'connected to 10.0.0.11\n'],
        ['hostname', 'done', '$ esxcli system hostname set\nverified\n'],
        ['ntp', 'failed', 'refused\n'],
        ['syslog', 'pending', ''],
      ])
      const chunks = store.runs.output(1, 0, 100)
      expect(chunks.map((c) => c.text)).toEqual([
        'connected to 10.0.0.11\n',
        '$ esxcli system hostname set\nverified\n',
        'refused\n',
      ])
      expect(run?.outputSeq).toBe(chunks.at(-1)?.seq)
      // A resumed run appends after what was migrated.
      const next = store.runs.appendOutput(1, 3, 'retried\n')
      expect(next).toBeGreaterThan(run?.outputSeq ?? Infinity)
    } finally {
      store.close()
    }
  })

  it('refuses to edit a chunk once written', () => {
    seedVersion3()
    const store = Store.open(file)
    store.close()
    const db = openDatabase(file)
    try {
      expect(() => db.prepare(`UPDATE run_output SET text = 'x'`).run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
  })
})

// Schema 7 -> 8 on real rows: runs gain the batch (bulk approval) they belong
// to. Runs made before it keep every column and belong to no batch; a run
// made after it carries its batch, and a batch's runs are listed together.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../main/core/store'
import { openDatabase } from '../../main/core/store/db'

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-migrate8-'))
  file = join(dir, 'midwife.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const T = '2026-01-01T00:00:00.000Z'

function seedVersion7(): void {
  const db = openDatabase(file, { version: 7 })
  db.prepare(
    `INSERT INTO hosts (id, state, state_changed_at, hostname, domain, mac, created_at, updated_at)
     VALUES (1, 'configured', ?, 'esx01', 'lab.local', '00:50:56:aa:bb:01', ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO runs (id, host_id, host_name, target, state, attempts, error, created_at,
       started_at, finished_at)
     VALUES (1, 1, 'esx01.lab.local', '10.0.0.11', 'done', 2, NULL, ?, ?, ?)`,
  ).run(T, T, T)
  db.prepare(
    `INSERT INTO run_steps (run_id, seq, key, title, state) VALUES
       (1, 1, 'connect', 'Connect', 'done'), (1, 2, 'dns', 'DNS', 'skipped'),
       (1, 3, 'ntp', 'NTP', 'failed')`,
  ).run()
  db.close()
}

describe('schema 8: runs belong to a batch', () => {
  it('keeps every run as it was, in no batch, and counts its steps', () => {
    seedVersion7()
    const store = Store.open(file)
    try {
      expect(store.runs.header(1)).toEqual({
        id: 1,
        checkinId: null,
        hostId: 1,
        hostName: 'esx01.lab.local',
        target: '10.0.0.11',
        state: 'done',
        error: null,
        attempts: 2,
        batchId: null,
        supersededAt: null,
        retryRefused: null,
        stepsTotal: 3,
        stepsDone: 2,
        createdAt: T,
        startedAt: T,
        finishedAt: T,
      })
      expect(store.runs.currentPerHost().map((r) => r.id)).toEqual([1])

      const made = ['b-1', 'b-1', null].map((batchId) =>
        store.runs.create({
          checkinId: null,
          hostId: 1,
          hostName: 'esx01.lab.local',
          target: '10.0.0.11',
          snapshot: {},
          sealedPassword: Buffer.from('x'),
          plan: [],
          steps: [{ key: 'connect', title: 'Connect' }],
          batchId,
        }),
      )
      expect(made.map((r) => r.batchId)).toEqual(['b-1', 'b-1', null])
      expect(store.runs.list({ batchId: 'b-1', limit: 10 }).runs.map((r) => r.id)).toEqual([3, 2])
      expect(store.runs.batchStates('b-1')).toEqual({ queued: 2 })
      expect(store.runs.currentPerHost().map((r) => r.id)).toEqual([4])
    } finally {
      store.close()
    }
  })
})

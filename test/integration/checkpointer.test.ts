// The WAL checkpointer: a worker thread with its own SQLite connection copies
// committed pages back into the database file, so the app's connection (the
// listener's thread) never does; if the worker cannot run, the app's
// connection checkpoints itself again.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { App } from '../../main/core/app'
import { Store } from '../../main/core/store'
import { Checkpointer } from '../../main/core/store/checkpointer'
import { openDatabase, type Db } from '../../main/core/store/db'
import { buildProbe } from '../support/probe'

const dirs: string[] = []
const dbs: Db[] = []
afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function freshDb(): { db: Db; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'midwife-ckpt-'))
  dirs.push(dir)
  const file = join(dir, 'midwife.db')
  const db = openDatabase(file)
  dbs.push(db)
  db.exec('CREATE TABLE blob_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)')
  return { db, file }
}

/** ~2 MB in 20 commits: far below the app connection's backstop, so only a checkpointer moves it. */
function write(db: Db): void {
  const insert = db.prepare('INSERT INTO blob_rows (body) VALUES (?)')
  for (let c = 0; c < 20; c++) {
    db.transaction(() => {
      for (let i = 0; i < 20; i++) insert.run(`${c}-${i}-`.padEnd(5_000, 'x'))
    })()
  }
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('Checkpointer', () => {
  it('copies committed pages into the database file from its worker, not the app connection', async () => {
    const { db, file } = freshDb()
    const checkpointer = Checkpointer.start(db, file)
    expect(checkpointer.running).toBe(true)
    // The app connection only checkpoints past a backstop now.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000)
    const before = statSync(file).size
    write(db)
    // Committed, but still only in the WAL.
    expect(statSync(file).size).toBe(before)
    const r = await checkpointer.checkpointNow()
    expect(r).not.toBeNull()
    expect(r?.log).toBeGreaterThan(200)
    expect(r?.checkpointed).toBe(r?.log)
    expect(statSync(file).size).toBeGreaterThan(before + 1_500_000)
    expect(db.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 400 })
    await checkpointer.stop()
    expect(checkpointer.running).toBe(false)
  })

  it('is told about commits and checkpoints soon after them, without being asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midwife-ckpt-'))
    dirs.push(dir)
    const file = join(dir, 'midwife.db')
    const store = Store.open(file)
    try {
      store.checkpointInBackground(file)
      const before = statSync(file).size
      for (let c = 0; c < 20; c++) {
        store.transaction(() => {
          for (let i = 0; i < 20; i++)
            store.events.append('test.bulk', null, { pad: 'x'.repeat(4_000) })
        })
      }
      expect(statSync(file).size).toBe(before)
      await until(() => statSync(file).size > before + 1_000_000)
    } finally {
      await store.shutdown()
    }
  })

  it('falls back to the app connection checkpointing itself when the worker cannot open the database', async () => {
    const { db, file } = freshDb()
    const checkpointer = Checkpointer.start(db, file, {
      nativeBinding: '/nonexistent/better_sqlite3.node',
    })
    await until(() => !checkpointer.running)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
    // The app goes on writing; SQLite checkpoints on its own again.
    write(db)
    expect(db.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 400 })
    expect(await checkpointer.checkpointNow()).toBeNull()
  })

  it('keeps its process alive until shutdown has closed the database', async () => {
    // The bench servers and the CLI end the process after shutdown resolves;
    // a shutdown that let the process end first skipped that, and the bench
    // left its gigabyte data folder behind on every run.
    const dir = mkdtempSync(join(tmpdir(), 'midwife-ckpt-'))
    dirs.push(dir)
    const probe = await buildProbe('shutdown-probe')
    try {
      const file = join(dir, 'midwife.db')
      const out = execFileSync(process.execPath, [probe.file, file], { encoding: 'utf8' })
      expect(out).toBe('closed\n')
      // Closed by its last connection: SQLite checkpointed the WAL and removed it.
      expect(existsSync(`${file}-wal`)).toBe(false)
    } finally {
      probe.remove()
    }
  })

  it('runs for a started app and stops with it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'midwife-ckpt-app-'))
    dirs.push(dataDir)
    const app = await App.start({
      dataDir,
      resourcesDir: join(process.cwd(), 'resources'),
      version: 'test',
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      listen: { host: '127.0.0.1', port: 0 },
    })
    const checkpointer = app.store.checkpointInBackground(join(dataDir, 'midwife.db'))
    expect(checkpointer.running).toBe(true)
    await app.stop()
    expect(checkpointer.running).toBe(false)
  })
})

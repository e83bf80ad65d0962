import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from './db'

/**
 * WAL frames (pages) the app's own connection lets pile up before it
 * checkpoints itself: SQLite's default while no checkpointer runs, and a
 * backstop (about 80 MB of 8 KiB pages) while one does.
 */
const OWN_CHECKPOINT_PAGES = 1000
const BACKSTOP_PAGES = 10_000

/** After a commit, the worker is told at most this often to look at the WAL. */
const POKE_MS = 50

/**
 * Runs in the worker, as a CommonJS script: its own connection to the same
 * file copies the WAL back into the database whenever it is told that there
 * were commits, and answers with SQLite's counts. PASSIVE: it never waits
 * for, or blocks, the app's writes.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.file, workerData.nativeBinding ? { nativeBinding: workerData.nativeBinding } : {})
db.pragma('busy_timeout = 5000')
db.pragma('synchronous = NORMAL')
db.pragma('wal_autocheckpoint = 0')
// A checkpoint copies frames from the WAL to the file; it needs no cache of its own.
db.pragma('cache_size = -64')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    parentPort.close()
    return
  }
  const [r] = checkpoint.all()
  parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed })
})
`

/**
 * Checkpoints a WAL database from a worker thread. A checkpoint copies every
 * page written since the last one back into the database file and waits for
 * an fsync: with the listener taking a rack's check-ins, that stalled the
 * event loop for 20-30 ms every ~2,000 check-ins, and every request waiting
 * on it saw the stall. The app's connection now never checkpoints while the
 * worker runs (beyond a backstop); if the worker cannot start or fails, the
 * connection checkpoints itself again, as SQLite does by default.
 */
export class Checkpointer {
  private worker: Worker | null = null
  private pokeTimer: NodeJS.Timeout | null = null

  private constructor(private readonly db: Db) {}

  static start(db: Db, file: string, opts: { nativeBinding?: string } = {}): Checkpointer {
    const c = new Checkpointer(db)
    if (file === ':memory:') return c
    try {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // It holds one connection and a few messages: a small heap keeps its memory small.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
        workerData: {
          module: createRequire(import.meta.url).resolve('better-sqlite3'),
          file,
          nativeBinding: opts.nativeBinding,
        },
      })
      // A checkpointer must never keep the process alive.
      worker.unref()
      worker.on('error', () => c.fallBack())
      worker.on('exit', () => c.fallBack())
      c.worker = worker
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`)
    } catch {
      // No worker: nothing was changed, and SQLite goes on checkpointing by itself.
    }
    return c
  }

  /** Whether the worker does the checkpoints (false: the app's connection does). */
  get running(): boolean {
    return this.worker !== null
  }

  /** Called after a commit: the worker looks at the WAL soon, once for many commits. */
  committed(): void {
    if (this.worker === null || this.pokeTimer !== null) return
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = null
      this.worker?.postMessage('checkpoint')
    }, POKE_MS)
    this.pokeTimer.unref()
  }

  /** Checkpoints now from the worker; resolves with what it reported (tests). */
  checkpointNow(): Promise<{ log: number; checkpointed: number } | null> {
    const worker = this.worker
    if (!worker) return Promise.resolve(null)
    return new Promise((resolve) => {
      // Whichever comes first settles it; the other listener is removed, not left behind.
      const done = (r: { log: number; checkpointed: number }) => {
        worker.off('exit', gone)
        resolve(r)
      }
      const gone = () => {
        worker.off('message', done)
        resolve(null)
      }
      worker.once('message', done)
      worker.once('exit', gone)
      worker.postMessage('checkpoint')
    })
  }

  /** Stops the worker; the app's connection checkpoints on close as usual. */
  async stop(): Promise<void> {
    if (this.pokeTimer) clearTimeout(this.pokeTimer)
    this.pokeTimer = null
    const worker = this.worker
    this.worker = null
    if (!worker) return
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve())
      // Unref'd, the worker would let the process end before it closes, and
      // shutdown would never resolve: whatever follows it (the app's own
      // connection closing, a CLI's or a bench's exit path) would not run.
      worker.ref()
      worker.postMessage('close')
    })
  }

  private fallBack(): void {
    if (this.worker === null) return
    this.worker = null
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${OWN_CHECKPOINT_PAGES}`)
  }
}

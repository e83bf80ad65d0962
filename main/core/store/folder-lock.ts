import Database from 'better-sqlite3'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * One Midwife per data folder. Two on one folder would both listen, both run
 * configuration on the same hosts, and the second's start would mark the
 * first's runs in progress as interrupted.
 *
 * The lock is SQLite's own exclusive lock on `midwife.lock`, held by an open
 * transaction for as long as Midwife runs: an OS file lock (fcntl, LockFileEx)
 * that the operating system releases when the process ends, however it ends
 * (kill -9, a power cut), so no stale lock file ever needs clearing by hand.
 * `midwife.owner` only says who holds it, for the message a second start gives.
 */
export class FolderLock {
  private constructor(
    private readonly db: Database.Database,
    private readonly ownerFile: string,
  ) {}

  /** Takes the folder's lock, or throws FolderInUse naming the Midwife that holds it. */
  static take(dir: string, opts: { nativeBinding?: string; what?: string } = {}): FolderLock {
    const db = new Database(join(dir, 'midwife.lock'), {
      // No waiting: the other Midwife holds it for as long as it runs.
      timeout: 0,
      ...(opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {}),
    })
    const ownerFile = join(dir, 'midwife.owner')
    try {
      db.exec('BEGIN EXCLUSIVE')
    } catch (err) {
      db.close()
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new FolderInUse(dir, ownerFile)
      throw err
    }
    const since = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    writeFileSync(ownerFile, `${process.pid} ${since} ${opts.what ?? 'Midwife'}\n`, {
      mode: 0o600,
    })
    return new FolderLock(db, ownerFile)
  }

  release(): void {
    if (!this.db.open) return
    rmSync(this.ownerFile, { force: true })
    this.db.close()
  }
}

export class FolderInUse extends Error {
  constructor(dir: string, ownerFile: string) {
    super(
      `another Midwife${owner(ownerFile)} is using the data folder ${dir}; ` +
        'stop it first, or give this one another folder with --data-dir',
    )
    this.name = 'FolderInUse'
  }
}

/** ' (serve mode, process 123, running since ...)' from the owner file, or '' when it says nothing usable. */
function owner(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return ''
  }
  const m = /^(\d+) (\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)Z ([\w -]{1,40})$/m.exec(text)
  if (!m) return ''
  const [, pid, day, time, what] = m
  return ` (${what}, process ${pid}, running since ${day} ${time} UTC)`
}

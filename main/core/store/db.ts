import Database from 'better-sqlite3'
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs'
import { migrations } from './migrations'

export type Db = Database.Database
export type Statement = Database.Statement

/** The database and its WAL files hold sealed secrets and evidence: owner only. */
const FILE_MODE = 0o600

function restrict(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, FILE_MODE)
  }
}

/**
 * Opens (creating if needed) a Midwife database and brings its schema up to
 * date (to `version`, by default the newest; tests stop earlier to migrate
 * real rows). `nativeBinding` points at a better-sqlite3 binary built for
 * another ABI (the desktop app in development runs Electron, not Node).
 */
export function openDatabase(
  file: string,
  opts: { nativeBinding?: string; version?: number } = {},
): Db {
  const created = file === ':memory:' || !existsSync(file)
  if (created && file !== ':memory:') refuseOrphanWal(file)
  if (file !== ':memory:') {
    // Created 0600 before SQLite sees it: SQLite gives its WAL files the same mode.
    if (created) closeSync(openSync(file, 'a', FILE_MODE))
    restrict(file)
  }
  const db = new Database(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {})
  try {
    if (!created) {
      refuseForeign(db, file)
      refuseDamaged(db, file)
    }
    // A check-in row (its raw report and what was read from it) is about 6 KiB:
    // 8 KiB pages keep it off overflow pages. Only a new file can choose.
    if (created) db.pragma('page_size = 8192')
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    // WAL + NORMAL is durable across application crashes; a committed check-in survives.
    db.pragma('synchronous = NORMAL')
    migrate(db, opts.version ?? migrations.length)
    db.pragma('foreign_keys = ON')
    if (file !== ':memory:') restrict(file)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * A WAL file with no database beside it holds that database's last writes
 * (midwife.db went missing, or was not copied back): SQLite would start a new
 * database and delete it.
 */
function refuseOrphanWal(file: string): void {
  const wal = `${file}-wal`
  if (!existsSync(wal) || statSync(wal).size === 0) return
  throw new Error(
    `${file} is missing, but ${wal} beside it holds a database's last writes: starting would throw them away. Put midwife.db back beside it, or move ${wal} out of the data folder to start empty`,
  )
}

const NOT_OVER_IT = 'Midwife will not start over it: move it out of the data folder'

/**
 * An existing file must be a Midwife database (or empty): one SQLite cannot
 * read, or one holding another program's tables, is refused before anything
 * is written, never migrated into or started over.
 */
function refuseForeign(db: Db, file: string): void {
  let version: number
  let tables: string[]
  try {
    version = db.pragma('user_version', { simple: true }) as number
    tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
      .pluck()
      .all() as string[]
  } catch (err) {
    throw new Error(
      `${file} cannot be read as a Midwife database (${(err as Error).message}). ${NOT_OVER_IT} (or restore a backup), or choose another one`,
      { cause: err },
    )
  }
  // Schema 1 and user_version 1 commit together: version 0 with tables is not ours.
  if (version === 0 && tables.length > 0) {
    const named = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '')
    throw new Error(
      `${file} is not a Midwife database: it holds tables Midwife did not make (${named}). ${NOT_OVER_IT}, or choose another one`,
    )
  }
}

/**
 * A file SQLite finds damaged (a disk error, a copy taken while it was written) is refused
 * before anything is written to it: writing on would bury what a salvage could still read, and
 * its errors would otherwise surface later, one screen or check-in at a time. quick_check reads
 * every page (about 0.3 s per 400 MB when cached, a few seconds from a cold disk).
 */
function refuseDamaged(db: Db, file: string): void {
  let found: string[]
  try {
    found = (db.pragma('quick_check(3)') as { quick_check: string }[]).map((r) => r.quick_check)
  } catch (err) {
    found = [(err as Error).message]
  }
  if (found.length === 1 && found[0] === 'ok') return
  const said = found
    .flatMap((f) => f.split('\n'))
    .filter((line) => line !== '' && !line.startsWith('*** in database'))
    .map((line) => `"${line}"`)
    .join(', ')
  throw new Error(
    `${file} is damaged: SQLite's check found ${said}. ` +
      'Midwife will not start on it, so nothing more is written to it: restore the data folder ' +
      'from a backup (midwife.db with the secret.key beside it), or salvage what it holds with ' +
      "SQLite's .recover command",
  )
}

/**
 * Opens an existing Midwife database without writing to it or migrating it,
 * for checks run beside (or instead of) the app: its schema must be at least
 * `minVersion`, and not newer than this build knows.
 */
export function openReadOnly(
  file: string,
  minVersion: number,
  opts: { nativeBinding?: string } = {},
): Db {
  if (!existsSync(file)) throw new Error(`there is no Midwife database at ${file}`)
  const db = new Database(file, {
    readonly: true,
    fileMustExist: true,
    ...(opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {}),
  })
  try {
    refuseForeign(db, file)
    refuseDamaged(db, file)
  } catch (err) {
    db.close()
    throw err
  }
  const version = db.pragma('user_version', { simple: true }) as number
  const problem =
    version > migrations.length
      ? `${file} was written by a newer Midwife (schema ${version}, this build knows ${migrations.length})`
      : version < minVersion
        ? `${file} is at schema ${version}; start this Midwife once to upgrade it (schema ${minVersion} or later is needed)`
        : null
  if (problem) {
    db.close()
    throw new Error(problem)
  }
  return db
}

/**
 * Foreign keys are off while migrating (SQLite's table-rebuild procedure: a
 * DROP TABLE would otherwise null every reference to it) and checked before
 * each version commits.
 */
function migrate(db: Db, target: number): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(
      `this data folder was written by a newer Midwife (schema ${current}, this build knows ${migrations.length})`,
    )
  }
  db.pragma('foreign_keys = OFF')
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      ;(migrations[v] as (db: Db) => void)(db)
      const broken = db.pragma('foreign_key_check') as unknown[]
      if (broken.length > 0) {
        throw new Error(`schema ${v + 1} leaves ${broken.length} broken references`)
      }
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}

/**
 * Prepared statements are compiled once per connection and reused: preparing
 * costs more than running a small statement, and the listener runs the same
 * few statements for every check-in.
 */
export function statements(db: Db): (sql: string) => Statement {
  const cache = new Map<string, Statement>()
  return (sql) => {
    let s = cache.get(sql)
    if (!s) {
      s = db.prepare(sql)
      cache.set(sql, s)
    }
    return s
  }
}

export function now(): string {
  return new Date().toISOString()
}

import Database from 'better-sqlite3'
import { migrations } from './migrations'

export type Db = Database.Database

/**
 * Opens (creating if needed) a Midwife database and brings its schema up to
 * date. `nativeBinding` points at a better-sqlite3 binary built for another
 * ABI (the desktop app in development runs Electron, not Node).
 */
export function openDatabase(file: string, nativeBinding?: string): Db {
  const db = new Database(file, nativeBinding ? { nativeBinding } : {})
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    // WAL + NORMAL is durable across application crashes; a committed check-in survives.
    db.pragma('synchronous = NORMAL')
    migrate(db)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(
      `this data folder was written by a newer Midwife (schema ${current}, this build knows ${migrations.length})`,
    )
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] as string)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}

export function now(): string {
  return new Date().toISOString()
}

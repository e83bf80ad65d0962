// `midwife backup`: a data folder's database and key file, copied as a consistent pair while
// Midwife runs or not, into a new owner-only folder; the copy is checked before it is called one.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { verification } from './audit/audit-service'
import { Store } from './store'

export interface BackupResult {
  /** What to tell the operator, line by line. */
  lines: string[]
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/**
 * Copies `dataDir`'s midwife.db (SQLite's online backup: one consistent snapshot, the running
 * Midwife keeps going) and secret.key into `to`, which must be new or empty, then checks the
 * copy's audit chain. Refuses, leaving `to` as it was, a source that is missing, foreign or
 * damaged.
 */
export async function backupDataFolder(
  dataDir: string,
  to: string,
  opts: { nativeBinding?: string } = {},
): Promise<BackupResult> {
  const source = join(dataDir, 'midwife.db')
  if (resolve(to) === resolve(dataDir)) {
    throw new Error('--to names the data folder itself; give a new or empty folder for the backup')
  }
  if (existsSync(to)) {
    if (!statSync(to).isDirectory())
      throw new Error(`${to} is a file; give a folder for the backup`)
    if (readdirSync(to).length > 0) {
      throw new Error(
        `${to} already holds files, and a backup never overwrites one; give a new or empty folder`,
      )
    }
  }
  if (!existsSync(source)) throw new Error(`there is no Midwife database at ${source}`)
  // A folder made here is owner-only, and removed again if the backup is refused.
  const made = !existsSync(to)
  if (made) mkdirSync(to, { recursive: true, mode: 0o700 })
  const copy = join(to, 'midwife.db')
  const key = join(dataDir, 'secret.key')
  const hasKey = existsSync(key)
  let bytes: number
  let schema: number
  let audit: ReturnType<typeof verification>
  try {
    ;({ bytes, schema } = await Store.backupFile(source, copy, opts))
    if (hasKey) {
      copyFileSync(key, join(to, 'secret.key'))
      chmodSync(join(to, 'secret.key'), 0o600)
    }
    audit = verification(Store.verifyAuditFile(copy, opts))
  } catch (err) {
    if (made) rmSync(to, { recursive: true, force: true })
    else for (const f of ['midwife.db', 'secret.key']) rmSync(join(to, f), { force: true })
    throw err
  }
  return {
    lines: [
      `Backed up ${source} (${mib(bytes)}, schema ${schema})${hasKey ? ' and secret.key' : ''} to ${to}.`,
      hasKey
        ? 'Keep them together: the secrets in the database open only with that secret.key (or, for the desktop app, with this user’s OS keychain).'
        : 'There is no secret.key beside the database: secrets the desktop app sealed with the OS keychain open only for this user on this machine.',
      `The copy's audit log: ${audit.message}.`,
      'To restore: stop Midwife, move midwife.db, midwife.db-wal and midwife.db-shm out of the data folder, then copy midwife.db and secret.key from the backup into it.',
    ],
  }
}

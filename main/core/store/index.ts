import Database from 'better-sqlite3'
import { chmodSync, closeSync, openSync, rmSync, statSync } from 'node:fs'
import type { HostState } from '../../contract/lifecycle'
import { canMove, IllegalTransition, TRANSITIONS } from '../lifecycle/table'
import { CheckinsTable } from './checkins'
import { Checkpointer } from './checkpointer'
import { openDatabase, openReadOnly, type Db } from './db'
import { EventLog, type ChainCheck } from './events'
import { GenericInstallsTable } from './generic-installs'
import { HostsTable } from './hosts'
import { migrations } from './migrations'
import { updateToSchemaVersion6 } from './migrations/0006-audit-chain'
import { RunsTable } from './runs'
import { SettingsTable } from './settings'

export { CheckinReport, uniqueBy } from './checkins'
export type { NewCheckin } from './checkins'
export type {
  DefinitionFields,
  HostRecord,
  SealedHostSecrets,
  StoredDefinition,
  StoredSpec,
} from './hosts'
export type { InterruptedRun, NewRun } from './runs'
export type { GenericInstallRecord } from './generic-installs'
export { defaultSettings } from './settings'
export { GENESIS_HASH, type ChainBreak, type ChainCheck, type EventRow } from './events'
export type { SiteSecretName } from './settings'

/** The schema that chained the audit log: a database before it has no hashes to check. */
const AUDIT_CHAINED = migrations.indexOf(updateToSchemaVersion6) + 1

/** The only door to SQLite: named operations per table, no SQL outside this folder. */
export class Store {
  readonly settings: SettingsTable
  readonly hosts: HostsTable
  readonly checkins: CheckinsTable
  readonly runs: RunsTable
  readonly events: EventLog
  readonly genericInstalls: GenericInstallsTable

  /**
   * One transaction wrapper for every call: building one per call cost more
   * than committing a check-in. Called inside another, it is a savepoint.
   */
  private readonly inTransaction: (fn: () => unknown) => unknown

  private constructor(private readonly db: Db) {
    this.inTransaction = db.transaction((fn: () => unknown) => fn())
    this.settings = new SettingsTable(db)
    this.hosts = new HostsTable(db, () => this.checkins.forgetLatest())
    this.checkins = new CheckinsTable(db)
    this.runs = new RunsTable(db)
    this.events = new EventLog(db)
    this.genericInstalls = new GenericInstallsTable(db)
  }

  static open(file: string, opts: { nativeBinding?: string; version?: number } = {}): Store {
    return new Store(openDatabase(file, opts))
  }

  /**
   * Checks the audit chain of a database file without opening it for writing
   * (\`midwife audit verify\` may run beside a running Midwife, or on a copy).
   */
  static verifyAuditFile(file: string, opts: { nativeBinding?: string } = {}): ChainCheck {
    const db = openReadOnly(file, AUDIT_CHAINED, opts)
    try {
      return new EventLog(db).verify()
    } finally {
      db.close()
    }
  }

  /**
   * Every sealed secret the hosts and the site hold: root passwords, tokens, site secrets, and
   * the secret settings of host definitions and the profile.
   */
  *sealedSecrets(): Generator<Buffer> {
    const rows = this.db
      .prepare(
        `SELECT root_password AS b FROM hosts WHERE root_password IS NOT NULL
         UNION ALL SELECT token FROM hosts WHERE token IS NOT NULL
         UNION ALL SELECT sealed FROM site_secrets`,
      )
      .pluck()
      .iterate() as IterableIterator<Buffer>
    yield* rows
    // Secret settings (a licence key) sit sealed inside a host's or the profile's spec, as
    // {"$sealed": "<base64>"}; an empty one stands for a value given but not yet sealed.
    const inSpecs = this.db
      .prepare(
        `SELECT json_extract(s.value, '$."$sealed"') FROM
           (SELECT spec FROM hosts UNION ALL SELECT spec FROM site_profile) AS t, json_each(t.spec) AS s
         WHERE s.type = 'object' AND json_extract(s.value, '$."$sealed"') <> ''`,
      )
      .pluck()
      .iterate() as IterableIterator<string>
    for (const b64 of inSpecs) yield Buffer.from(b64, 'base64')
  }

  /**
   * Copies a database file to `dest` with SQLite's online backup, as one consistent snapshot
   * even while a running Midwife writes to it (the copy holds every commit up to a moment, none
   * half). The source is opened read-only and checked as \`audit verify\` checks it; `dest`
   * must not exist yet, and is created owner-only.
   */
  static async backupFile(
    file: string,
    dest: string,
    opts: { nativeBinding?: string } = {},
  ): Promise<{ bytes: number; schema: number }> {
    const db = openReadOnly(file, 1, opts)
    try {
      closeSync(openSync(dest, 'wx', 0o600))
      try {
        await db.backup(dest)
      } catch (err) {
        // Half a copy is no backup: nothing is left to be taken for one.
        rmSync(dest, { force: true })
        rmSync(`${dest}-journal`, { force: true })
        throw err
      }
      // One self-contained file: the copy says rollback journal (a start switches it back to WAL),
      // so reading it leaves no -wal or -shm beside it.
      const copy = new Database(
        dest,
        opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {},
      )
      copy.pragma('journal_mode = DELETE')
      copy.close()
      chmodSync(dest, 0o600)
      return {
        bytes: statSync(dest).size,
        schema: db.pragma('user_version', { simple: true }) as number,
      }
    } finally {
      db.close()
    }
  }

  /** Runs `fn` in one SQLite transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T {
    let result: T
    try {
      result = this.inTransaction(fn) as T
    } catch (err) {
      // Rolled back (this savepoint or all of it): cached writes may not be on disk.
      this.checkins.forgetLatest()
      throw err
    }
    if (!this.db.inTransaction) {
      this.checkins.committed()
      this.checkpointer?.committed()
    }
    return result
  }

  private checkpointer: Checkpointer | null = null

  /**
   * From now on a worker thread checkpoints the WAL (the running app; tests
   * and one-off tools leave it to SQLite). `file` is this store's file.
   */
  checkpointInBackground(file: string, opts: { nativeBinding?: string } = {}): Checkpointer {
    this.checkpointer ??= Checkpointer.start(this.db, file, opts)
    return this.checkpointer
  }

  /**
   * The only way a host changes state. In one transaction: the move is checked
   * against the lifecycle table, `also` makes the writes that go with it (a
   * binding, an attention record), and the audit log records from, to and why.
   * A move the table does not allow throws IllegalTransition and writes nothing.
   */
  moveHost(
    id: number,
    to: HostState,
    reason: string,
    audit: Record<string, unknown> = {},
    also?: () => void,
  ): void {
    this.transaction(() => {
      const host = this.hosts.get(id)
      if (!host) throw new Error(`host ${id} does not exist`)
      if (!canMove(host.state, to)) {
        const allowed = TRANSITIONS[host.state]
        throw new IllegalTransition(
          host.state,
          to,
          `a host that is ${host.state.replace('_', ' ')} cannot become ${to.replace('_', ' ')}` +
            (allowed.length ? ` (from ${host.state} it can become: ${allowed.join(', ')})` : ''),
        )
      }
      also?.()
      this.hosts.setState(id, to, reason)
      this.events.append('host.state', `host:${id}`, { ...audit, from: host.state, to, reason })
    })
  }

  /**
   * A finding about a host that stays in its state (the Secure Boot path
   * failed at a step, say): its reason is rewritten and the finding audited,
   * in one transaction. `expected` guards against a host that moved meanwhile:
   * then nothing is written and false is returned.
   */
  noteHost(
    id: number,
    expected: HostState,
    reason: string,
    event: string,
    audit: Record<string, unknown>,
    also?: () => void,
  ): boolean {
    return this.transaction(() => {
      const host = this.hosts.get(id)
      if (!host || host.state !== expected) return false
      also?.()
      this.hosts.setStateReason(id, reason)
      this.events.append(event, `host:${id}`, { ...audit, state: expected, reason })
      return true
    })
  }

  /** Stops the checkpointer (if any), then closes the database. */
  async shutdown(): Promise<void> {
    await this.checkpointer?.stop()
    this.checkpointer = null
    this.close()
  }

  close(): void {
    // A checkpointer still running (a close without shutdown) is stopped, not awaited.
    void this.checkpointer?.stop()
    this.checkpointer = null
    if (this.db.open) this.db.close()
  }
}

import { CheckinsTable } from './checkins'
import { openDatabase, type Db } from './db'
import { EventLog } from './events'
import { HostsTable } from './hosts'
import { RunsTable } from './runs'
import { SettingsTable } from './settings'

export { CheckinReport } from './checkins'
export type { NewCheckin } from './checkins'
export type { HostFields, SealedHostSecrets } from './hosts'
export type { NewRun } from './runs'
export { defaultSettings } from './settings'

/** The only door to SQLite: named operations per table, no SQL outside this folder. */
export class Store {
  readonly settings: SettingsTable
  readonly hosts: HostsTable
  readonly checkins: CheckinsTable
  readonly runs: RunsTable
  readonly events: EventLog

  private constructor(private readonly db: Db) {
    this.settings = new SettingsTable(db)
    this.hosts = new HostsTable(db)
    this.checkins = new CheckinsTable(db)
    this.runs = new RunsTable(db)
    this.events = new EventLog(db)
  }

  static open(file: string, opts: { nativeBinding?: string } = {}): Store {
    return new Store(openDatabase(file, opts.nativeBinding))
  }

  /** Runs `fn` in one SQLite transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}

// Servers the generic kickstart installed, by the MAC they booted from: while
// one is kept, its per-MAC HTTP boot files boot the local disk.
import { z } from 'zod'
import { statements, type Db } from './db'

/** What the installer read of the server, as kept. */
const Report = z.object({
  macs: z.array(z.string()),
  serial: z.string().nullable(),
  uuid: z.string().nullable(),
})

const Row = z.object({
  boot_mac: z.string(),
  installed_at: z.string(),
  source_ip: z.string(),
  report: z.string(),
  repeats: z.number().int(),
})

export interface GenericInstallRecord extends z.infer<typeof Report> {
  bootMac: string
  installedAt: string
  sourceIp: string
  repeats: number
}

function toRecord(row: unknown): GenericInstallRecord {
  const r = Row.parse(row)
  return {
    bootMac: r.boot_mac,
    installedAt: r.installed_at,
    sourceIp: r.source_ip,
    repeats: r.repeats,
    ...Report.parse(JSON.parse(r.report)),
  }
}

export class GenericInstallsTable {
  private readonly q: ReturnType<typeof statements>

  constructor(db: Db) {
    this.q = statements(db)
  }

  /** Stores a report; a second one for the same MAC replaces what is kept and counts a repeat. */
  record(r: Omit<GenericInstallRecord, 'repeats'>): { repeat: boolean } {
    const report = JSON.stringify(Report.parse(r))
    const before = this.byMac(r.bootMac)
    this.q(
      `INSERT INTO generic_installs (boot_mac, installed_at, source_ip, report) VALUES (?, ?, ?, ?)
       ON CONFLICT (boot_mac) DO UPDATE SET installed_at = excluded.installed_at,
         source_ip = excluded.source_ip, report = excluded.report, repeats = repeats + 1`,
    ).run(r.bootMac, r.installedAt, r.sourceIp, report)
    return { repeat: before !== undefined }
  }

  byMac(bootMac: string): GenericInstallRecord | undefined {
    const row = this.q(
      'SELECT boot_mac, installed_at, source_ip, report, repeats FROM generic_installs WHERE boot_mac = ?',
    ).get(bootMac)
    return row === undefined ? undefined : toRecord(row)
  }

  /** Newest first. */
  list(): GenericInstallRecord[] {
    return this.q(
      `SELECT boot_mac, installed_at, source_ip, report, repeats FROM generic_installs
       ORDER BY installed_at DESC, boot_mac`,
    )
      .all()
      .map(toRecord)
  }

  /** Forgets one; false when it was not kept. */
  forget(bootMac: string): boolean {
    return this.q('DELETE FROM generic_installs WHERE boot_mac = ?').run(bootMac).changes > 0
  }
}

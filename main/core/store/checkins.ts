import { z } from 'zod'
import { Checkin, CheckinKind } from '../../contract/schemas'
type CheckinKindName = z.infer<typeof CheckinKind>
import { now, statements, type Db } from './db'

/** What Midwife understood from a check-in: derived once, at receipt, from the raw outputs. */
export const CheckinReport = Checkin.pick({
  managementIp: true,
  nics: true,
  bootMac: true,
  serial: true,
  uuid: true,
  vendor: true,
  model: true,
  esxiVersion: true,
  esxiBuild: true,
  reportedHostname: true,
  sshHostKeys: true,
})
export type CheckinReport = z.infer<typeof CheckinReport>

const Row = z.object({
  id: z.number().int(),
  host_id: z.number().int().nullable(),
  kind: CheckinKind,
  received_at: z.string(),
  last_seen_at: z.string(),
  repeats: z.number().int(),
  source_ip: z.string(),
  report: z.string(),
})

const COLUMNS = 'id, host_id, kind, received_at, last_seen_at, repeats, source_ip, report'

/**
 * Rows read back from disk are parsed, never trusted; NICs and keys are
 * de-duplicated here too, so a row stored by an older build cannot give a
 * screen two items with one key.
 */
function toCheckin(row: unknown): Checkin {
  const r = Row.parse(row)
  const report = CheckinReport.parse(JSON.parse(r.report))
  return {
    id: r.id,
    hostId: r.host_id,
    kind: r.kind,
    receivedAt: r.received_at,
    lastSeenAt: r.last_seen_at,
    repeats: r.repeats,
    sourceIp: r.source_ip,
    ...report,
    nics: uniqueBy(report.nics, (n) => n.name),
    sshHostKeys: uniqueBy(report.sshHostKeys, (k) => k.fingerprint),
  }
}

export function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>()
  return items.filter((i) => {
    const k = key(i)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

interface Latest {
  id: number
  digest: string
}

/** Hosts whose latest check-in is remembered (about 100 bytes each). */
const MAX_CACHED = 20_000

export interface NewCheckin {
  hostId: number
  kind: CheckinKindName
  sourceIp: string
  /** Identifies an identical report from the same address: it is counted, not stored again. */
  digest: string
  /** The payload as received, with every credential removed. */
  payload: string
  /** Built by the check-in parser from the payload, so not validated again here. */
  report: CheckinReport
}

export class CheckinsTable {
  private readonly q: ReturnType<typeof statements>

  /**
   * Each host's latest check-in (its id and digest), as committed: every
   * check-in asks for it to know whether it repeats the last one, and the
   * lookup cost as much as the insert. `written` holds what the open
   * transaction wrote; the Store moves it to `latest` when the transaction
   * commits, and forgets both if any transaction fails or check-ins change
   * hosts, so what is cached was always read from or written to disk.
   */
  private readonly latest = new Map<number, Latest>()
  private readonly written = new Map<number, Latest>()

  constructor(private readonly db: Db) {
    this.q = statements(db)
  }

  /** The open transaction committed: what it wrote is the latest now. */
  committed(): void {
    if (this.written.size === 0) return
    if (this.latest.size + this.written.size > MAX_CACHED) this.latest.clear()
    for (const [hostId, l] of this.written) this.latest.set(hostId, l)
    this.written.clear()
  }

  /** A host's latest check-in as just read or written: committed only if no transaction is open. */
  private remember(hostId: number, l: Latest): void {
    if (this.db.inTransaction) {
      this.written.set(hostId, l)
      return
    }
    if (this.latest.size >= MAX_CACHED) this.latest.clear()
    this.latest.set(hostId, l)
  }

  /** A transaction failed, or check-ins moved between hosts: read from disk again. */
  forgetLatest(): void {
    this.latest.clear()
    this.written.clear()
  }

  insert(c: NewCheckin): Checkin {
    const t = now()
    const info = this.q(
      `INSERT INTO checkins (host_id, kind, received_at, last_seen_at, source_ip, digest, payload,
         report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(c.hostId, c.kind, t, t, c.sourceIp, c.digest, c.payload, JSON.stringify(c.report))
    const id = Number(info.lastInsertRowid)
    this.remember(c.hostId, { id, digest: c.digest })
    return {
      id,
      hostId: c.hostId,
      kind: c.kind,
      receivedAt: t,
      lastSeenAt: t,
      repeats: 0,
      sourceIp: c.sourceIp,
      ...c.report,
    }
  }

  /** The host's latest check-in, if it carries this digest: the report is a repeat. */
  latestWithDigest(hostId: number, digest: string): number | undefined {
    let l = this.written.get(hostId) ?? this.latest.get(hostId)
    if (l === undefined) {
      l = this.q('SELECT id, digest FROM checkins WHERE host_id = ? ORDER BY id DESC LIMIT 1').get(
        hostId,
      ) as Latest | undefined
      // A host without check-ins is not cached: its first one is written through insert.
      if (l !== undefined) this.remember(hostId, l)
    }
    return l && l.digest === digest ? l.id : undefined
  }

  /** Counts a repeat of a stored check-in and returns it. */
  repeat(id: number): Checkin {
    this.q('UPDATE checkins SET repeats = repeats + 1, last_seen_at = ? WHERE id = ?').run(
      now(),
      id,
    )
    return this.get(id) as Checkin
  }

  get(id: number): Checkin | undefined {
    const row = this.q(`SELECT ${COLUMNS} FROM checkins WHERE id = ?`).get(id)
    return row === undefined ? undefined : toCheckin(row)
  }

  latestFor(hostId: number): Checkin | undefined {
    const row = this.q(
      `SELECT ${COLUMNS} FROM checkins WHERE host_id = ? ORDER BY id DESC LIMIT 1`,
    ).get(hostId)
    return row === undefined ? undefined : toCheckin(row)
  }

  listFor(hostId: number): Checkin[] {
    return this.q(`SELECT ${COLUMNS} FROM checkins WHERE host_id = ? ORDER BY id DESC`)
      .all(hostId)
      .map(toCheckin)
  }

  /** A discovered server's evidence follows it to the definition it is assigned to. */
  moveToHost(fromHostId: number, toHostId: number): void {
    this.forgetLatest()
    this.q('UPDATE checkins SET host_id = ? WHERE host_id = ?').run(toHostId, fromHostId)
  }

  count(): number {
    return (this.q('SELECT COUNT(*) AS n FROM checkins').get() as { n: number }).n
  }
}

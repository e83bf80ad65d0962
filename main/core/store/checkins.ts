import { z } from 'zod'
import { Checkin } from '../../contract/schemas'
import { now, type Db } from './db'

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
  received_at: z.string(),
  source_ip: z.string(),
  host_id: z.number().int().nullable(),
  host_name: z.string().nullable(),
  mac_matches: z.number().int(),
  report: z.string(),
  latest_run_id: z.number().int().nullable(),
  latest_run_state: z.string().nullable(),
})

const SELECT = `SELECT c.id, c.received_at, c.source_ip, c.host_id, c.mac_matches, c.report,
    CASE WHEN h.id IS NULL THEN NULL ELSE h.hostname || '.' || h.domain END AS host_name,
    r.id AS latest_run_id, r.state AS latest_run_state
  FROM checkins c
  LEFT JOIN hosts h ON h.id = c.host_id
  LEFT JOIN runs r ON r.id = (SELECT MAX(id) FROM runs WHERE checkin_id = c.id)`

function toCheckin(row: unknown): Checkin {
  const r = Row.parse(row)
  const report = CheckinReport.parse(JSON.parse(r.report))
  const macMatches = r.mac_matches === 1
  let note: string
  if (r.host_id === null) note = 'the host definition this check-in matched was deleted'
  else if (macMatches) note = `token and MAC match ${r.host_name}`
  else note = `token matches ${r.host_name}, but none of the reported MACs is its MAC`
  return {
    id: r.id,
    receivedAt: r.received_at,
    sourceIp: r.source_ip,
    hostId: r.host_id,
    hostName: r.host_name,
    match: { byToken: r.host_id !== null, macMatches, note },
    ...report,
    latestRunId: r.latest_run_id,
    latestRunState: r.latest_run_state,
  }
}

export interface NewCheckin {
  sourceIp: string
  hostId: number
  macMatches: boolean
  /** The payload as received, without its token. */
  payload: unknown
  report: CheckinReport
}

export class CheckinsTable {
  constructor(private readonly db: Db) {}

  insert(c: NewCheckin): Checkin {
    const info = this.db
      .prepare(
        `INSERT INTO checkins (received_at, source_ip, host_id, mac_matches, payload, report)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        now(),
        c.sourceIp,
        c.hostId,
        c.macMatches ? 1 : 0,
        JSON.stringify(c.payload),
        JSON.stringify(CheckinReport.parse(c.report)),
      )
    return this.get(Number(info.lastInsertRowid)) as Checkin
  }

  get(id: number): Checkin | undefined {
    const row = this.db.prepare(`${SELECT} WHERE c.id = ?`).get(id)
    return row === undefined ? undefined : toCheckin(row)
  }

  list(limit = 500): Checkin[] {
    return this.db.prepare(`${SELECT} ORDER BY c.id DESC LIMIT ?`).all(limit).map(toCheckin)
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM checkins').get() as { n: number }).n
  }
}

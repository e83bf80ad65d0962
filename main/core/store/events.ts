import { z } from 'zod'
import { now, type Db } from './db'

export const EventRow = z.object({
  id: z.number(),
  at: z.string(),
  type: z.string(),
  subject: z.string().nullable(),
  data: z.string().transform((s) => JSON.parse(s) as unknown),
})
export type EventRow = z.output<typeof EventRow>

/** The append-only audit trail. Callers never put secrets in `data`. */
export class EventLog {
  constructor(private readonly db: Db) {}

  append(type: string, subject: string | null, data: unknown = {}): void {
    this.db
      .prepare('INSERT INTO events (at, type, subject, data) VALUES (?, ?, ?, ?)')
      .run(now(), type, subject, JSON.stringify(data))
  }

  list(limit = 200): EventRow[] {
    const rows = this.db.prepare('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(limit)
    return z.array(EventRow).parse(rows)
  }
}

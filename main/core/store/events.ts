import { z } from 'zod'
import { now, statements, type Db } from './db'

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
  private readonly q: ReturnType<typeof statements>

  constructor(db: Db) {
    this.q = statements(db)
  }

  append(type: string, subject: string | null, data: unknown = {}): void {
    this.q('INSERT INTO events (at, type, subject, data) VALUES (?, ?, ?, ?)').run(
      now(),
      type,
      subject,
      JSON.stringify(data),
    )
  }

  list(limit = 200): EventRow[] {
    const rows = this.q('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(limit)
    return z.array(EventRow).parse(rows)
  }

  /** One subject's entries, oldest first (`host:12`, `run:3`). */
  about(subject: string): EventRow[] {
    const rows = this.q('SELECT * FROM events WHERE subject = ? ORDER BY id').all(subject)
    return z.array(EventRow).parse(rows)
  }
}

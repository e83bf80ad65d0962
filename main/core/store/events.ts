import { createHash } from 'node:crypto'
import { z } from 'zod'
import { now, statements, type Db } from './db'

/** What the first entry links to. */
export const GENESIS_HASH = '0'.repeat(64)

/** An entry as stored: its data is the JSON text the hash covers, byte for byte. */
const StoredEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  type: z.string(),
  subject: z.string().nullable(),
  data: z.string(),
  prev_hash: z.string(),
  hash: z.string(),
})
type StoredEntry = z.output<typeof StoredEntry>

export const EventRow = StoredEntry.transform((r) => ({
  id: r.id,
  at: r.at,
  type: r.type,
  subject: r.subject,
  data: JSON.parse(r.data) as unknown,
  prevHash: r.prev_hash,
  hash: r.hash,
}))
export type EventRow = z.output<typeof EventRow>

/**
 * SHA-256 over the previous entry's hash and this entry's content as stored.
 * The content is a JSON array, so no two different entries encode alike.
 */
export function entryHash(
  prevHash: string,
  e: Pick<StoredEntry, 'id' | 'at' | 'type' | 'subject' | 'data'>,
): string {
  return createHash('sha256')
    .update(`${prevHash}\n${JSON.stringify([e.id, e.at, e.type, e.subject, e.data])}`)
    .digest('hex')
}

/** Where the chain stops being what was written, told for people. */
export interface ChainBreak {
  id: number
  at: string
  type: string
  subject: string | null
  reason: string
}

export interface ChainCheck {
  /** Entries checked (all of them when the chain holds; those before the break otherwise). */
  entries: number
  /** The last entry and its hash: write it down (a change ticket) to notice a truncated log later. */
  head: { id: number; hash: string } | null
  broken: ChainBreak | null
}

/**
 * The append-only audit trail, as a hash chain: each entry carries the hash of
 * the one before it. Triggers refuse UPDATE, DELETE and an entry that does not
 * link to the last one; verify() finds what a writer who got past them changed.
 * Callers never put secrets in `data`.
 */
export class EventLog {
  private readonly q: ReturnType<typeof statements>
  private readonly appendOne: (type: string, subject: string | null, data: string) => number

  constructor(db: Db) {
    this.q = statements(db)
    // IMMEDIATE: the last entry is read and the next written under one write lock.
    // Inside a caller's transaction it is a savepoint of it, so the entry lands or
    // rolls back with what it records.
    const tx = db.transaction((type: string, subject: string | null, data: string) => {
      const last = this.q('SELECT id, hash FROM events ORDER BY id DESC LIMIT 1').get() as
        { id: number; hash: string } | undefined
      const entry = { id: (last?.id ?? 0) + 1, at: now(), type, subject, data }
      const prevHash = last?.hash ?? GENESIS_HASH
      this.q(
        'INSERT INTO events (id, at, type, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(entry.id, entry.at, type, subject, data, prevHash, entryHash(prevHash, entry))
      return entry.id
    })
    this.appendOne = (type, subject, data) => tx.immediate(type, subject, data)
  }

  /** Appends an entry, chained to the last one; returns its id. */
  append(type: string, subject: string | null, data: unknown = {}): number {
    return this.appendOne(type, subject, JSON.stringify(data))
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

  /** A host's entries and those of its runs, oldest first. */
  aboutHost(hostId: number): EventRow[] {
    const rows = this.q(
      `SELECT * FROM events WHERE subject = ?
         OR subject IN (SELECT 'run:' || id FROM runs WHERE host_id = ?)
       ORDER BY id`,
    ).all(`host:${hostId}`, hostId)
    return z.array(EventRow).parse(rows)
  }

  /** The newest entry's id and hash, or null when the log is empty. */
  head(): { id: number; hash: string } | null {
    const row = this.q('SELECT id, hash FROM events ORDER BY id DESC LIMIT 1').get()
    return row === undefined ? null : z.object({ id: z.number(), hash: z.string() }).parse(row)
  }

  /** Walks the chain from the first entry and names the first one that is not as written. */
  verify(): ChainCheck {
    return verifyChain(this.q('SELECT * FROM events ORDER BY id').iterate())
  }
}

/** Checks a chain, oldest entry first, one row at a time (a log may be large). */
export function verifyChain(rows: Iterable<unknown>): ChainCheck {
  let prev = GENESIS_HASH
  let head: ChainCheck['head'] = null
  let entries = 0
  for (const row of rows) {
    const e = StoredEntry.parse(row)
    const reason =
      e.prev_hash !== prev
        ? head === null
          ? 'it should be the first entry, but it links to another before it: entries before it were removed'
          : `it does not link to entry ${head.id} before it: an entry between them was removed or inserted, or entry ${head.id} was rewritten with its hash`
        : entryHash(prev, e) !== e.hash
          ? 'its content no longer matches its hash: it was changed after it was written'
          : null
    if (reason) {
      return {
        entries,
        head,
        broken: { id: e.id, at: e.at, type: e.type, subject: e.subject, reason },
      }
    }
    prev = e.hash
    head = { id: e.id, hash: e.hash }
    entries++
  }
  return { entries, head, broken: null }
}

import type { EventListener, EventName, EventPayload } from '../contract/api'

/** An event as kept for screens that reconnect. */
interface Kept {
  seq: number
  event: EventName
  /**
   * An entity event keeps only its entity's id: a screen that catches up is
   * given the entity as it is now. Anything else keeps its payload, or a
   * function that builds it on first use.
   */
  id?: number
  payload?: unknown
}

type Replay<E extends EventName> = (id: number) => EventPayload<E> | null

/**
 * Fan-out of contract events to whichever transports are attached. Services
 * get this small interface, never a webContents or a socket. Every event gets
 * a sequence number, and the newest are kept so a screen that lost its
 * connection can ask for what it missed. A payload may be given as a
 * function: it is built only when someone listens.
 *
 * What is kept is small: an entity event (a host or a check-in changed) keeps
 * its id, not the record, and is replayed from the store as the entity is
 * now, once per entity however often it changed meanwhile. Keeping records
 * held thousands of them alive between garbage collections (a rack checking
 * in, a 10,000-host import), for screens that seldom reconnect.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>()
  private readonly kept: Kept[] = []
  private readonly replays = new Map<EventName, (id: number) => unknown>()
  private seq = 0

  /** `keep`: how many recent events (at least) are kept for eventsSince. */
  constructor(private readonly keep = 20_000) {}

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get listening(): boolean {
    return this.listeners.size > 0
  }

  /** The sequence number of the newest event. */
  get lastSeq(): number {
    return this.seq
  }

  /**
   * Declares `event` an entity event: `replay` gives the entity's payload as
   * it is now, or null when it is gone (its removal is an event of its own).
   */
  replayWith<E extends EventName>(event: E, replay: Replay<E>): void {
    this.replays.set(event, replay)
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E> | (() => EventPayload<E>)): void {
    this.send({ seq: ++this.seq, event, payload }, payload)
  }

  /** An event about entity `id`, of an event declared with replayWith. */
  emitEntity<E extends EventName>(
    event: E,
    id: number,
    payload: EventPayload<E> | (() => EventPayload<E>),
  ): void {
    if (!this.replays.has(event)) throw new Error(`${event} has no replay; use emit`)
    this.send({ seq: ++this.seq, event, id }, payload)
  }

  private send(kept: Kept, payload: unknown): void {
    this.kept.push(kept)
    // Trimmed a quarter at a time: dropping one from the front at every event
    // would move the whole array each time (20,000 entries per check-in).
    if (this.kept.length >= this.keep + Math.ceil(this.keep / 4))
      this.kept.splice(0, this.kept.length - this.keep)
    if (this.listeners.size === 0) return
    const value = typeof payload === 'function' ? (payload as () => unknown)() : payload
    if (kept.id === undefined) kept.payload = value
    for (const l of this.listeners) {
      try {
        l(kept.event, value as never, kept.seq)
      } catch {
        // One broken subscriber (a closed socket) must not stop the others.
      }
    }
  }

  /**
   * The events after `seq`, oldest first; complete is false when some were
   * already dropped (the screen must load everything again). An entity
   * appears once, at its newest event, with its state now.
   */
  since(seq: number): {
    complete: boolean
    events: Array<{ seq: number; event: string; payload: unknown }>
  } {
    const first = this.kept[0]?.seq ?? this.seq + 1
    const complete = seq >= first - 1 && seq <= this.seq
    if (!complete) return { complete, events: [] }
    const start = this.kept.findIndex((k) => k.seq > seq)
    const after = start === -1 ? [] : this.kept.slice(start)
    const newest = new Map<string, number>()
    for (const k of after) if (k.id !== undefined) newest.set(`${k.event}:${k.id}`, k.seq)
    const events: Array<{ seq: number; event: string; payload: unknown }> = []
    for (const k of after) {
      if (k.id === undefined) {
        const p = k.payload
        events.push({
          seq: k.seq,
          event: k.event,
          payload: typeof p === 'function' ? (p as () => unknown)() : p,
        })
        continue
      }
      if (newest.get(`${k.event}:${k.id}`) !== k.seq) continue
      const payload = this.replays.get(k.event)?.(k.id) ?? null
      if (payload !== null) events.push({ seq: k.seq, event: k.event, payload })
    }
    return { complete, events }
  }
}

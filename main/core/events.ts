import type { EventListener, EventName, EventPayload } from '../contract/api'

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
  private readonly replays = new Map<EventName, (id: number) => unknown>()
  private seq = 0

  /**
   * The newest `keep` events, in a ring indexed by seq % keep: each slot
   * holds the event's name (as an index into `names`) and its entity's id
   * (NaN for an event that is not about one entity). Nothing is allocated
   * per event: objects kept per event were promoted to the old generation
   * by the thousand while a rack checked in.
   */
  private readonly nameOf: Uint16Array
  private readonly idOf: Float64Array
  private readonly names: EventName[] = []
  private readonly nameIndex = new Map<EventName, number>()
  /** The payloads (or the functions that build them) of kept events that are not about one entity. */
  private readonly payloads = new Map<number, unknown>()

  /** `keep`: how many recent events are kept for eventsSince. */
  constructor(private readonly keep = 20_000) {
    this.nameOf = new Uint16Array(keep)
    this.idOf = new Float64Array(keep)
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The newest event's sequence number (0 before the first). */
  get current(): number {
    return this.seq
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
    const seq = this.keepEvent(event, NaN)
    this.payloads.set(seq, payload)
    this.send(seq, event, payload, true)
  }

  /** An event about entity `id`, of an event declared with replayWith. */
  emitEntity<E extends EventName>(
    event: E,
    id: number,
    payload: EventPayload<E> | (() => EventPayload<E>),
  ): void {
    if (!this.replays.has(event)) throw new Error(`${event} has no replay; use emit`)
    this.send(this.keepEvent(event, id), event, payload, false)
  }

  private keepEvent(event: EventName, id: number): number {
    const seq = ++this.seq
    let name = this.nameIndex.get(event)
    if (name === undefined) {
      name = this.names.push(event) - 1
      this.nameIndex.set(event, name)
    }
    const slot = seq % this.keep
    // The slot's previous event (keep events older) is dropped, and its payload with it.
    this.payloads.delete(seq - this.keep)
    this.nameOf[slot] = name
    this.idOf[slot] = id
    return seq
  }

  private send(seq: number, event: EventName, payload: unknown, keepsPayload: boolean): void {
    if (this.listeners.size === 0) return
    const value = typeof payload === 'function' ? (payload as () => unknown)() : payload
    if (keepsPayload) this.payloads.set(seq, value)
    for (const l of this.listeners) {
      try {
        l(event, value as never, seq)
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
    // Every event takes the next seq, so the ring holds the newest min(seq, keep).
    const first = this.seq - Math.min(this.seq, this.keep) + 1
    const complete = seq >= first - 1 && seq <= this.seq
    if (!complete) return { complete, events: [] }
    const newest = new Map<string, number>()
    for (let s = seq + 1; s <= this.seq; s++) {
      const id = this.idOf[s % this.keep] as number
      if (!Number.isNaN(id)) newest.set(`${this.nameOf[s % this.keep]}:${id}`, s)
    }
    const events: Array<{ seq: number; event: string; payload: unknown }> = []
    for (let s = seq + 1; s <= this.seq; s++) {
      const slot = s % this.keep
      const event = this.names[this.nameOf[slot] as number] as EventName
      const id = this.idOf[slot] as number
      if (Number.isNaN(id)) {
        const p = this.payloads.get(s)
        events.push({
          seq: s,
          event,
          payload: typeof p === 'function' ? (p as () => unknown)() : p,
        })
        continue
      }
      if (newest.get(`${this.nameOf[slot]}:${id}`) !== s) continue
      const payload = this.replays.get(event)?.(id) ?? null
      if (payload !== null) events.push({ seq: s, event, payload })
    }
    return { complete, events }
  }
}

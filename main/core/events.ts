import type { EventListener, EventName, EventPayload } from '../contract/api'

interface Kept {
  seq: number
  event: EventName
  /** The payload, or a function that builds it on first use. */
  payload: unknown
}

/**
 * Fan-out of contract events to whichever transports are attached. Services
 * get this small interface, never a webContents or a socket. Every event gets
 * a sequence number, and the newest are kept so a screen that lost its
 * connection can ask for what it missed. A payload may be given as a
 * function: it is built only when someone listens or asks.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>()
  private readonly kept: Kept[] = []
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

  emit<E extends EventName>(event: E, payload: EventPayload<E> | (() => EventPayload<E>)): void {
    const seq = ++this.seq
    this.kept.push({ seq, event, payload })
    // Trimmed a quarter at a time: dropping one from the front at every event
    // would move the whole array each time (20,000 entries per check-in).
    if (this.kept.length >= this.keep + Math.ceil(this.keep / 4))
      this.kept.splice(0, this.kept.length - this.keep)
    if (this.listeners.size === 0) return
    const value = typeof payload === 'function' ? payload() : payload
    this.kept[this.kept.length - 1] = { seq, event, payload: value }
    for (const l of this.listeners) {
      try {
        l(event, value, seq)
      } catch {
        // One broken subscriber (a closed socket) must not stop the others.
      }
    }
  }

  /**
   * The events after `seq`, oldest first; complete is false when some were
   * already dropped (the screen must load everything again).
   */
  since(seq: number): {
    complete: boolean
    events: Array<{ seq: number; event: string; payload: unknown }>
  } {
    const first = this.kept[0]?.seq ?? this.seq + 1
    const complete = seq >= first - 1 && seq <= this.seq
    const events = this.kept
      .filter((k) => k.seq > seq)
      .map((k) => ({
        seq: k.seq,
        event: k.event,
        payload: typeof k.payload === 'function' ? (k.payload as () => unknown)() : k.payload,
      }))
    return { complete, events: complete ? events : [] }
  }
}

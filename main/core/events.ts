import type { EventListener, EventName, EventPayload } from '../contract/api'

/**
 * Fan-out of contract events to whichever transports are attached. Services
 * get this small interface, never a webContents or a socket. A payload may be
 * given as a function: it is built only when someone listens.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>()

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get listening(): boolean {
    return this.listeners.size > 0
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E> | (() => EventPayload<E>)): void {
    if (this.listeners.size === 0) return
    const value = typeof payload === 'function' ? payload() : payload
    for (const l of this.listeners) {
      try {
        l(event, value)
      } catch {
        // One broken subscriber (a closed socket) must not stop the others.
      }
    }
  }
}

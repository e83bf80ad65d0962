import type { EventListener, EventName, EventPayload } from '../contract/api'

/**
 * Fan-out of contract events to whichever transports are attached. Services
 * get this small interface, never a webContents or a socket.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>()

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of this.listeners) {
      try {
        l(event, payload)
      } catch {
        // One broken subscriber (a closed socket) must not stop the others.
      }
    }
  }
}

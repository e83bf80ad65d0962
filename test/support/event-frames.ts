// What the page's event stream (serve mode's WebSocket) has carried, for e2e tests that wait for
// an event to reach the page before they let something else happen.
import type { Page, WebSocket } from 'playwright-core'

export interface EventFrames {
  /** Resolves once a frame holding every one of `parts` has reached the page (or already had). */
  seen(...parts: string[]): Promise<void>
}

/** Watches every frame the page's WebSockets receive from now on: call it before page.goto. */
export function watchEventFrames(page: Page): EventFrames {
  const frames: string[] = []
  const waiting: Array<{ parts: string[]; resolve: () => void }> = []
  const holds = (f: string, parts: string[]) => parts.every((p) => f.includes(p))
  page.on('websocket', (ws: WebSocket) => {
    ws.on('framereceived', (f) => {
      if (typeof f.payload !== 'string') return
      frames.push(f.payload)
      for (const w of waiting.splice(0)) {
        if (holds(f.payload, w.parts)) w.resolve()
        else waiting.push(w)
      }
    })
  })
  return {
    seen(...parts) {
      if (frames.some((f) => holds(f, parts))) return Promise.resolve()
      return new Promise((resolve) => waiting.push({ parts, resolve }))
    },
  }
}

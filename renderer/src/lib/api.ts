// The only file that knows which transport carries the API: IPC through the
// preload in the desktop app, HTTP + WebSocket in serve mode. Both speak the
// contract in main/contract, and both results are checked by its schemas.
import {
  createClient,
  events,
  methodNames,
  type Api,
  type EventName,
  type EventPayload,
  type PreloadApi,
} from '../../../main/contract/api'

declare global {
  interface Window {
    api?: PreloadApi
  }
}

export interface Transport {
  kind: 'ipc' | 'http'
  api: Api
  on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void
  /** Called with false when the event stream drops and true when it is back. */
  onConnection(callback: (connected: boolean) => void): void
}

function parseEvent<E extends EventName>(event: E, payload: unknown): EventPayload<E> | undefined {
  const r = events[event].safeParse(payload)
  if (!r.success) console.error(`ignored malformed "${event}" event`)
  return r.success ? (r.data as EventPayload<E>) : undefined
}

function ipcTransport(preload: PreloadApi): Transport {
  return {
    kind: 'ipc',
    api: createClient((name, args) => preload[name](...args)),
    on(event, callback) {
      return preload.onEvent(event, (p) => {
        const v = parseEvent(event, p)
        if (v !== undefined) callback(v)
      })
    },
    onConnection(callback) {
      callback(true)
    },
  }
}

function httpTransport(): Transport {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>()
  const connection = new Set<(connected: boolean) => void>()
  let delay = 500

  const open = () => {
    const ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`,
    )
    ws.onopen = () => {
      delay = 500
      for (const c of connection) c(true)
    }
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { event: EventName; payload: unknown }
      for (const l of listeners.get(msg.event) ?? []) l(msg.payload)
    }
    ws.onclose = () => {
      for (const c of connection) c(false)
      setTimeout(open, delay)
      delay = Math.min(delay * 2, 10_000)
    }
  }
  open()

  return {
    kind: 'http',
    api: createClient(async (name, args) => {
      const res = await fetch(`api/${name}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ args }),
      })
      if (res.status === 401)
        throw new Error('session expired: open the URL printed by `midwife serve`')
      return res.json()
    }),
    on(event, callback) {
      const set = listeners.get(event) ?? new Set()
      listeners.set(event, set)
      const l = (p: unknown) => {
        const v = parseEvent(event, p)
        if (v !== undefined) callback(v)
      }
      set.add(l)
      return () => set.delete(l)
    },
    onConnection(callback) {
      connection.add(callback)
    },
  }
}

export function connect(): Transport {
  const preload = window.api
  if (preload && methodNames.every((n) => typeof preload[n] === 'function'))
    return ipcTransport(preload)
  return httpTransport()
}

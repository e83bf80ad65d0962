// The only file that knows which transport carries the API: IPC through the
// preload in the desktop app, HTTP + WebSocket in serve mode. Both speak the
// contract in main/contract, and both results are checked by its schemas.
import { z } from 'zod'
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

/**
 * Why the UI lost Midwife: it restarted (this page's session is gone), it is
 * not answering, or the page was opened without the printed URL's token.
 */
export type Lost = 'restarted' | 'unreachable' | 'no_session'

export interface Transport {
  kind: 'ipc' | 'http'
  api: Api
  on<E extends EventName>(event: E, callback: (payload: EventPayload<E>) => void): () => void
  /** Called with false when the event stream drops and true when it is back. */
  onConnection(callback: (connected: boolean) => void): void
  /** Called once the page can tell that reconnecting will not help. */
  onLost(callback: (why: Lost) => void): void
  /**
   * After the event stream came back: replays what was missed, or calls
   * `reload` when that is no longer kept (load everything again).
   */
  onResync(reload: () => void): void
  /** Serve mode: a link for a server-side download (`download/...`), good for one use. */
  downloadUrl(path: string): Promise<string>
}

export function parseEvent<E extends EventName>(
  event: E,
  payload: unknown,
): EventPayload<E> | undefined {
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
    onLost() {
      // The desktop window lives and dies with the core: nothing to detect.
    },
    onResync() {
      // IPC does not drop events.
    },
    downloadUrl() {
      return Promise.reject(new Error('the desktop app saves files itself'))
    },
  }
}

/**
 * The session token: from the printed URL (then dropped from the address bar
 * and history), else from this origin's storage, which another port's pages
 * cannot read (unlike a cookie, which the browser sends to every port).
 */
function sessionToken(): string | null {
  const key = `midwife.session.${location.port}`
  const given = new URLSearchParams(location.search).get('token')
  if (given) {
    try {
      localStorage.setItem(key, given)
    } catch {
      // Storage refused (a locked-down browser): this tab still works until it reloads.
    }
    history.replaceState(null, '', location.pathname + location.hash)
    return given
  }
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

/**
 * What became of the Midwife that served this page: a 401 means a new process
 * holds the port (each start has a new session token, so this page's token is
 * worthless); no answer at all means it stopped or moved to another port.
 */
async function probe(auth: Record<string, string>): Promise<Exclude<Lost, 'no_session'> | 'up'> {
  try {
    const res = await fetch('api/getStatus', { method: 'POST', headers: auth, body: '{"args":[]}' })
    return res.status === 401 ? 'restarted' : 'up'
  } catch {
    return 'unreachable'
  }
}

/** serve mode's answer to POST /download-ticket. */
const Ticket = z.object({ ticket: z.string().regex(/^[\w-]+$/) })

function httpTransport(): Transport {
  const token = sessionToken()
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {}
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>()
  const connection = new Set<(connected: boolean) => void>()
  const lost = new Set<(why: Lost) => void>()
  const resync = new Set<() => void>()
  let delay = 500
  let failures = 0
  let gone = false
  /** The newest event seen, to ask for what was missed after a reconnect. */
  let lastSeq = 0
  let wasOpen = false

  const deliver = (msg: { event: EventName; payload: unknown; seq?: number }) => {
    if (msg.seq !== undefined) {
      if (msg.seq <= lastSeq) return
      lastSeq = msg.seq
    }
    for (const l of listeners.get(msg.event) ?? []) l(msg.payload)
  }

  const catchUp = async () => {
    try {
      const missed = await api.eventsSince(lastSeq)
      if (!missed.complete) {
        for (const r of resync) r()
        return
      }
      for (const e of missed.events)
        deliver(e as { event: EventName; payload: unknown; seq: number })
    } catch {
      for (const r of resync) r()
    }
  }

  const open = () => {
    if (token === null) {
      gone = true
      // Told once the page has set up its listeners.
      queueMicrotask(() => {
        for (const l of lost) l('no_session')
      })
      return
    }
    const ws = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`,
      ['midwife', `midwife.token.${token}`],
    )
    ws.onopen = () => {
      delay = 500
      failures = 0
      for (const c of connection) c(true)
      if (wasOpen) void catchUp()
      wasOpen = true
    }
    ws.onmessage = (m) => {
      deliver(JSON.parse(String(m.data)) as { event: EventName; payload: unknown; seq?: number })
    }
    ws.onclose = () => {
      for (const c of connection) c(false)
      void probe(auth).then((state) => {
        if (gone) return
        failures = state === 'up' ? 0 : failures + 1
        // A restart is certain at once; silence only after a few tries (a busy machine).
        if (state === 'restarted' || (state === 'unreachable' && failures >= 4)) {
          if (state === 'unreachable') watch()
          else gone = true
          for (const l of lost) l(state)
          return
        }
        setTimeout(open, delay)
        delay = Math.min(delay * 2, 10_000)
      })
    }
  }
  /**
   * Not answering: keep asking, slowly. A new Midwife on the same port ends
   * this page's session (say so); the same one back again reconnects.
   */
  const watch = () => {
    gone = true
    const again = () =>
      void probe(auth).then((state) => {
        if (state === 'unreachable') return void setTimeout(again, 5_000)
        if (state === 'restarted') {
          for (const l of lost) l('restarted')
          return
        }
        gone = false
        failures = 0
        delay = 500
        open()
      })
    setTimeout(again, 5_000)
  }
  const api = createClient(async (name, args) => {
    const res = await fetch(`api/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify({ args }),
    })
    if (res.status === 401)
      throw new Error('session expired: open the URL printed by `midwife serve`')
    return res.json()
  })
  open()

  return {
    kind: 'http',
    api,
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
    onLost(callback) {
      lost.add(callback)
    },
    onResync(reload) {
      resync.add(reload)
    },
    async downloadUrl(path) {
      const res = await fetch('download-ticket', { method: 'POST', headers: auth })
      if (res.status === 401)
        throw new Error('session expired: open the URL printed by `midwife serve`')
      const { ticket } = Ticket.parse(await res.json())
      return `${path}${path.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`
    },
  }
}

export function connect(): Transport {
  const preload = window.api
  if (preload && methodNames.every((n) => typeof preload[n] === 'function'))
    return ipcTransport(preload)
  return httpTransport()
}

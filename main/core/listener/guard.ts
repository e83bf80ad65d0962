import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { escapeControl, hasControl, type Logger } from '../log'

// What keeps an HTTP server standing whatever the network sends it: request
// targets parsed without a throw, every handler wrapped, upgrades and CONNECT
// answered, parser errors answered with a message, connections capped. It
// knows nothing of Midwife; the listener and serve mode both use it.

/** A request target in origin-form (`/path?query`), checked. */
export interface Target {
  /** The path as sent, percent-encoding kept, without the query. */
  path: string
  /** The path percent-decoded: valid UTF-8, no control character, no dot segment. */
  decodedPath: string
  /** Parsed when first read: only serve mode reads it, the listener never does. */
  readonly query: URLSearchParams
}

/** A "." or ".." segment; backslash separates segments too (on Windows it does). */
const DOT_SEGMENT = /(?:^|[/\\])\.\.?(?:[/\\]|$)/

export type TargetResult = { ok: true; target: Target } | { ok: false; message: string }

/** Longer than any path Midwife serves, far shorter than Node's 16 KiB header limit. */
export const MAX_TARGET_LENGTH = 2048

const refused = (message: string): TargetResult => ({ ok: false, message })

/** Never throws: anything but a plain origin-form target is refused with the reason. */
export function parseTarget(raw: string | undefined, maxLength = MAX_TARGET_LENGTH): TargetResult {
  if (!raw) return refused('the request has no target')
  if (raw.length > maxLength) {
    return refused(`the request target is ${raw.length} characters long; the limit is ${maxLength}`)
  }
  if (hasControl(raw)) return refused('the request target holds a control character')
  if (!raw.startsWith('/')) {
    return refused('the request target must be a path starting with "/" (no absolute URL, no "*")')
  }
  if (raw.startsWith('//')) return refused('the request target must not start with "//"')
  if (raw.includes('#')) return refused('the request target holds a "#"')
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) {
    return refused('the request target has a "%" that is not followed by two hex digits')
  }
  const q = raw.indexOf('?')
  const path = q < 0 ? raw : raw.slice(0, q)
  let decodedPath = path
  if (path.includes('%')) {
    try {
      decodedPath = decodeURIComponent(path)
    } catch {
      return refused('the request path does not decode to UTF-8')
    }
    if (hasControl(decodedPath)) return refused('the request path decodes to a control character')
  }
  if (DOT_SEGMENT.test(decodedPath)) return refused('the request path holds a "." or ".." segment')
  return { ok: true, target: new CheckedTarget(path, decodedPath, q < 0 ? '' : raw.slice(q + 1)) }
}

/** A class, not an object literal with a getter: V8 builds those on a slow path. */
class CheckedTarget implements Target {
  private params: URLSearchParams | undefined

  constructor(
    readonly path: string,
    readonly decodedPath: string,
    private readonly search: string,
  ) {}

  get query(): URLSearchParams {
    return (this.params ??= new URLSearchParams(this.search))
  }
}

/**
 * The address a limit is counted against: IPv4 as is (also when mapped into
 * IPv6), IPv6 by its /64, because one machine can hold a whole /64.
 */
export function sourceKey(address: string | undefined): string {
  if (!address) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1] as string
  if (!address.includes(':')) return address
  const bare = address.replace(/%.*$/, '').toLowerCase()
  const [head = '', tail] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const gap = Math.max(0, 8 - left.length - right.length)
  const groups = tail === undefined ? left : [...left, ...Array<string>(gap).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g: string) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

export interface Refusal {
  status: number
  message: string
  headers?: Record<string, string>
}

/** A complete plain-text HTTP/1.1 answer for a socket no ServerResponse owns, then closed. */
export function refuseSocket(socket: Duplex, r: Refusal): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = `${r.message}\n`
  const head = [
    `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ]
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy())
}

/** The same answer through a ServerResponse; the connection closes after it. */
export function refuse(res: ServerResponse, r: Refusal): void {
  const body = `${r.message}\n`
  res.writeHead(r.status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    Connection: 'close',
    ...r.headers,
  })
  res.end(body)
}

/** A request body refused before it was read whole: too large, or cut off by the client. */
export class BodyRefused extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Reads a body of at most `limit` bytes. Past the limit it rejects with 413
 * at once and stops reading, so the answer can still reach the client; it
 * never buffers more than the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyRefused(413, `the body is ${declared} bytes; the limit is ${limit}`))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.pause()
        reject(new BodyRefused(413, `the body exceeds the limit of ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      // The request lives until it is answered (a check-in: after its group
      // commit); the chunks need not live with it.
      chunks.length = 0
      resolve(body)
    })
    req.on('error', () => reject(new BodyRefused(400, 'the connection closed mid-body')))
  })
}

export interface ConnectionCaps {
  /** Open connections one source (sourceKey) may hold. */
  perSource: number
  /** Open connections in all; past it the longest idle one is closed to make room. */
  total: number
}

export interface GuardOptions {
  /** Names the server in log lines. */
  name: string
  logger: Logger
  onRequest: (req: IncomingMessage, res: ServerResponse, target: Target) => unknown
  /** Takes over an upgrade with a checked target; without it every upgrade is refused. */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) => unknown
  /** Runs before anything else on each request and upgrade; a Refusal is answered and ends it. */
  admit?: (req: IncomingMessage) => Refusal | null
  /** Answers an error the handler did not expect, when nothing was sent yet. */
  onInternalError?: (res: ServerResponse) => void
  /** Masks secrets in a request path before it is logged. */
  redact?: (path: string) => string
  connections?: ConnectionCaps
}

/** How a target appears in a log line: no query (it may carry a session token), masked, short. */
function shown(raw: string | undefined, redact: (p: string) => string): string {
  const path = (raw ?? '').split('?')[0] as string
  const cut = path.length > 200 ? `${path.slice(0, 200)}…` : path
  return escapeControl(redact(cut))
}

/** Why Node's HTTP parser refused a request, in words a client can act on. */
function clientErrorRefusal(err: NodeJS.ErrnoException & { reason?: string }): Refusal {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request line and headers are too large' }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time' }
    default:
      return {
        status: 400,
        message: `not a valid HTTP/1.1 request${err.reason ? `: ${err.reason}` : ''}`,
      }
  }
}

/**
 * Installs every handler on `server` (create it without a request listener):
 * requests, upgrades, CONNECT and parser errors. Whatever a client sends, the
 * answer is a 4xx with a plain message; only an error of the server's own
 * reaches onInternalError, and nothing escapes to crash the process.
 */
export function guardServer(server: Server, o: GuardOptions): void {
  const redact = o.redact ?? ((p: string) => p)
  const from = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown'
  // The response in flight on each socket, so a parser error never writes into
  // the middle of an answer already under way.
  const current = new WeakMap<Duplex, ServerResponse>()
  const caps = o.connections ? capConnections(server, o.connections) : null

  /** The checked target, or why the request is refused before any handler sees it. */
  const check = (req: IncomingMessage): Target | Refusal => {
    const refusal = o.admit?.(req)
    if (refusal) return refusal
    const parsed = parseTarget(req.url)
    if (parsed.ok) return parsed.target
    o.logger.warn(
      `${o.name}: refused ${escapeControl(req.method ?? '?')} ${shown(req.url, redact)} from ${from(req)}: ${parsed.message}`,
    )
    return { status: 400, message: parsed.message }
  }

  const internal = (req: IncomingMessage, err: unknown) =>
    o.logger.error(
      `${o.name}: ${escapeControl(req.method ?? '?')} ${shown(req.url, redact)}: ${escapeControl(
        err instanceof Error ? err.message : String(err),
      )}`,
    )

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (caps?.refused.has(req.socket)) return
    current.set(req.socket, res)
    res.on('error', (err) => internal(req, err))
    const answerInternal = (err: unknown) => {
      internal(req, err)
      if (res.headersSent || res.destroyed) {
        res.destroy()
        return
      }
      try {
        if (o.onInternalError) o.onInternalError(res)
        else refuse(res, { status: 500, message: 'internal error' })
      } catch {
        res.destroy()
      }
    }
    try {
      const target = check(req)
      if ('status' in target) {
        refuse(res, target)
        return
      }
      Promise.resolve(o.onRequest(req, res, target)).catch(answerInternal)
    } catch (err) {
      answerInternal(err)
    }
  })

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The HTTP server drops its own error handler from an upgraded socket.
    socket.on('error', () => socket.destroy())
    if (caps?.refused.has(socket)) return
    const fail = (err: unknown) => {
      internal(req, err)
      socket.destroy()
    }
    try {
      const target = check(req)
      if ('status' in target) {
        refuseSocket(socket, target)
        return
      }
      if (!o.onUpgrade) {
        refuseSocket(socket, { status: 400, message: `the ${o.name} does not upgrade connections` })
        return
      }
      Promise.resolve(o.onUpgrade(req, socket, head, target)).catch(fail)
    } catch (err) {
      fail(err)
    }
  })

  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    refuseSocket(socket, { status: 400, message: `the ${o.name} is not a proxy` })
  })

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const res = current.get(socket)
    const midAnswer = res !== undefined && res.headersSent && !res.writableFinished
    if (err.code === 'ECONNRESET' || midAnswer || caps?.refused.has(socket)) socket.destroy()
    else refuseSocket(socket, clientErrorRefusal(err))
  })
}

/**
 * Counts connections per source and in total. A source over its cap is told
 * 429; at the total cap the longest-idle connection (no request in flight:
 * never sent anything, or kept alive after its answer) is closed for the
 * newcomer, so idle sockets cannot lock out a real client; only when every
 * connection is busy is the newcomer told 503.
 */
function capConnections(server: Server, caps: ConnectionCaps): { refused: WeakSet<Duplex> } {
  // Ordered by last activity (a connection moves to the end when an answer
  // completes), so the first idle entry is the one idle longest.
  const open = new Map<Socket, { source: string; busy: number }>()
  const perSource = new Map<string, number>()
  const refused = new WeakSet<Duplex>()

  const forget = (socket: Socket) => {
    const entry = open.get(socket)
    if (!entry) return
    open.delete(socket)
    const n = (perSource.get(entry.source) ?? 1) - 1
    if (n === 0) perSource.delete(entry.source)
    else perSource.set(entry.source, n)
  }
  // A slot frees up as soon as some answer is sent; a few seconds keeps
  // retries from hammering without keeping a real client waiting long.
  const turnAway = (socket: Socket, r: Refusal) => {
    refused.add(socket)
    refuseSocket(socket, { ...r, headers: { 'Retry-After': '5' } })
  }

  const longestIdle = () => {
    for (const [socket, e] of open) if (e.busy === 0) return socket
    return undefined
  }

  server.on('connection', (socket: Socket) => {
    const source = sourceKey(socket.remoteAddress)
    if ((perSource.get(source) ?? 0) >= caps.perSource) {
      turnAway(socket, {
        status: 429,
        message: `too many connections from ${socket.remoteAddress ?? source}; at most ${caps.perSource} at once`,
      })
      return
    }
    if (open.size >= caps.total) {
      const idle = longestIdle()
      if (!idle) {
        turnAway(socket, { status: 503, message: 'too many connections; try again shortly' })
        return
      }
      forget(idle)
      idle.destroy()
    }
    open.set(socket, { source, busy: 0 })
    perSource.set(source, (perSource.get(source) ?? 0) + 1)
    socket.once('close', () => forget(socket))
  })
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const entry = open.get(req.socket)
    if (!entry) return
    entry.busy++
    res.once('close', () => {
      entry.busy--
      if (open.delete(req.socket)) open.set(req.socket, entry)
    })
  })
  // An upgraded connection belongs to its new protocol: never idle to us.
  server.on('upgrade', (req: IncomingMessage) => {
    const entry = open.get(req.socket)
    if (entry) entry.busy++
  })
  return { refused }
}

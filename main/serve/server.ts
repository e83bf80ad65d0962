import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pipeline } from 'node:stream/promises'
import type { Duplex } from 'node:stream'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import { z } from 'zod'
import { ApiCallError, describeIssues, dispatch, type ApiHandlers } from '../contract/api'
import { DhcpFlavour, TftpBundleRequest } from '../contract/schemas'
import type { Download, DownloadRequest } from '../core/app'
import type { EventBus } from '../core/events'
import {
  BodyRefused,
  guardServer,
  readBody,
  refuse,
  refuseSocket,
  type Target,
} from '../core/listener/guard'
import { jsonProblem, type Logger } from '../core/log'
import { sameSecret } from '../core/secrets'

// The contract's largest argument is a 4 MB CSV, a little more once JSON-escaped.
const MAX_API_BODY = 6 * 1024 * 1024
/** How long a download ticket is good for: the browser follows its link at once. */
const TICKET_MS = 60_000
/** The WebSocket subprotocol the page speaks; the token rides beside it as `midwife.token.<token>`. */
const PROTOCOL = 'midwife'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}

/** An API call's body: `{ "args": [...] }`; what the arguments must be is the contract's business. */
const ApiBody = z.object({ args: z.unknown().optional() })

const DOWNLOAD_STATUS: Record<string, number> = { invalid: 400, not_found: 404, conflict: 409 }

/**
 * A download's URL as the boot-material screen links it:
 * /download/tftp-bundle.tar.gz?host=<id>&kinds=a,b&media=1 (no host: unknown
 * servers only) and /download/dhcp/<flavour>.
 */
export function downloadRequest(target: Target): DownloadRequest | string {
  const dhcp = /^\/download\/dhcp\/([\w-]+)$/.exec(target.path)
  if (dhcp) {
    const flavour = DhcpFlavour.safeParse(dhcp[1])
    return flavour.success
      ? { what: 'dhcp', flavour: flavour.data }
      : `no DHCP flavour "${dhcp[1] as string}"; known: ${DhcpFlavour.options.join(', ')}`
  }
  if (target.path !== '/download/tftp-bundle.tar.gz') return 'no such download'
  const q = target.query
  const host = q.get('host') ?? ''
  const kinds = q.get('kinds') ?? ''
  const parsed = TftpBundleRequest.safeParse({
    hostId: host === '' ? null : /^\d+$/.test(host) ? Number(host) : host,
    ...(kinds === '' ? {} : { kinds: kinds.split(',') }),
    includeMedia: q.get('media') === '1',
  })
  return parsed.success
    ? { what: 'tftp-bundle', request: parsed.data }
    : describeIssues(parsed.error)
}

export interface ServeOptions {
  handlers: ApiHandlers
  events: EventBus
  /** The built renderer (dist/renderer). */
  staticDir: string
  host?: string
  port?: number
  /** Fixed session token (tests); random otherwise. */
  token?: string
  logger: Logger
  /** The files the boot-material screen offers for download (App.download). */
  downloads?: (r: DownloadRequest) => Download | Promise<Download>
}

export interface RunningServe {
  /** Open this in a browser: it carries the session token. */
  url: string
  port: number
  token: string
  close(): Promise<void>
}

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost'
}

/** Why serve mode may not listen on `host`, or null when it may. */
export function serveHostProblem(host: string): string | null {
  return isLoopback(host)
    ? null
    : `serve mode listens on loopback only; ${host} is not a loopback address`
}

/**
 * The operator API over loopback HTTP + WebSocket, for a machine without an
 * Electron runtime. Same contract and same dispatch as the IPC binding; access
 * needs the session token printed at start. The page keeps it in its own
 * origin's storage and sends it with each call (an Authorization header; the
 * event stream's subprotocol list; a one-use ticket for a download link).
 * Never a cookie: a browser sends a 127.0.0.1 cookie to every port of
 * 127.0.0.1, so any other local server the browser visits would receive it.
 */
export function startServe(o: ServeOptions): Promise<RunningServe> {
  const host = o.host ?? '127.0.0.1'
  const problem = serveHostProblem(host)
  if (problem) return Promise.reject(new Error(problem))
  const token = o.token ?? randomBytes(24).toString('base64url')
  let port = 0
  /** One-use download tickets, each good for TICKET_MS. */
  const tickets = new Map<string, number>()

  const allowedHosts = () => [
    `127.0.0.1:${port}`,
    `localhost:${port}`,
    `[::1]:${port}`,
    `${host}:${port}`,
  ]
  const hostOk = (req: IncomingMessage) => allowedHosts().includes(req.headers.host ?? '')
  const originOk = (req: IncomingMessage) => {
    const origin = req.headers.origin
    return origin === undefined || allowedHosts().some((h) => origin === `http://${h}`)
  }
  const authed = (req: IncomingMessage) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    return bearer !== undefined && sameSecret(bearer, token)
  }
  /** The event stream: a browser cannot set its headers, so the page offers the token as a subprotocol. */
  const streamAuthed = (req: IncomingMessage) => {
    if (authed(req)) return true
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    const given = offered.find((p) => p.startsWith(`${PROTOCOL}.token.`))
    return (
      offered.includes(PROTOCOL) &&
      given !== undefined &&
      sameSecret(given.slice(`${PROTOCOL}.token.`.length), token)
    )
  }
  const issueTicket = () => {
    const now = Date.now()
    for (const [t, until] of tickets) if (until < now) tickets.delete(t)
    const ticket = randomBytes(24).toString('base64url')
    tickets.set(ticket, now + TICKET_MS)
    return ticket
  }
  const takeTicket = (ticket: string | null) => {
    const until = ticket === null ? undefined : tickets.get(ticket)
    if (ticket !== null) tickets.delete(ticket)
    return until !== undefined && until >= Date.now()
  }

  const csp = () =>
    [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      `connect-src 'self' ws://${host}:${port} ws://127.0.0.1:${port} ws://localhost:${port}`,
      "frame-ancestors 'none'",
      "form-action 'none'",
      "base-uri 'none'",
    ].join('; ')

  const plain = (res: ServerResponse, status: number, message: string) =>
    refuse(res, { status, message })

  async function serveStatic(res: ServerResponse, target: Target) {
    const rel = target.path === '/' ? 'index.html' : target.decodedPath.slice(1)
    const file = normalize(join(o.staticDir, rel))
    if (!file.startsWith(normalize(o.staticDir) + sep)) return plain(res, 404, 'not found')
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      return plain(res, 404, 'not found')
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': csp(),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    })
    res.end(body)
  }

  /** The arguments of an API call; a BodyRefused names what is wrong with the body. */
  async function readArgs(req: IncomingMessage): Promise<unknown> {
    const raw = await readBody(req, MAX_API_BODY)
    let json: unknown
    try {
      json = JSON.parse(raw.toString('utf8') || '{}')
    } catch (err) {
      throw new BodyRefused(400, `malformed JSON: ${jsonProblem(err)}`)
    }
    const body = ApiBody.safeParse(json)
    if (!body.success) throw new BodyRefused(400, 'the body must be a JSON object: {"args": [...]}')
    return body.data.args ?? []
  }

  async function handle(req: IncomingMessage, res: ServerResponse, target: Target) {
    if (!hostOk(req)) return plain(res, 421, 'wrong Host header')

    const api = /^\/api\/(\w+)$/.exec(target.path)
    const download = target.path.startsWith('/download/')
    // Everything but the page itself (public: it holds no data, and reads the token from
    // its address) needs the token; a download link the browser follows has a one-use
    // ticket the page asked for instead.
    const needsToken = api !== null || download || target.path === '/download-ticket'
    const admitted =
      !needsToken || authed(req) || (download && takeTicket(target.query.get('ticket')))
    if (!admitted) {
      return plain(
        res,
        401,
        'Midwife: open the URL printed by `midwife serve` (it carries the session token).',
      )
    }

    if (target.path === '/download-ticket') {
      if (req.method !== 'POST') return plain(res, 405, 'use POST')
      if (!originOk(req)) return plain(res, 403, 'cross-origin request refused')
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      return res.end(JSON.stringify({ ticket: issueTicket() }))
    }
    if (api) {
      if (req.method !== 'POST') return plain(res, 405, 'use POST')
      if (!originOk(req)) return plain(res, 403, 'cross-origin request refused')
      let args: unknown
      try {
        args = await readArgs(req)
      } catch (err) {
        if (!(err instanceof BodyRefused)) throw err
        res.writeHead(err.status, { 'Content-Type': 'application/json', Connection: 'close' })
        return res.end(
          JSON.stringify({
            ok: false,
            error: { code: 'invalid', message: (err as Error).message },
          }),
        )
      }
      const reply = await dispatch(o.handlers, api[1] as string, args)
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      return res.end(JSON.stringify(reply))
    }
    if (download && o.downloads) {
      if (req.method !== 'GET') return plain(res, 405, 'use GET')
      return sendDownload(res, target, o.downloads)
    }
    if (req.method === 'GET' || req.method === 'HEAD') return serveStatic(res, target)
    return plain(res, 405, 'method not allowed')
  }

  async function sendDownload(
    res: ServerResponse,
    target: Target,
    downloads: NonNullable<ServeOptions['downloads']>,
  ) {
    const r = downloadRequest(target)
    if (typeof r === 'string') return plain(res, r === 'no such download' ? 404 : 400, r)
    let d: Download
    try {
      d = await downloads(r)
    } catch (err) {
      if (!(err instanceof ApiCallError)) throw err
      return plain(res, DOWNLOAD_STATUS[err.code] ?? 500, err.message)
    }
    res.writeHead(200, {
      'Content-Type': d.contentType,
      'Content-Disposition': `attachment; filename="${d.fileName.replace(/[^\w.-]/g, '_')}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    })
    if (typeof d.body === 'string') return res.end(d.body)
    try {
      await pipeline(d.body, res)
    } catch (err) {
      // The headers are out: all that is left is to cut the answer short, so
      // the browser shows a failed download rather than a truncated file.
      o.logger.error(`download ${target.path} failed: ${(err as Error).message}`)
      res.destroy()
    }
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    // Answers with the page's protocol, never echoing the token back.
    handleProtocols: () => PROTOCOL,
  })
  const sockets = new Set<WebSocket>()
  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target) {
    const refusal = (status: number, message: string) => refuseSocket(socket, { status, message })
    if (target.path !== '/events') return refusal(404, 'the event stream is at /events')
    if (!hostOk(req)) return refusal(421, 'wrong Host header')
    if (!originOk(req)) return refusal(403, 'cross-origin event stream refused')
    if (!streamAuthed(req)) {
      return refusal(401, 'Midwife: the event stream needs the session token')
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      // A frame over maxPayload or a protocol error arrives here; unheard, it would throw.
      ws.on('error', () => ws.terminate())
      // The browser only listens; anything it sends is ignored.
      ws.on('message', () => undefined)
    })
  }

  const server = createServer()
  guardServer(server, {
    name: 'UI server',
    logger: o.logger,
    onRequest: handle,
    onUpgrade: upgrade,
  })

  const unsubscribe = o.events.subscribe((event, payload, seq) => {
    if (sockets.size === 0) return
    const msg = JSON.stringify({ event, payload, seq })
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(msg)
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject)
      port = (server.address() as AddressInfo).port
      const shownHost = host.includes(':') ? `[${host}]` : host
      resolve({
        url: `http://${shownHost}:${port}/?token=${token}`,
        port,
        token,
        close: () =>
          new Promise<void>((done) => {
            unsubscribe()
            for (const ws of sockets) ws.terminate()
            wss.close()
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}

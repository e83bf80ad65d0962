import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { redactPath, type Logger } from '../log'
import { CheckinRejected, credentialOf, type Credential } from './checkin'

export const MAX_BODY_BYTES = 64 * 1024

/**
 * What the listener needs from the rest of the core. It faces the provisioning
 * network, so it serves check-ins, kickstarts and the client script, and
 * nothing an operator does.
 */
export interface ListenerHandlers {
  /** The kickstart for the host owning this token, or why not (401, 404, 410). */
  kickstart(token: string, sourceIp: string): Served
  /** The generic kickstart for unknown servers, behind the site enrollment key. */
  discoveryKickstart(key: string): Served
  /** checkin.sh with this host's listener URL and token preset, or why not. */
  personalClient(token: string): Served
  /** The generic checkin.sh (no token inside). */
  client(): string
  /**
   * Validates, matches and commits a check-in; returns only once it is stored.
   * Throws CheckinRejected for anything refused.
   */
  checkin(
    credential: Credential,
    body: unknown,
    sourceIp: string,
  ): { id: number; host: string; repeat: boolean }
}

/** A file the listener serves: its text, or a status and a plain message. */
export type Served =
  { ok: true; text: string } | { ok: false; status: 401 | 404 | 410; message: string }

export interface RunningListener {
  address: AddressInfo
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, {
    'Content-Type': `${type}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  })
  res.end(body)
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  send(res, status, `${JSON.stringify(value)}\n`)
}

/** Reads a body up to `limit` bytes; past it, rejects with 413 without buffering the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) {
      reject(new CheckinRejected(413, `check-in body is ${declared} bytes; the limit is ${limit}`))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.pause()
        reject(new CheckinRejected(413, `check-in body exceeds the limit of ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const TOKEN_ROUTE = /^\/(ks|c)\/(discover\/)?([A-Za-z0-9_-]{16,128})\.(cfg|sh)$/

export function startListener(
  handlers: ListenerHandlers,
  opts: { host: string; port: number; logger: Logger },
): Promise<RunningListener> {
  const { logger } = opts

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://listener')
    const path = url.pathname
    const from = req.socket.remoteAddress ?? 'unknown'

    if (req.method === 'POST' && path === '/checkin') {
      try {
        const raw = await readBody(req, MAX_BODY_BYTES)
        let body: unknown
        try {
          body = JSON.parse(raw.toString('utf8'))
        } catch (err) {
          throw new CheckinRejected(400, `malformed JSON: ${(err as Error).message}`)
        }
        const stored = handlers.checkin(credentialOf(body), body, from)
        sendJson(res, stored.repeat ? 200 : 201, {
          accepted: true,
          checkinId: stored.id,
          host: stored.host,
          repeat: stored.repeat,
        })
      } catch (err) {
        if (err instanceof CheckinRejected) {
          logger.warn(`check-in from ${from} refused (${err.status}): ${err.message}`)
          res.setHeader('Connection', 'close')
          sendJson(res, err.status, { accepted: false, error: err.message })
          return
        }
        throw err
      }
      return
    }

    if (req.method === 'GET' || req.method === 'HEAD') {
      const m = TOKEN_ROUTE.exec(path)
      if (m && ((m[1] === 'ks' && m[4] === 'cfg') || (m[1] === 'c' && m[4] === 'sh' && !m[2]))) {
        const secret = m[3] as string
        const served = m[2]
          ? handlers.discoveryKickstart(secret)
          : m[1] === 'ks'
            ? handlers.kickstart(secret, from)
            : handlers.personalClient(secret)
        if (!served.ok) {
          logger.warn(`${redactPath(path)} from ${from}: ${served.status} ${served.message}`)
          send(res, served.status, `${served.message}\n`, 'text/plain')
          return
        }
        logger.info(`served ${redactPath(path)} to ${from}`)
        send(res, 200, served.text, 'text/plain')
        return
      }
      if (path === '/client/checkin.sh') {
        send(res, 200, handlers.client(), 'text/plain')
        return
      }
      if (path === '/') {
        send(res, 200, 'Midwife check-in listener\n', 'text/plain')
        return
      }
    }
    send(res, 404, 'not found\n', 'text/plain')
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A failure to store is a 500: the client retries, and nothing was acknowledged.
      logger.error(`listener: ${redactPath(req.url ?? '')}: ${(err as Error).message}`)
      if (!res.headersSent)
        sendJson(res, 500, { accepted: false, error: 'internal error; try again' })
      else res.destroy()
    })
  })
  server.requestTimeout = 30_000
  server.headersTimeout = 10_000

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}

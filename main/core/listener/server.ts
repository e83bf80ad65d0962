import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { describeIssues } from '../../contract/api'
import type { RefusedRequest } from '../../contract/schemas'
import type { InstallState } from '../boot/install-callbacks'
import type { GenericInstallAck } from '../boot/generic-installs'
import type { InstallAck } from '../boot/install-reports'
import { isNetbootPath, type BootServed } from '../boot/netboot-files'
import { escapeControl, jsonProblem, redactPath, type Logger } from '../log'
import { SecretUnreadable } from '../secrets'
import { CheckinRejected, credentialOf, type Credential } from './checkin'
import {
  BodyRefused,
  guardServer,
  readBody,
  refuse,
  sourceKey,
  type Refusal,
  type Target,
} from './guard'
import { TokenBuckets, type Take } from './rate-limit'
import { sendFile } from './send-file'

export const MAX_BODY_BYTES = 64 * 1024

/**
 * What the listener needs from the rest of the core. It faces the provisioning
 * network, so it serves check-ins, install reports, kickstarts, the client
 * script and network boot files, and nothing an operator does.
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
    rawBody: string,
    sourceIp: string,
  ): Promise<{ id: number; host: string; repeat: boolean }>
  /** A %pre (installing) or %post (installed) report from the installer. */
  installReport(token: string, state: InstallState, body: unknown, sourceIp: string): InstallAck
  /** The generic kickstart's %post (installed), behind the site enrollment key. */
  genericInstallReport(key: string, body: unknown, sourceIp: string): GenericInstallAck
  /** A network boot file under /boot, /ipxe or /media: text, a file to stream, or why not. */
  bootFile(path: string, sourceIp: string): Promise<BootServed>
  /**
   * Told of each check-in, install report, kickstart or client fetch refused, for the operator's
   * screens (not of rate limits or unparsable requests: those are noise, not a server's story).
   */
  refused?(r: Omit<RefusedRequest, 'at'>): void
}

/** A file the listener serves: its text, or a status and a plain message. */
export type Served =
  { ok: true; text: string } | { ok: false; status: 401 | 404 | 409 | 410; message: string }

export interface RunningListener {
  address: AddressInfo
  close(): Promise<void>
}

const count = z.number().int().positive()
const ListenerLimits = z
  .object({
    sourceBurst: count,
    sourcePerMinute: count,
    credentialBurst: count,
    credentialPerMinute: count,
    enrollmentBurst: count,
    enrollmentPerMinute: count,
    trackedKeys: count,
    connectionsPerSource: count,
    connectionsTotal: count,
    headersTimeoutMs: count,
    requestTimeoutMs: count,
    keepAliveTimeoutMs: count,
    idleTimeoutMs: count,
  })
  .strict()
  .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, {
    message: 'headersTimeoutMs must not exceed requestTimeoutMs',
  })
  .refine((l) => l.connectionsPerSource <= l.connectionsTotal, {
    message: 'connectionsPerSource must not exceed connectionsTotal',
  })

/** How much the listener lets one source address, one credential and everyone together ask of it. */
export type ListenerLimits = z.infer<typeof ListenerLimits>

/**
 * Sized for a provisioning network: an installer fetches its kickstart once
 * (a few tries at most), the host checks in once from %firstboot and retries
 * with backoff (checkin.sh: 8 tries over about six minutes), and a rack of
 * 200 servers may power on together, each from its own address.
 */
export const defaultListenerLimits: ListenerLimits = {
  // One host needs a handful of requests. 120 at once and two a second after
  // covers a host on a bad link, an operator running checkin.sh by hand and a
  // few hosts behind one NAT (behind a NAT for a whole rack, raise these),
  // while one address flooding the listener gets two requests a second.
  sourceBurst: 120,
  sourcePerMinute: 120,
  // One token is one server: kickstart, client, check-in and seven retries
  // come to about ten. 20 at once, then two a minute, lets a reinstalled host
  // check in again, and turns 3,000 check-ins with one stolen token into 20
  // plus two a minute.
  credentialBurst: 20,
  credentialPerMinute: 2,
  // The site enrollment key is every unknown server's: a rack of 200 booting the generic
  // kickstart or a PBHOST line together needs about four requests each (the kickstart, the
  // %post report, the check-in, a retry), so it gets a rack's share, and ten a second after.
  // One address still gets no more than its source limit, whatever key it presents.
  enrollmentBurst: 1_000,
  enrollmentPerMinute: 600,
  // Buckets remembered per kind (sources; credentials): a site of thousands of
  // hosts fits, and 10,000 buckets are about a megabyte.
  trackedKeys: 10_000,
  // A host uses one connection at a time; 32 leaves room for a NAT. 512 in all
  // lets a rack of 200 connect at once twice over and stays far below the
  // usual limit of 1,024 open files, which SQLite, SSH runs and the UI share.
  connectionsPerSource: 32,
  connectionsTotal: 512,
  // ESXi's wget sends its headers in one packet, and a 64 KiB check-in takes
  // milliseconds on a LAN: ten seconds for the headers (also the most a socket
  // that never sends anything is kept), thirty for the whole request.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  // No byte either way for this long, at any stage, and the socket is closed.
  idleTimeoutMs: 30_000,
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

/** A check-in or install report body: its text as received (what is stored, masked) and the JSON it holds. */
interface CheckinBody {
  text: string
  json: unknown
}

async function readCheckin(req: IncomingMessage, what: string): Promise<CheckinBody> {
  let raw: Buffer
  try {
    raw = await readBody(req, MAX_BODY_BYTES)
  } catch (err) {
    if (err instanceof BodyRefused) throw new CheckinRejected(err.status, `${what} ${err.message}`)
    throw err
  }
  const text = raw.toString('utf8')
  try {
    return { text, json: JSON.parse(text) as unknown }
  } catch (err) {
    throw new CheckinRejected(400, `malformed JSON: ${jsonProblem(err)}`)
  }
}

const TOKEN_ROUTE = /^\/(ks|c)\/(discover\/)?([A-Za-z0-9_-]{16,128})\.(cfg|sh)$/
const INSTALL_ROUTE = /^\/install\/([A-Za-z0-9_-]{16,128})\/(installing|installed)$/
const GENERIC_INSTALL_ROUTE = /^\/install\/discover\/([A-Za-z0-9_-]{16,128})\/installed$/

const isInstallPath = (path: string) => INSTALL_ROUTE.test(path) || GENERIC_INSTALL_ROUTE.test(path)

/**
 * The credentials a request presents, as bucket keys: a deployment token in
 * the path or the body, an enrollment key in the body. A value longer than
 * any real credential (128) is hashed, so a 64 KiB "token" costs a bucket no
 * more than a real one; the map lives in memory only and is never logged.
 */
function credentialsOf(path: string, body: unknown): string[] {
  const found: string[] = []
  const m = TOKEN_ROUTE.exec(path)
  if (m?.[3]) found.push(`${m[2] ? 'enrollment' : 'token'}:${m[3]}`)
  const install = INSTALL_ROUTE.exec(path)
  if (install?.[1]) found.push(`token:${install[1]}`)
  const generic = GENERIC_INSTALL_ROUTE.exec(path)
  if (generic?.[1]) found.push(`enrollment:${generic[1]}`)
  if (typeof body === 'object' && body !== null) {
    const { token, enrollment } = body as { token?: unknown; enrollment?: unknown }
    if (typeof token === 'string' && token !== '') found.push(`token:${token}`)
    if (typeof enrollment === 'string' && enrollment !== '') found.push(`enrollment:${enrollment}`)
  }
  const keys = found.map((c) =>
    c.length <= 140 ? c : `#${createHash('sha256').update(c).digest('base64url')}`,
  )
  return keys.length > 1 ? [...new Set(keys)] : keys
}

function tooMany(taken: Take & { ok: false }, what: string): Refusal {
  const s = taken.retryAfterSeconds
  return {
    status: 429,
    message: `too many requests ${what}; try again in ${s} s`,
    headers: { 'Retry-After': String(s) },
  }
}

function parseLimits(given: Partial<ListenerLimits> | undefined): ListenerLimits {
  const parsed = ListenerLimits.safeParse({ ...defaultListenerLimits, ...given })
  if (!parsed.success) throw new Error(`listener limits: ${describeIssues(parsed.error)}`)
  return parsed.data
}

export async function startListener(
  handlers: ListenerHandlers,
  opts: { host: string; port: number; logger: Logger; limits?: Partial<ListenerLimits> },
): Promise<RunningListener> {
  const { logger } = opts
  const limits = parseLimits(opts.limits)
  const sources = new TokenBuckets(
    { burst: limits.sourceBurst, perMinute: limits.sourcePerMinute },
    limits.trackedKeys,
  )
  const credentials = new TokenBuckets(
    { burst: limits.credentialBurst, perMinute: limits.credentialPerMinute },
    limits.trackedKeys,
  )
  const enrollment = new TokenBuckets(
    { burst: limits.enrollmentBurst, perMinute: limits.enrollmentPerMinute },
    limits.trackedKeys,
  )

  /** The listener's routes; the guard and the limits are already behind this. */
  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: CheckinBody | undefined,
  ) {
    const from = req.socket.remoteAddress ?? 'unknown'
    if (req.method === 'POST' && path === '/checkin' && body) {
      // Returned, not awaited: this frame (and the body in it) ends now, and
      // only the answer waits for the group commit.
      return handlers.checkin(credentialOf(body.json), body.json, body.text, from).then((stored) =>
        sendJson(res, stored.repeat ? 200 : 201, {
          accepted: true,
          checkinId: stored.id,
          host: stored.host,
          repeat: stored.repeat,
        }),
      )
    }

    /** An install report refused: logged, told to the refusals list, answered. */
    const refuseReport = (ack: { status: number; message: string }) => {
      logger.warn(`${escapeControl(redactPath(path))} from ${from}: ${ack.status} ${ack.message}`)
      handlers.refused?.({ from, status: ack.status, what: 'install report', reason: ack.message })
      sendJson(res, ack.status, { accepted: false, error: ack.message })
    }

    const install = INSTALL_ROUTE.exec(path)
    if (req.method === 'POST' && install && body) {
      const ack = handlers.installReport(
        install[1] as string,
        install[2] as InstallState,
        body.json,
        from,
      )
      if (!ack.ok) return refuseReport(ack)
      sendJson(res, 200, { accepted: true, host: ack.host, state: ack.state, repeat: ack.repeat })
      return
    }

    const generic = GENERIC_INSTALL_ROUTE.exec(path)
    if (req.method === 'POST' && generic && body) {
      const ack = handlers.genericInstallReport(generic[1] as string, body.json, from)
      if (!ack.ok) return refuseReport(ack)
      sendJson(res, ack.repeat || ack.bootMac === null ? 200 : 201, {
        accepted: true,
        state: 'installed',
        bootMac: ack.bootMac,
        repeat: ack.repeat,
        message: ack.message,
      })
      return
    }

    if ((req.method === 'GET' || req.method === 'HEAD') && isNetbootPath(path)) {
      const served = await handlers.bootFile(path, from)
      if (!served.ok) {
        logger.warn(`${escapeControl(path)} from ${from}: ${served.status} ${served.message}`)
        send(res, served.status, `${served.message}\n`, 'text/plain')
      } else if ('file' in served) {
        await sendFile(req, res, served.file)
      } else {
        send(res, 200, served.text, 'text/plain')
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
        const shown = escapeControl(redactPath(path))
        if (!served.ok) {
          logger.warn(`${shown} from ${from}: ${served.status} ${served.message}`)
          handlers.refused?.({
            from,
            status: served.status,
            what: m[1] === 'ks' ? 'kickstart' : 'client',
            reason: served.message,
          })
          send(res, served.status, `${served.message}\n`, 'text/plain')
          return
        }
        logger.info(`served ${shown} to ${from}`)
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

  /**
   * Reads a check-in body, charges each credential it presents, then routes.
   * Chained rather than awaited: an async function keeps every local alive
   * until it returns, so a check-in's body (its text and its JSON, about
   * 5 KB) would be held while it waits for the group commit, hundreds of
   * them at once when a rack checks in.
   */
  function handle(req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
    const from = req.socket.remoteAddress ?? 'unknown'
    const isCheckin = req.method === 'POST' && target.path === '/checkin'
    const isInstall = req.method === 'POST' && isInstallPath(target.path)
    const read =
      isCheckin || isInstall
        ? readCheckin(req, isCheckin ? 'check-in' : 'install report')
        : Promise.resolve(undefined)
    return read
      .then((body) => {
        for (const key of credentialsOf(target.path, body?.json)) {
          const taken = (key.startsWith('enrollment:') ? enrollment : credentials).take(key)
          if (taken.ok) continue
          if (taken.firstRefusal) {
            logger.warn(
              `rate limit: a deployment credential presented from ${from} is refused for now`,
            )
          }
          refuse(res, tooMany(taken, 'with this credential'))
          return
        }
        return route(req, res, target.path, body)
      })
      .catch((err: unknown) => {
        if (err instanceof SecretUnreadable) {
          // The key that sealed it is gone (secret.key lost, a locked keyring): the operator
          // can bring it back or enter the secret again, so the server is told to try later.
          logger.error(
            `${escapeControl(redactPath(target.path))} from ${from}: ${escapeControl(err.message)}`,
          )
          refuse(res, {
            status: 503,
            message:
              'Midwife cannot open a stored secret this answer needs; its log says which and how to fix it. Try again later',
            headers: { 'Retry-After': '60' },
          })
          return
        }
        if (!(err instanceof CheckinRejected)) throw err
        logger.warn(
          `${escapeControl(redactPath(target.path))} from ${from} refused (${err.status}): ${escapeControl(err.message)}`,
        )
        if (isCheckin || isInstall) {
          handlers.refused?.({
            from,
            status: err.status,
            what: isCheckin ? 'check-in' : 'install report',
            reason: err.message,
          })
        }
        res.setHeader('Connection', 'close')
        sendJson(res, err.status, { accepted: false, error: err.message })
      })
  }

  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts above on this interval (30 s by default),
    // which would let a silent socket outlive its headers timeout by up to 30 s.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  })
  server.timeout = limits.idleTimeoutMs
  guardServer(server, {
    name: 'check-in listener',
    logger,
    redact: redactPath,
    connections: { perSource: limits.connectionsPerSource, total: limits.connectionsTotal },
    admit(req) {
      const taken = sources.take(sourceKey(req.socket.remoteAddress))
      if (taken.ok) return null
      if (taken.firstRefusal) {
        logger.warn(`rate limit: ${req.socket.remoteAddress ?? 'unknown'} is refused for now`)
      }
      return tooMany(taken, 'from this address')
    },
    onRequest: handle,
    // A failure to store is a 500: the client retries, and nothing was acknowledged.
    onInternalError: (res) =>
      sendJson(res, 500, { accepted: false, error: 'internal error; try again' }),
  })

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

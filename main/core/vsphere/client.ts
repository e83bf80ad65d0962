// The host's own vSphere API, for the Secure Boot path: %firstboot never
// runs there, so SSH stays off until something turns it on from outside.
// Four calls (as Cisco's ESXi auto-installer makes them): RetrieveServiceContent,
// SessionManager.Login, then on the HostServiceSystem UpdateServicePolicy
// (TSM-SSH -> on) and StartService (TSM-SSH).
//
// The host's certificate is self-signed, so it is trusted by fingerprint:
// every connection is checked against the expected SHA-256 (or the one seen
// on first contact) before a byte of the request, password included, is sent.
import { request } from 'node:http'
import { connect, type TLSSocket } from 'node:tls'
import { z } from 'zod'
import { maskSecret } from '../../catalogue/shell'
import {
  buildRequest,
  MoRefXml,
  parseResponse,
  SoapProtocolError,
  type MoRef,
  type SoapParam,
} from './soap'

export type VsphereErrorCode =
  | 'invalid-login'
  | 'not-authenticated'
  | 'connection-refused'
  /** The connection could not be made or broke before an answer (reset, unreachable, TLS). */
  | 'connection-failed'
  | 'certificate-mismatch'
  | 'timeout'
  | 'fault'
  /** An HTTP answer that is not a SOAP envelope: the proxy is up, hostd behind it is not (yet). */
  | 'not-soap'
  | 'protocol'

export class VsphereError extends Error {
  override name = 'VsphereError'
  /** The vim25 fault type, when the host answered with a fault. */
  readonly faultType?: string
  /** The HTTP status, when the host answered something other than SOAP. */
  readonly httpStatus?: number

  constructor(
    readonly code: VsphereErrorCode,
    message: string,
    more: { faultType?: string; httpStatus?: number; cause?: Error } = {},
  ) {
    super(message, { cause: more.cause })
    this.faultType = more.faultType
    this.httpStatus = more.httpStatus
  }
}

/** AA:BB:... upper-case, the form node:tls and `openssl x509 -fingerprint -sha256` print. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp
    .replace(/^sha256[:=]/i, '')
    .replace(/[:\s]/g, '')
    .toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new VsphereError('protocol', 'a SHA-256 fingerprint is 64 hex digits (colons allowed)')
  }
  return hex.match(/../g)?.join(':') ?? hex
}

export interface VsphereTarget {
  /** The host's management address. */
  address: string
  port?: number
  /** The certificate fingerprint the host is known by; absent: pin on first contact. */
  expectedSha256?: string
  /** Per request: the connection, and the whole answer however slowly it comes. */
  timeoutMs?: number
  /** At most this many bytes of one answer's body (RESPONSE_LIMIT_BYTES). */
  responseLimitBytes?: number
  /** The HostServiceSystem's managed object id; on a standalone ESXi host it is `serviceSystem`. */
  serviceSystem?: string
}

// esxi.md names the calls but not what they return beyond the session manager: a host that
// leaves out `about` (or part of it) is still driven, as "the host" at API version 7.0.
const About = z.object({
  fullName: z.string().default('the host'),
  version: z.string().optional(),
  build: z.string().optional(),
  apiVersion: z.string().optional(),
  apiType: z.string().optional(),
})
export type About = z.infer<typeof About>

const ServiceContent = z.object({
  sessionManager: MoRefXml,
  about: About.default({ fullName: 'the host' }),
})

const UserSession = z.object({ key: z.string(), userName: z.string() })

/**
 * What one answer's body may hold before Midwife stops reading it: the calls made (service
 * content, login, service policy and start) answer in a few KiB, so 4 MiB is far past any
 * working host, and a host or anything at its address that answers without end cannot grow
 * Midwife's memory by more than that. Headers are bounded by Node's own limit (16 KiB).
 */
export const RESPONSE_LIMIT_BYTES = 4 * 1024 * 1024

const sizeWords = (bytes: number) =>
  bytes >= 1024 * 1024
    ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${+(bytes / 1024).toFixed(1)} KiB`

/** The API version every ESXi 7.0 to 9.0 host understands, for the first call. */
const FIRST_API_VERSION = '7.0'
const SSH_SERVICE = 'TSM-SSH'

export class VsphereClient {
  readonly #target: Required<
    Pick<VsphereTarget, 'address' | 'port' | 'timeoutMs' | 'serviceSystem' | 'responseLimitBytes'>
  >
  #pinned: string | undefined
  #pinnedOnFirstContact = false
  #cookie: string | undefined
  #apiVersion = FIRST_API_VERSION
  #sessionManager: MoRef | undefined
  #about: About | undefined
  /** Method names the host answered (with a result or a fault) in order, for the caller's step log. */
  readonly calls: string[] = []

  constructor(target: VsphereTarget) {
    this.#target = {
      address: target.address,
      port: target.port ?? 443,
      timeoutMs: target.timeoutMs ?? 20_000,
      serviceSystem: target.serviceSystem ?? 'serviceSystem',
      responseLimitBytes: target.responseLimitBytes ?? RESPONSE_LIMIT_BYTES,
    }
    if (target.expectedSha256 !== undefined)
      this.#pinned = normalizeFingerprint(target.expectedSha256)
  }

  /** The fingerprint trusted for this host: the expected one, or the one pinned on first contact. */
  get fingerprint(): string | undefined {
    return this.#pinned
  }

  /** True when no fingerprint was given and the first one seen was pinned: show it to the operator. */
  get pinnedOnFirstContact(): boolean {
    return this.#pinnedOnFirstContact
  }

  /** What RetrieveServiceContent returned, once it has. */
  get about(): About | undefined {
    return this.#about
  }

  get #where(): string {
    return `https://${this.#target.address}:${this.#target.port}/sdk`
  }

  /** A TLS connection whose certificate matches the pin (or becomes it). */
  #connect(timeoutMs: number): Promise<TLSSocket> {
    const { address, port } = this.#target
    return new Promise((resolve, reject) => {
      // The certificate is self-signed: trust is the fingerprint check below, not a CA.
      const socket = connect({ host: address, port, rejectUnauthorized: false })
      socket.setTimeout(timeoutMs, () => {
        socket.destroy()
        reject(
          new VsphereError('timeout', `${this.#where} did not answer within ${timeoutMs / 1000} s`),
        )
      })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') {
          reject(
            new VsphereError(
              'connection-refused',
              `${this.#where} refused the connection; the host is not up yet, or hostd is not running`,
            ),
          )
        } else {
          reject(
            new VsphereError('connection-failed', `${this.#where}: ${err.message}`, { cause: err }),
          )
        }
      })
      socket.once('secureConnect', () => {
        const seen = socket.getPeerCertificate().fingerprint256
        if (!seen) {
          socket.destroy()
          reject(
            new VsphereError('certificate-mismatch', `${this.#where} presented no certificate`),
          )
          return
        }
        if (this.#pinned === undefined) {
          this.#pinned = seen
          this.#pinnedOnFirstContact = true
        } else if (seen !== this.#pinned) {
          socket.destroy()
          reject(
            new VsphereError(
              'certificate-mismatch',
              `${this.#where} presented certificate ${seen}, not the expected ${this.#pinned}; nothing was sent. If the host was reinstalled, confirm its new fingerprint on its console.`,
            ),
          )
          return
        }
        socket.setTimeout(0)
        resolve(socket)
      })
    })
  }

  async #call(
    method: string,
    self: MoRef,
    params: [string, SoapParam][] = [],
    timeoutMs = this.#target.timeoutMs,
    /** A value sent that the host's words must not carry on into a message (the password). */
    secret?: string,
  ): Promise<Record<string, unknown>> {
    const socket = await this.#connect(timeoutMs)
    const body = buildRequest(method, self, params)
    const { status, text, setCookie } = await new Promise<{
      status: number
      text: string
      setCookie: string[]
    }>((resolve, reject) => {
      const limit = this.#target.responseLimitBytes
      // The request's own timeout is one of inactivity: an answer that trickles in a byte at a
      // time would never meet it, so the whole answer has this deadline too.
      const deadline = setTimeout(() => {
        reject(
          new VsphereError(
            'timeout',
            `${this.#where} did not finish answering ${method} within ${timeoutMs / 1000} s`,
          ),
        )
        req.destroy()
      }, timeoutMs)
      const settle =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          clearTimeout(deadline)
          fn(v)
        }
      resolve = settle(resolve)
      reject = settle(reject)
      const req = request(
        {
          method: 'POST',
          path: '/sdk',
          host: this.#target.address,
          port: this.#target.port,
          // No agent: with createConnection and no agent, Node uses this socket (already checked)
          // for this one request and never pools it.
          createConnection: () => socket,
          headers: {
            'Content-Type': 'text/xml; charset=utf-8',
            SOAPAction: `urn:vim25/${this.#apiVersion}`,
            'Content-Length': Buffer.byteLength(body),
            ...(this.#cookie !== undefined ? { Cookie: this.#cookie } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size <= limit) {
              chunks.push(c)
              return
            }
            reject(
              new VsphereError(
                'protocol',
                `${this.#where} answered ${method} with more than ${sizeWords(limit)}; Midwife stopped reading and closed the connection`,
              ),
            )
            req.destroy()
          })
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              setCookie: res.headers['set-cookie'] ?? [],
            }),
          )
          res.on('error', reject)
        },
      )
      req.setTimeout(timeoutMs, () => {
        req.destroy(new VsphereError('timeout', `${this.#where} did not answer ${method} in time`))
      })
      req.on('error', (err) =>
        reject(
          err instanceof VsphereError
            ? err
            : new VsphereError('connection-failed', `${this.#where}: ${err.message}`, {
                cause: err,
              }),
        ),
      )
      req.end(body)
    })
    // ESXi names its session cookie vmware_soap_session; esxi.md does not, so any other cookie
    // the host sets is sent back too.
    const cookies = setCookie.map((c) => c.split(';')[0]?.trim()).filter((c) => c?.includes('='))
    const session = cookies.find((c) => c?.startsWith('vmware_soap_session=')) ?? cookies.join('; ')
    if (session) this.#cookie = session
    let result
    try {
      result = parseResponse(text)
    } catch (err) {
      const why = masked(err instanceof SoapProtocolError ? err.message : String(err), secret)
      throw new VsphereError(
        'not-soap',
        `${method} at ${this.#where} answered HTTP ${status}: ${why}`,
        { httpStatus: status },
      )
    }
    this.calls.push(method)
    // A fault's text is the host's own, which may quote what it was sent; it is shown,
    // audited and logged.
    if (!result.ok) {
      throw faultError(method, result.fault.type, masked(result.fault.message, secret))
    }
    const response = result.body[`${method}Response`]
    if (response === undefined) {
      throw new VsphereError(
        'protocol',
        `${method} at ${this.#where} answered without ${method}Response`,
      )
    }
    return typeof response === 'object' && response !== null
      ? (response as Record<string, unknown>)
      : {}
  }

  /**
   * The first call: no login needed. Fixes the API version for the calls after it.
   * `timeoutMs` overrides the target's limit for this call (a wait's time left).
   */
  async retrieveServiceContent(timeoutMs?: number): Promise<About> {
    const r = await this.#call(
      'RetrieveServiceContent',
      { type: 'ServiceInstance', value: 'ServiceInstance' },
      [],
      timeoutMs,
    )
    const sc = ServiceContent.safeParse(r.returnval)
    if (!sc.success) {
      throw new VsphereError(
        'protocol',
        `RetrieveServiceContent at ${this.#where} lacks its sessionManager`,
      )
    }
    this.#sessionManager = {
      type: sc.data.sessionManager['@_type'],
      value: sc.data.sessionManager['#text'],
    }
    this.#apiVersion = sc.data.about.apiVersion ?? FIRST_API_VERSION
    this.#about = sc.data.about
    return sc.data.about
  }

  async login(userName: string, password: string): Promise<{ key: string; userName: string }> {
    if (this.#sessionManager === undefined) await this.retrieveServiceContent()
    const r = await this.#call(
      'Login',
      this.#sessionManager as MoRef,
      [
        ['userName', userName],
        ['password', password],
      ],
      undefined,
      password,
    )
    const s = UserSession.safeParse(r.returnval)
    if (!s.success)
      throw new VsphereError('protocol', `Login at ${this.#where} returned no session`)
    // No cookie is no error: esxi.md names none, and a host that keeps no session state sets
    // none. One that needs a session after all refuses the next call with NotAuthenticated.
    return { key: s.data.key, userName: s.data.userName }
  }

  async updateServicePolicy(id: string, policy: 'on' | 'off' | 'automatic'): Promise<void> {
    await this.#call('UpdateServicePolicy', this.#serviceSystem, [
      ['id', id],
      ['policy', policy],
    ])
  }

  async startService(id: string): Promise<void> {
    await this.#call('StartService', this.#serviceSystem, [['id', id]])
  }

  get #serviceSystem(): MoRef {
    return { type: 'HostServiceSystem', value: this.#target.serviceSystem }
  }
}

/** `text` with `secret`, as sent and as XML escapes it, masked. */
function masked(text: string, secret: string | undefined): string {
  if (!secret) return text
  const xml = secret
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
  return maskSecret(maskSecret(text, secret), xml)
}

function faultError(method: string, type: string, message: string): VsphereError {
  switch (type) {
    case 'InvalidLogin':
      return new VsphereError(
        'invalid-login',
        "the host refused the root password (InvalidLogin): the password is wrong, or the kickstart's rootpw differs from the host definition",
        { faultType: type },
      )
    case 'NotAuthenticated':
      return new VsphereError(
        'not-authenticated',
        `${method} was refused because the session is not logged in (NotAuthenticated); the session expired or the host restarted hostd: log in again`,
        { faultType: type },
      )
    default:
      return new VsphereError('fault', `${method} failed on the host: ${type}: ${message}`, {
        faultType: type,
      })
  }
}

export interface EnableSshResult {
  about: About
  /** The certificate fingerprint the host was trusted by. */
  fingerprint: string
  /** No fingerprint was expected; this one was pinned on first contact. */
  pinnedOnFirstContact: boolean
  calls: string[]
}

/**
 * Turns SSH on (policy on, so it survives reboots) and starts it. Any
 * failure stops at that call: after InvalidLogin nothing else is sent.
 * Given a client that already read the service content (a wait for /sdk
 * did), it goes on from there with that client's pinned certificate.
 */
export async function enableSshOverVsphere(
  target: VsphereTarget | VsphereClient,
  credentials: { userName: string; password: string },
): Promise<EnableSshResult> {
  const client = target instanceof VsphereClient ? target : new VsphereClient(target)
  const about = client.about ?? (await client.retrieveServiceContent())
  await client.login(credentials.userName, credentials.password)
  await client.updateServicePolicy(SSH_SERVICE, 'on')
  await client.startService(SSH_SERVICE)
  return {
    about,
    fingerprint: client.fingerprint as string,
    pinnedOnFirstContact: client.pinnedOnFirstContact,
    calls: [...client.calls],
  }
}

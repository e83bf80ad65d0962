// An in-process HTTPS fake of a standalone ESXi host's vSphere API, for the
// four calls of the Secure Boot path. It answers with the envelopes and
// faults the vSphere Web Services SDK documents (and govmomi's simulator and
// real hosts send): InvalidLogin for a wrong password, NotAuthenticated for
// a call without a session, NotFound for an unknown service, all as HTTP 500
// with a ServerFaultCode fault. Its certificate is self-signed, made here.
import { execFileSync } from 'node:child_process'
import { randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { buildFault, buildResponse, parseRequest } from '../../main/core/vsphere/soap'
import { loadState, saveState, withStateLock } from '../esxi-sim/state'
import { tempDir } from './app'

export interface TlsIdentity {
  key: string
  cert: string
  /** AA:BB:... as node:tls reports it. */
  fingerprint: string
}

/** A self-signed certificate like the one ESXi generates at first boot. */
export function selfSignedCertificate(commonName: string): TlsIdentity {
  const dir = tempDir('cert')
  try {
    const key = join(dir.path, 'rui.key')
    const crt = join(dir.path, 'rui.crt')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-keyout',
        key,
        '-out',
        crt,
      ],
      { stdio: 'ignore' },
    )
    const cert = readFileSync(crt, 'utf8')
    return {
      key: readFileSync(key, 'utf8'),
      cert,
      fingerprint: new X509Certificate(cert).fingerprint256,
    }
  } finally {
    dir.remove()
  }
}

export interface FakeVsphereOptions {
  userName?: string
  password: string
  apiVersion?: string
  /** A simulated host's state file: SSH policy and start reach its services.ssh. */
  statePath?: string
  /** Listen on this loopback port (default: any free one). */
  port?: number
  /** Listen at this address in 127.0.0.0/8, a simulated host's vmk0 (default 127.0.0.1). */
  host?: string
  /**
   * Only what esxi.md names: a service content with no `about`, and a session cookie named
   * `session` rather than ESXi's vmware_soap_session.
   */
  bare?: boolean
  /**
   * Login is refused with this fault whatever is sent; its message is made from the password
   * sent, as a host that quotes its arguments in a fault would (esxi.md gives no fault text).
   */
  loginFault?: { type: string; message: (password: string) => string }
  /** Login sets a session cookie (default true); false: it sets none. */
  setsCookie?: boolean
  /**
   * The host keeps sessions (default true): a service call needs a logged-in session's cookie.
   * false: it keeps no session state, and takes the service calls without one.
   */
  keepsSessions?: boolean
  /**
   * hostd still starting behind the reverse proxy, which already takes TLS connections: the
   * first requests get these answers in turn instead of SOAP. '503': HTTP 503 in plain text,
   * as the proxy answers then; 'page': HTTP 200 with an HTML page; 'reset': the connection
   * dropped without an answer.
   */
  startingUp?: ('503' | 'page' | 'reset')[]
  /** How long each of those answers takes (a slow proxy); none by default. */
  startingUpMs?: number
  /**
   * A broken host, or something else at its address, answering every request without end:
   * 'flood' writes as fast as the client reads, 'trickle' a byte every 50 ms, until the client
   * closes the connection.
   */
  endless?: 'flood' | 'trickle'
}

export interface FakeVsphere {
  port: number
  fingerprint: string
  /** Method names in the order they arrived. */
  calls: string[]
  /** SOAPAction headers as they arrived. */
  soapActions: string[]
  ssh: { policy: string; running: boolean }
  /** Forget every session, as a hostd restart does. */
  expireSessions(): void
  /** Serve a new certificate from now on, as a reinstall or regeneration does. */
  rotateCertificate(): void
  close(): Promise<void>
}

const SERVICE_CONTENT = (apiVersion: string) => ({
  rootFolder: { '@_type': 'Folder', '#text': 'ha-folder-root' },
  propertyCollector: { '@_type': 'PropertyCollector', '#text': 'ha-property-collector' },
  about: {
    name: 'VMware ESXi',
    fullName: 'VMware ESXi 8.0.2 build-22380479',
    vendor: 'VMware, Inc.',
    version: '8.0.2',
    build: '22380479',
    localeVersion: 'INTL',
    localeBuild: '000',
    osType: 'vmnix-x86',
    productLineId: 'embeddedEsx',
    apiType: 'HostAgent',
    apiVersion,
    licenseProductName: 'VMware ESX Server',
    licenseProductVersion: '8.0',
  },
  setting: { '@_type': 'OptionManager', '#text': 'HostAgentSettings' },
  userDirectory: { '@_type': 'UserDirectory', '#text': 'ha-user-directory' },
  sessionManager: { '@_type': 'SessionManager', '#text': 'ha-sessionmgr' },
  authorizationManager: { '@_type': 'AuthorizationManager', '#text': 'ha-authmgr' },
})

export async function startFakeVsphere(o: FakeVsphereOptions): Promise<FakeVsphere> {
  const userName = o.userName ?? 'root'
  const apiVersion = o.apiVersion ?? '8.0.2.0'
  let identity = selfSignedCertificate('esx01.lab.local')
  const sessions = new Set<string>()
  const calls: string[] = []
  const soapActions: string[] = []
  const ssh = { policy: 'off', running: false }
  const startingUp = [...(o.startingUp ?? [])]

  const syncSim = async () => {
    if (o.statePath === undefined) return
    const path = o.statePath
    await withStateLock(path, () => {
      const s = loadState(path)
      s.services.ssh = { enabled: ssh.policy === 'on', running: ssh.running }
      s.log.push(
        `vsphere ${ssh.policy === 'on' ? 'enable' : 'disable'}/${ssh.running ? 'start' : 'stop'} TSM-SSH`,
      )
      saveState(path, s)
    })
  }

  const answer = async (
    body: string,
    cookie: string | undefined,
  ): Promise<[number, string, string?]> => {
    const req = parseRequest(body)
    calls.push(req.method)
    const cookieName = o.bare ? 'session' : 'vmware_soap_session'
    const session = new RegExp(`(?:^|; )${cookieName}="([^"]+)"`).exec(cookie ?? '')?.[1]
    const authed = o.keepsSessions === false || (session !== undefined && sessions.has(session))
    const str = (name: string) => (typeof req.params[name] === 'string' ? req.params[name] : '')
    switch (req.method) {
      case 'RetrieveServiceContent': {
        const { about: _about, ...withoutAbout } = SERVICE_CONTENT(apiVersion)
        return [200, buildResponse(req.method, o.bare ? withoutAbout : SERVICE_CONTENT(apiVersion))]
      }
      case 'Login': {
        if (o.loginFault) {
          return [500, buildFault(o.loginFault.type, o.loginFault.message(str('password')))]
        }
        if (
          req.self?.value !== 'ha-sessionmgr' ||
          str('userName') !== userName ||
          str('password') !== o.password
        ) {
          return [
            500,
            buildFault(
              'InvalidLogin',
              'Cannot complete login due to an incorrect user name or password.',
            ),
          ]
        }
        const key = randomBytes(20).toString('hex')
        sessions.add(key)
        const returnval = {
          key: `52${key.slice(0, 30)}`,
          userName,
          fullName: 'Administrator',
          loginTime: '2026-01-01T00:00:00.000Z',
          lastActiveTime: '2026-01-01T00:00:00.000Z',
          locale: 'en',
          messageLocale: 'en',
          extensionSession: 'false',
          ipAddress: '127.0.0.1',
          userAgent: 'midwife',
          callCount: '0',
        }
        return [
          200,
          buildResponse(req.method, returnval),
          o.setsCookie === false ? undefined : `${cookieName}="${key}"; Path=/; HttpOnly; Secure;`,
        ]
      }
      case 'UpdateServicePolicy':
      case 'StartService': {
        if (!authed) {
          return [
            500,
            buildFault('NotAuthenticated', 'The session is not authenticated.', {
              object: { '@_type': 'HostServiceSystem', '#text': req.self?.value ?? '' },
              privilegeId: 'System.View',
            }),
          ]
        }
        if (
          req.self?.type !== 'HostServiceSystem' ||
          req.self.value !== 'serviceSystem' ||
          str('id') !== 'TSM-SSH'
        ) {
          return [500, buildFault('NotFound', 'The object or item referred to could not be found.')]
        }
        if (req.method === 'UpdateServicePolicy') {
          if (!['on', 'off', 'automatic'].includes(str('policy'))) {
            return [
              500,
              buildFault('InvalidArgument', 'A specified parameter was not correct: policy', {
                invalidProperty: 'policy',
              }),
            ]
          }
          ssh.policy = str('policy')
        } else {
          ssh.running = true
        }
        await syncSim()
        return [200, buildResponse(req.method)]
      }
      default:
        return [500, buildFault('MethodFault', `Unable to resolve WSDL method name ${req.method}`)]
    }
  }

  const server: Server = createServer({ key: identity.key, cert: identity.cert }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      soapActions.push(String(req.headers.soapaction ?? ''))
      const reply = (status: number, text: string, cookie?: string) => {
        res.writeHead(status, {
          'Content-Type': 'text/xml; charset=utf-8',
          ...(cookie !== undefined ? { 'Set-Cookie': cookie } : {}),
        })
        res.end(text)
      }
      if (req.method !== 'POST' || req.url !== '/sdk') {
        reply(404, '')
        return
      }
      if (o.endless) {
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
        const line = Buffer.from(`${'<x>'.repeat(1023)}\n`)
        const more = () => {
          if (res.destroyed) return
          if (o.endless === 'trickle') {
            res.write('<')
            setTimeout(more, 50)
          } else if (res.write(line)) setImmediate(more)
          else res.once('drain', more)
        }
        more()
        return
      }
      const notYet = startingUp.shift()
      if (notYet === 'reset') {
        req.socket.destroy()
        return
      }
      if (notYet !== undefined) {
        const send = () => {
          res.writeHead(notYet === '503' ? 503 : 200, {
            'Content-Type': notYet === '503' ? 'text/plain' : 'text/html',
          })
          res.end(
            notYet === '503'
              ? '503 Service Unavailable'
              : '<html><body>VMware ESXi is starting</body></html>',
          )
        }
        if (o.startingUpMs) setTimeout(send, o.startingUpMs)
        else send()
        return
      }
      answer(Buffer.concat(chunks).toString('utf8'), req.headers.cookie).then(
        ([status, text, cookie]) => reply(status, text, cookie),
        (err: unknown) => reply(500, buildFault('SystemError', (err as Error).message)),
      )
    })
  })
  const host = o.host ?? '127.0.0.1'
  if (!host.startsWith('127.'))
    throw new Error(`the vSphere fake listens on 127.0.0.0/8 only, not ${host}`)
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, host, resolve))

  return {
    port: (server.address() as AddressInfo).port,
    get fingerprint() {
      return identity.fingerprint
    },
    calls,
    soapActions,
    ssh,
    expireSessions: () => sessions.clear(),
    rotateCertificate() {
      identity = selfSignedCertificate('esx01.lab.local')
      server.setSecureContext({ key: identity.key, cert: identity.cert })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

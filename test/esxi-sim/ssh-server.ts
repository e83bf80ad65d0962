import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
// ssh2 is CommonJS; Node's ESM loader cannot see its named exports, so take the default export.
import ssh2 from 'ssh2'
import type { Algorithms, Connection, ParsedKey } from 'ssh2'
import { runLineInStateFile } from './interpreter'
import { loadState } from './state'

// The sshd algorithm lists of ESXi 8 (esxi.md). ssh2 only offers a host key algorithm for which
// it holds a key, so with nistp256 + RSA keys the offer is nistp256, rsa-sha2-512, rsa-sha2-256.
const ALGORITHMS: Algorithms = {
  kex: [
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  cipher: [
    'aes256-gcm@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-ctr',
    'aes192-ctr',
    'aes128-ctr',
  ],
  hmac: ['hmac-sha2-256', 'hmac-sha2-512'],
  serverHostKey: [
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ],
}

// Modelled on ESXi's /etc/issue and login warning; the wording is not from esxi.md.
const BANNER = [
  '',
  'The time and date of this login have been sent to the system logs.',
  '',
  'WARNING:',
  '   All commands run on the ESXi shell are logged and may be included in',
  '   support bundles. Do not provide passwords directly on the command line.',
  '   Most tools can prompt for secrets or accept them from standard input.',
  '',
  'VMware offers supported, powerful system administration tools.  Please',
  'see www.vmware.com/go/sysadmintools for details.',
  '',
].join('\r\n')

function parseHostKey(path: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(readFileSync(path))
  if (parsed instanceof Error) throw new Error(`${path}: ${parsed.message}`)
  // OpenSSH-format files parse to a list of keys (always one, for host keys).
  const list: unknown = parsed
  const key = (Array.isArray(list) ? list[0] : list) as ParsedKey | undefined
  if (!key) throw new Error(`${path}: no key`)
  return key
}

/**
 * ssh2 turns an RSA host key into rsa-sha2-512, rsa-sha2-256 *and* ssh-rsa (SHA-1) offers, even
 * when ssh-rsa is left out of the algorithm list. ESXi 8 offers only the SHA-2 variants, so the
 * RSA key is handed over twice, each copy typed as one SHA-2 algorithm: ssh2 then offers exactly
 * those names, signs with the hash the negotiated name implies, and still sends the key's own
 * `ssh-rsa` public blob.
 */
function loadHostKeys(dir: string): Array<{ key: ParsedKey }> {
  const ecdsa = parseHostKey(join(dir, 'ssh_host_ecdsa_key'))
  const rsa = parseHostKey(join(dir, 'ssh_host_rsa_key'))
  const as = (type: string): ParsedKey => Object.create(rsa, { type: { value: type } }) as ParsedKey
  return [ecdsa, as('rsa-sha2-512'), as('rsa-sha2-256')].map((key) => ({ key }))
}

const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export interface SimSshServer {
  port: number
  host: string
  connections(): number
  close(): Promise<void>
}

export async function startSimSshServer(opts: {
  statePath: string
  hostKeyDir: string
  password: string
  username?: string
  host?: string
  port?: number
}): Promise<SimSshServer> {
  const host = opts.host ?? '127.0.0.1'
  const octets = LOOPBACK.exec(host)
  if (!octets || octets.slice(1).some((o) => Number(o) > 255)) {
    throw new Error(`the ESXi SSH simulator only listens on 127.0.0.0/8, not ${host}`)
  }
  const username = opts.username ?? 'root'
  const hostKeys = loadHostKeys(opts.hostKeyDir)
  const clients = new Set<Connection>()

  const expectedPassword = () => {
    // A product that ran `esxcli system account set -i root -p ...` must log in with the new one.
    try {
      return loadState(opts.statePath).rootPassword ?? opts.password
    } catch {
      return opts.password
    }
  }

  const server = new ssh2.Server({ hostKeys, algorithms: ALGORITHMS, banner: BANNER }, (client) => {
    clients.add(client)
    client.on('close', () => clients.delete(client))
    client.on('error', () => clients.delete(client))

    client.on('authentication', (ctx) => {
      // ESXi routes password logins through PAM keyboard-interactive only.
      if (ctx.method !== 'keyboard-interactive') {
        ctx.reject(['keyboard-interactive'])
        return
      }
      ctx.prompt([{ prompt: `(${ctx.username}@${host}) Password: `, echo: false }], (answers) => {
        if (ctx.username === username && answers[0] === expectedPassword()) ctx.accept()
        else ctx.reject(['keyboard-interactive'])
      })
    })

    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept()
        session.on('pty', (_accept, reject) => reject?.())
        session.on('shell', (_accept, reject) => reject())
        session.on('subsystem', (_accept, reject) => reject())
        session.on('x11', (_accept, reject) => reject?.())
        session.on('env', (accept) => accept?.())
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec()
          runLineInStateFile(opts.statePath, info.command).then(
            (result) => {
              if (stream.destroyed) return
              if (result.stdout) stream.write(result.stdout)
              if (result.stderr) stream.stderr.write(result.stderr)
              stream.exit(result.code)
              stream.end()
            },
            (err: unknown) => {
              if (stream.destroyed) return
              stream.stderr.write(`sim: ${err instanceof Error ? err.message : String(err)}\n`)
              stream.exit(1)
              stream.end()
            },
          )
        })
      })
      // No TCP or socket forwarding, as on ESXi.
      client.on('tcpip', (_accept, reject) => reject())
      client.on('openssh.streamlocal', (_accept, reject) => reject())
      client.on('request', (_accept, reject) => reject?.())
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  return {
    port,
    host,
    connections: () => clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end()
        server.close(() => resolve())
      }),
  }
}

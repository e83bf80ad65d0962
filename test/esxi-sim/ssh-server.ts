import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
// ssh2 is CommonJS; Node's ESM loader cannot see its named exports, so take the default export.
import ssh2 from 'ssh2'
import type { Algorithms, Connection, ParsedKey, ServerChannel } from 'ssh2'
import { isSimProgram, recordExec, runInStateFile, splitOrRefuse } from './interpreter'
import { LOGIN_WARNING, type CommandResult } from './result'
import { followManagement, startingAddress, type Follower } from './follow'
import { isLoopback } from './net'
import { loadState, saveState, withStateLock, type SimState } from './state'

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

export interface SimSshServer {
  /** The port, kept across address changes. */
  readonly port: number
  /** The address the server listens on now, or listened on last. */
  readonly host: string
  /** The address it listens on now; null while vmk0 is unreachable or the SSH service stopped. */
  listening(): string | null
  /** Resolves once the server listens at the address (null: once it listens nowhere). */
  waitForAddress(address: string | null): Promise<void>
  /** Open connections, including ones left hanging by an address change. */
  connections(): number
  /** Every authentication method a client tried, in order, across connections. */
  authAttempts(): string[]
  close(): Promise<void>
}

export interface SimSshOptions {
  statePath: string
  hostKeyDir: string
  password: string
  username?: string
  /**
   * A fixed address in 127.0.0.0/8. Without it the server follows the host: it listens at vmk0's
   * address while vmk0 is reachable and the SSH service runs, and moves when the address changes.
   */
  host?: string
  port?: number
  /**
   * Runs lines with shell syntax, and programs other than the simulator's, under real BusyBox ash
   * with binDir as the whole PATH, in cwd. Without it such lines are refused (exit 2 or 127).
   */
  shell?: { binDir: string; cwd: string }
  /**
   * Whether a refused login names the methods that may continue (keyboard-interactive). esxi.md
   * does not say; a server written the short way refuses with an empty list. Default true.
   */
  listMethods?: boolean
}

interface Conn {
  sock: Socket
  local: string
  remote: string
  dropped: boolean
  // Process groups of the shells this connection started (background jobs stay in them).
  groups: Set<number>
}

function assertLoopback(address: string): void {
  if (!isLoopback(address)) {
    throw new Error(`the ESXi SSH simulator only listens on 127.0.0.0/8, not ${address}`)
  }
}

const signal = (pgid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(-pgid, sig)
  } catch {
    // The group has already ended.
  }
}

function ignoresHangup(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1]
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n
  } catch {
    return true
  }
}

/**
 * SIGHUP to every process of a group that has not ignored it. A process whose parent ignores it
 * counts as ignoring it too: on ESXi an ignored signal survives exec, but the shims are Node,
 * which resets every disposition at startup and only takes the ignore back a moment later; a
 * hangup in that moment would kill a command a real host would have finished.
 */
function hangUp(pgid: number): void {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e))
  } catch {
    signal(pgid, 'SIGHUP')
    return
  }
  for (const entry of entries) {
    const pid = Number(entry)
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(fields[1])
    if (Number(fields[2]) !== pgid) continue
    if (ignoresHangup(pid) || ignoresHangup(ppid)) continue
    try {
      process.kill(pid, 'SIGHUP')
    } catch {
      // Ended meanwhile.
    }
  }
}

/**
 * The simulated sshd of an ESXi host. When vmk0's address changes (by any command, from a session
 * or a shim), every session drops at once (reset, or left hanging: quirk oldAddressSessions) and
 * the server answers only at the new address, on the same port with the same host keys.
 */
export async function startSimSshServer(opts: SimSshOptions): Promise<SimSshServer> {
  const { statePath } = opts
  const username = opts.username ?? 'root'
  const hostKeys = loadHostKeys(opts.hostKeyDir)
  const conns = new Map<Connection, Conn>()
  const attempts: string[] = []
  const groups = new Set<number>()
  let port = opts.port ?? 0
  let server: InstanceType<typeof ssh2.Server> | null = null
  let current: string | null = null
  let lastAddress = opts.host ?? ''
  // Until the follower exists (and always for a fixed address) there is nothing to re-read.
  let resync = (): Promise<void> => Promise.resolve()

  const readState = (): SimState | null => {
    try {
      return loadState(statePath)
    } catch {
      return null
    }
  }

  // A product that ran `esxcli system account set -i root -p ...` must log in with the new one.
  const expectedPassword = () => readState()?.rootPassword ?? opts.password

  function release(conn: Conn): void {
    if (readState()?.quirks.sessionCloseSignal === 'none') return
    for (const pgid of conn.groups) hangUp(pgid)
  }

  function drop(conn: Conn, how: 'reset' | 'hang'): void {
    if (conn.dropped) return
    conn.dropped = true
    // A hang: the host no longer has the address, so nothing is read or answered; the client
    // finds out only through its own timeouts.
    if (how === 'hang') conn.sock.pause()
    else conn.sock.resetAndDestroy()
  }

  const reply = (conn: Conn, stream: ServerChannel, r: CommandResult) => {
    if (conn.dropped || stream.destroyed) return
    if (r.stdout) stream.write(r.stdout)
    if (r.stderr) stream.stderr.write(r.stderr)
    stream.exit(r.code)
    stream.end()
  }

  function runShell(
    conn: Conn,
    stream: ServerChannel,
    line: string,
    shell: { binDir: string; cwd: string },
  ) {
    const child = spawn(join(shell.binDir, 'sh'), ['-c', line], {
      // BusyBox names itself after argv[0] in its messages: `sh: cat: not found`, as on ESXi.
      argv0: 'sh',
      cwd: shell.cwd,
      env: {
        PATH: shell.binDir,
        HOME: shell.cwd,
        USER: username,
        LOGNAME: username,
        SHELL: '/bin/sh',
        SSH_CONNECTION: `${conn.remote} ${conn.local} ${port}`,
      },
      // Its own process group, so a closing connection can signal everything it started.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    if (child.pid !== undefined) {
      conn.groups.add(child.pid)
      groups.add(child.pid)
    }
    child.stdin.on('error', () => undefined)
    stream.pipe(child.stdin)
    child.stdout.on('data', (d: Buffer) => !conn.dropped && !stream.destroyed && stream.write(d))
    child.stderr.on(
      'data',
      (d: Buffer) => !conn.dropped && !stream.destroyed && stream.stderr.write(d),
    )
    child.on('error', (err) =>
      reply(conn, stream, { stdout: '', stderr: `sim: ${err.message}\n`, code: 127 }),
    )
    // 'close', not 'exit': like sshd, the command ends when its output does, so a background job
    // that keeps stdout open holds the session (redirect it, as esxi.md's pattern does).
    child.on('close', (code, sig) => {
      void resync().then(() => {
        if (conn.dropped || stream.destroyed) return
        if (sig) stream.exit(sig.replace(/^SIG/, ''), false, '')
        else stream.exit(code ?? 1)
        stream.end()
      })
    })
  }

  async function exec(conn: Conn, stream: ServerChannel, line: string): Promise<void> {
    await recordExec(statePath, { address: conn.local, line })
    const warn = readState()?.quirks.loginWarning
    if (warn === 'stdout') stream.write(LOGIN_WARNING)
    else if (warn === 'stderr') stream.stderr.write(LOGIN_WARNING)
    const argv = splitOrRefuse(line)
    if (opts.shell && !(Array.isArray(argv) && isSimProgram(argv))) {
      runShell(conn, stream, line, opts.shell)
      return
    }
    const result = Array.isArray(argv) ? await runInStateFile(statePath, argv) : argv
    // The command may have moved vmk0: then this session is gone before it hears the result.
    await resync()
    reply(conn, stream, result)
  }

  const onConnection = (client: Connection) => {
    const sock = (client as unknown as { _sock: Socket })._sock
    const conn: Conn = {
      sock,
      local: sock.localAddress ?? current ?? '',
      remote: `${sock.remoteAddress ?? ''} ${sock.remotePort ?? 0}`,
      dropped: false,
      groups: new Set(),
    }
    conns.set(client, conn)
    const gone = () => {
      if (!conns.delete(client)) return
      release(conn)
    }
    client.on('close', gone)
    client.on('error', gone)

    client.on('authentication', (ctx) => {
      attempts.push(ctx.method)
      // ESXi routes password logins through PAM keyboard-interactive only.
      const refuse = () =>
        opts.listMethods === false ? ctx.reject() : ctx.reject(['keyboard-interactive'])
      if (ctx.method !== 'keyboard-interactive') {
        refuse()
        return
      }
      ctx.prompt(
        [{ prompt: `(${ctx.username}@${conn.local}) Password: `, echo: false }],
        (answers) => {
          if (ctx.username === username && answers[0] === expectedPassword()) ctx.accept()
          else refuse()
        },
      )
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
          exec(conn, stream, info.command).catch((err: unknown) =>
            reply(conn, stream, {
              stdout: '',
              stderr: `sim: ${err instanceof Error ? err.message : String(err)}\n`,
              code: 1,
            }),
          )
        })
      })
      // No TCP or socket forwarding, as on ESXi.
      client.on('tcpip', (_accept, reject) => reject())
      client.on('openssh.streamlocal', (_accept, reject) => reject())
      client.on('request', (_accept, reject) => reject?.())
    })
  }

  async function listenAt(address: string): Promise<void> {
    const next = new ssh2.Server({ hostKeys, algorithms: ALGORITHMS, banner: BANNER }, onConnection)
    // The old listener's port is released asynchronously; retry briefly if it is still held.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          next.once('error', reject)
          next.listen(port, address, () => {
            next.off('error', reject)
            resolve()
          })
        })
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    port = (next.address() as AddressInfo).port
    server = next
    current = address
    lastAddress = address
  }

  function stopListening(): void {
    // close() stops accepting at once; its callback would wait for sessions that stay open.
    server?.close()
    server = null
    current = null
  }

  let follower: Follower | null = null
  if (opts.host !== undefined) {
    assertLoopback(opts.host)
    await listenAt(opts.host)
  } else {
    const address = await withStateLock(statePath, () => {
      const s = loadState(statePath)
      const at = startingAddress(s)
      if (!s.services.ssh.running) {
        s.services.ssh.running = true
        saveState(statePath, s)
      }
      return at
    })
    await listenAt(address)
    const f = followManagement(statePath, address, {
      drop: (how) => {
        for (const conn of conns.values()) drop(conn, how)
      },
      moveTo: async (to) => {
        stopListening()
        if (to !== null) await listenAt(to)
      },
    })
    follower = f
    resync = () => f.resync()
  }

  return {
    get port() {
      return port
    },
    get host() {
      return lastAddress
    },
    listening: () => current,
    waitForAddress: (address) =>
      follower === null
        ? Promise.reject(new Error('an SSH simulator on a fixed address does not move'))
        : follower.waitForAddress(address),
    connections: () => conns.size,
    authAttempts: () => [...attempts],
    async close() {
      await follower?.stop()
      // A clean disconnect for live sessions; ones left hanging by an address change just go.
      for (const [client, c] of conns) {
        if (c.dropped) c.sock.destroy()
        else client.end()
      }
      const last = server
      stopListening()
      if (last) await new Promise<void>((resolve) => last.close(() => resolve()))
      // The host powers off: whatever its shells left running ends with it.
      for (const pgid of groups) signal(pgid, 'SIGKILL')
    },
  }
}

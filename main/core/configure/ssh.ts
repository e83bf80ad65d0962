import { NodeSSH } from 'node-ssh'
import type { AuthHandlerMiddleware } from 'ssh2'
import { fingerprint } from '../esxi/ssh-keys'

export interface ShellResult {
  stdout: string
  stderr: string
  code: number | null
}

/** What a configuration step needs from a host: run one command, get its result. */
export interface EsxShell {
  exec(command: string): Promise<ShellResult>
}

export interface ConnectOptions {
  host: string
  port: number
  username: string
  password: string
  /** SHA256 fingerprints bound to the host; any other host key is refused before login. */
  trustedFingerprints: string[]
  /**
   * With no fingerprint bound yet, accept the key the host presents and report it
   * (`presentedKey`) so the caller can bind it: trust on first use, for the Secure
   * Boot path, where no check-in reported keys. Ignored when fingerprints are bound.
   */
  trustOnFirstUse?: boolean
  connectTimeoutMs: number
  commandTimeoutMs: number
  /** At most this many bytes of one command's stdout and stderr together (OUTPUT_LIMIT_BYTES). */
  outputLimitBytes?: number
}

/**
 * What one command may print, stdout and stderr together, before Midwife stops reading it:
 * esxcli's longest answers (a full advanced-settings list, every VIB) are a few hundred KiB,
 * so 8 MiB is far past anything a working host prints, and still small enough that a host
 * printing without end cannot grow Midwife's memory by more than that per command.
 */
export const OUTPUT_LIMIT_BYTES = 8 * 1024 * 1024

/** A failure an operator can act on, worded for the step's error line. */
export class ConnectError extends Error {
  /** `refused`: the host answered that nothing listens on the port (SSH is off there). */
  constructor(
    message: string,
    readonly refused = false,
  ) {
    super(message)
  }
}

export class CommandTimeout extends Error {}

/** A command printed more than the session's output limit; the channel was closed. */
export class OutputTooLarge extends Error {}

/** A byte count as the error lines say it: MiB or KiB, whichever is whole enough. */
export function sizeWords(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`
    : `${+(bytes / 1024).toFixed(1)} KiB`
}

/** The algorithm a public key blob names: its first length-prefixed field. */
function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const len = blob.readUInt32BE(0)
  return len > 0 && 4 + len <= blob.length
    ? blob.subarray(4, 4 + len).toString('latin1')
    : 'unknown'
}

/**
 * Which login method to try next: `none` first (a server answers with the methods it takes),
 * then keyboard-interactive, which ESXi uses for passwords, once, whatever that list says (a
 * server may refuse with an empty list), and the `password` method only where the server
 * offers it. ssh2's own order tries `password` first whether it is offered or not: an attempt
 * wasted on every connection, where a host may count failed logins.
 */
function serverOrder(): AuthHandlerMiddleware {
  const tried = new Set<string>()
  return (methodsLeft) => {
    if (methodsLeft === null) {
      tried.add('none')
      return 'none'
    }
    for (const m of ['keyboard-interactive', 'password'] as const) {
      if (tried.has(m) || (m === 'password' && !methodsLeft.includes(m))) continue
      tried.add(m)
      return m
    }
    return false
  }
}

export class EsxSession implements EsxShell {
  /** Why the connection ended under us, once it has. */
  private lost: Error | null = null
  /** The host key this session was established with. */
  presentedKey: { type: string; fingerprint: string; line: string } | null = null

  private constructor(
    private readonly ssh: NodeSSH,
    private readonly commandTimeoutMs: number,
    private readonly where: string,
    private readonly outputLimitBytes: number,
  ) {}

  /**
   * Opens an SSH session the way ESXi requires: keyboard-interactive for the
   * password, and the host key checked against the check-in before the
   * password is ever sent.
   */
  static async connect(o: ConnectOptions): Promise<EsxSession> {
    const ssh = new NodeSSH()
    let presented = null as string | null
    let presentedBlob: Buffer | null = null
    const firstUse = o.trustOnFirstUse === true && o.trustedFingerprints.length === 0
    const where = `${o.host}:${o.port}`
    try {
      await ssh.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        password: o.password,
        tryKeyboard: true,
        authHandler: serverOrder(),
        readyTimeout: o.connectTimeoutMs,
        hostVerifier: (key: Buffer) => {
          presented = fingerprint(key)
          presentedBlob = key
          return firstUse || o.trustedFingerprints.includes(presented)
        },
      })
    } catch (err) {
      ssh.dispose()
      const msg = (err as Error).message
      const code = (err as { code?: string }).code
      if (!firstUse && presented !== null && !o.trustedFingerprints.includes(presented)) {
        throw new ConnectError(
          `the SSH host key presented by ${where} (${presented}) is not one bound to this host ` +
            `(${o.trustedFingerprints.join(', ') || 'none'}); refusing to log in. ` +
            'If the server was reinstalled, run its check-in again (or use Reinstall) so Midwife ' +
            'compares what it reports; otherwise another machine answers at this address',
        )
      }
      if (/authentication methods failed/i.test(msg)) {
        throw new ConnectError(
          `SSH login as ${o.username}@${where} was refused: wrong password or user (keyboard-interactive). ` +
            "Set the host's root password under Hosts, Edit; ESXi locks root out after repeated failed logins",
        )
      }
      if (code === 'ECONNREFUSED')
        throw new ConnectError(`cannot reach ${where}: connection refused`, true)
      if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
        throw new ConnectError(`cannot reach ${where}: no route to host`)
      }
      if (/timed out/i.test(msg)) {
        throw new ConnectError(
          `cannot reach ${where}: no SSH answer within ${o.connectTimeoutMs / 1000} s`,
        )
      }
      throw new ConnectError(`SSH connection to ${where} failed: ${msg}`)
    }
    // node-ssh listens for errors only while it connects. A session that drops
    // later (the management address moved, the host rebooted) makes ssh2 emit
    // 'error' with nobody listening, which would take the whole process down;
    // the drop shows instead as commands without an exit code, or refused.
    const session = new EsxSession(
      ssh,
      o.commandTimeoutMs,
      where,
      o.outputLimitBytes ?? OUTPUT_LIMIT_BYTES,
    )
    if (presented !== null && presentedBlob !== null) {
      const blob: Buffer = presentedBlob
      const type = keyType(blob)
      session.presentedKey = {
        type,
        fingerprint: presented,
        line: `${type} ${blob.toString('base64')}`,
      }
    }
    ssh.connection?.on('error', (err: Error) => (session.lost = err))
    return session
  }

  async exec(command: string): Promise<ShellResult> {
    if (!this.ssh.isConnected()) {
      const why = this.lost ? `: ${this.lost.message}` : ''
      throw new ConnectError(`the SSH session to ${this.where} has ended${why}`)
    }
    let channel: { close(): void } | undefined
    let timer: NodeJS.Timeout | undefined
    // A host that prints without end would otherwise grow Midwife's memory until the command
    // timeout: past the limit the channel is closed, what came is dropped, and the command fails.
    let printed = 0
    let tooMuch: (err: Error) => void = () => undefined
    const overflow = new Promise<never>((_, reject) => (tooMuch = reject))
    const count = (chunk: Buffer) => {
      const before = printed
      printed += chunk.length
      // Once past the limit, what was still in flight changes nothing.
      if (printed <= this.outputLimitBytes || before > this.outputLimitBytes) return
      channel?.close()
      tooMuch(
        new OutputTooLarge(
          `${this.where} printed more than ${sizeWords(this.outputLimitBytes)} for one command; Midwife stopped reading and closed it. A working host prints kilobytes: check what answers at this address`,
        ),
      )
    }
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        channel?.close()
        reject(
          new CommandTimeout(
            `${this.where} gave no answer within ${this.commandTimeoutMs / 1000} s, so the command may have run; check the host answers, then Retry: Midwife reads the host again before it changes anything`,
          ),
        )
      }, this.commandTimeoutMs)
    })
    try {
      const r = await Promise.race([
        this.ssh.execCommand(command, {
          // Keep output as printed: esxcli's "   Key: value" lines start with spaces.
          noTrim: true,
          onChannel: (ch) => {
            channel = ch
          },
          onStdout: count,
          onStderr: count,
        }),
        timeout,
        overflow,
      ])
      if (r.code === null && (this.lost !== null || !this.ssh.isConnected())) {
        // No exit status because the connection went, not because the command said nothing.
        const why = this.lost ? ` (${this.lost.message})` : ''
        throw new ConnectError(
          `the SSH session to ${this.where} ended while the command ran${why}, so it may have run; check the host answers, then Retry: Midwife reads the host again before it changes anything`,
        )
      }
      return { stdout: r.stdout, stderr: r.stderr, code: r.code }
    } finally {
      clearTimeout(timer)
    }
  }

  close(): void {
    this.ssh.dispose()
  }
}

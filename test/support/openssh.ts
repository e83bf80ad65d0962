import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { followManagement, startingAddress } from '../esxi-sim/follow'
import { freePort } from './app'
import { randomRootPassword } from './passwords'
import type { SimHost } from './esxi-host'

/** A dedicated local account, so the test never touches root's password. */
export const ESX_USER = 'midwife-esx'
const SHELL_DIR = '/usr/local/lib/midwife-test'
/** BusyBox ash as a login shell: a link named `sh`, so BusyBox runs its shell applet. */
const LOGIN_SHELL = join(SHELL_DIR, 'sh')
const HOME = '/var/lib/midwife-esx'

export interface OpenSshHost {
  port: number
  password: string
  stop(): Promise<void>
}

function ensureAccount(password: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the OpenSSH test needs root: it adds a local account for the simulated host')
  }
  mkdirSync(SHELL_DIR, { recursive: true })
  if (!existsSync(LOGIN_SHELL)) symlinkSync('/bin/busybox', LOGIN_SHELL)
  mkdirSync(HOME, { recursive: true })
  const exists = (() => {
    try {
      execFileSync('id', [ESX_USER], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()
  if (!exists) {
    execFileSync('useradd', [
      '--system',
      '--no-create-home',
      '--home-dir',
      HOME,
      '--shell',
      LOGIN_SHELL,
      ESX_USER,
    ])
  } else {
    execFileSync('usermod', ['--shell', LOGIN_SHELL, '--home', HOME, ESX_USER])
  }
  execFileSync('chpasswd', [], { input: `${ESX_USER}:${password}\n` })
}

function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, host)
      sock.once('connect', () => {
        sock.destroy()
        resolve()
      })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${host}:${port}`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })
}

/** The processes whose parent is pid (sshd forks one per connection). */
function childPids(pid: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name in parentheses: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) found.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

const kill = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig)
  } catch {
    // Already gone.
  }
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export interface OpenSshHost {
  port: number
  /** The account's password at start; `esxcli system account set -i root` changes it. */
  password: string
  /** The address sshd listens on now; null while vmk0 is unreachable or SSH is stopped. */
  listening(): string | null
  /** Resolves once sshd listens at the address (null: once it listens nowhere). */
  waitForAddress(address: string | null): Promise<void>
  stop(): Promise<void>
}

/**
 * A real OpenSSH server standing in for ESXi's sshd: password logins through
 * PAM keyboard-interactive only, ESXi's algorithm lists, the simulated host's
 * own host keys, BusyBox ash as the login shell, and only ESXi's applets and
 * the esxcli/vim-cmd shims on PATH. Like the ssh2 simulator it follows the
 * host: it listens at vmk0's address, and when that changes the sessions drop
 * (their sshd processes end, or freeze for quirk oldAddressSessions=hang) and
 * sshd restarts at the new address on the same port. The account's password
 * follows `esxcli system account set -i root`.
 */
export async function startOpenSsh(esx: SimHost): Promise<OpenSshHost> {
  const password = randomRootPassword('Esx')
  ensureAccount(password)
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const port = await freePort()
  const dir = join(esx.dir, 'sshd')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'issue'),
    'The time and date of this login have been sent to the system logs.\n\nWARNING:\n   All commands run on the ESXi shell are logged.\n',
  )
  const config = join(dir, 'sshd_config')
  const record = [process.execPath, esx.simCli, esx.statePath].map(shQuote).join(' ')
  const writeConfig = (address: string) =>
    writeFileSync(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `HostKey ${join(esx.keyDir, 'ssh_host_rsa_key')}`,
        `HostKey ${join(esx.keyDir, 'ssh_host_ecdsa_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'HostKeyAlgorithms ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256',
        'KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256',
        'Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr',
        'MACs hmac-sha2-256,hmac-sha2-512',
        'UsePAM yes',
        'KbdInteractiveAuthentication yes',
        'PasswordAuthentication no',
        'PubkeyAuthentication no',
        `AllowUsers ${ESX_USER}`,
        'PermitRootLogin no',
        'StrictModes no',
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'PrintMotd no',
        'PrintLastLog no',
        `Banner ${join(dir, 'issue')}`,
        // The session's PATH holds only what an ESXi shell has; the line is recorded in the
        // host's execLog, then runs in the login shell.
        `ForceCommand PATH=${esx.binDir}; export PATH; ${record} record-exec "$SSH_ORIGINAL_COMMAND"; eval "$SSH_ORIGINAL_COMMAND"`,
        '',
      ].join('\n'),
    )

  // Starting the sshd is starting the host's SSH service.
  const first = startingAddress(esx.state())
  esx.update((s) => (s.services.ssh.running = true))
  // The account runs the shims and writes the host's state file, as ESXi's root would.
  execFileSync('chown', ['-R', `${ESX_USER}:`, esx.dir])

  let child: ChildProcess | null = null
  let log = ''
  const frozen = new Set<number>()

  async function startSshd(address: string): Promise<void> {
    writeConfig(address)
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()))
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    try {
      await Promise.race([
        waitForPort(address, port, 10_000),
        exited.then(() => {
          throw new Error(`sshd exited: ${log}`)
        }),
      ])
    } catch (err) {
      proc.kill('SIGKILL')
      throw err
    }
    child = proc
  }

  async function stopSshd(): Promise<void> {
    const proc = child
    child = null
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill('SIGTERM')
    await exited
  }

  let rootPassword = esx.state().rootPassword
  await startSshd(first)
  const follower = followManagement(esx.statePath, first, {
    // The sessions' own sshd processes end (reset) or freeze (hang); their shells live on.
    drop(how) {
      const pid = child?.pid
      if (pid === undefined) return
      for (const session of childPids(pid)) {
        if (how === 'hang') {
          kill(session, 'SIGSTOP')
          frozen.add(session)
        } else kill(session, 'SIGTERM')
      }
    },
    // Stopping the master leaves the sessions it forked running, as on a real host.
    async moveTo(address) {
      await stopSshd()
      if (address !== null) await startSshd(address)
    },
    observe(s) {
      if (s.rootPassword !== null && s.rootPassword !== rootPassword) {
        execFileSync('chpasswd', [], { input: `${ESX_USER}:${s.rootPassword}\n` })
      }
      rootPassword = s.rootPassword
    },
  })

  return {
    port,
    password,
    listening: () => follower.listening(),
    waitForAddress: (address) => follower.waitForAddress(address),
    async stop() {
      await follower.stop()
      const pid = child?.pid
      const sessions = pid === undefined ? [] : childPids(pid)
      await stopSshd()
      for (const session of [...sessions, ...frozen]) kill(session, 'SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

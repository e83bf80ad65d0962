import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort } from './app'
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

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve()
      })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${port}`))
        else setTimeout(attempt, 100)
      })
    }
    attempt()
  })
}

/**
 * A real OpenSSH server standing in for ESXi's sshd: password logins through
 * PAM keyboard-interactive only, ESXi's algorithm lists, the simulated host's
 * own host keys, BusyBox ash as the login shell, and only ESXi's applets and
 * the esxcli/vim-cmd shims on PATH.
 */
export async function startOpenSsh(esx: SimHost): Promise<OpenSshHost> {
  const password = `Esx-${randomBytes(9).toString('base64url')}`
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
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
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
      // The session's PATH holds only what an ESXi shell has; the command runs in the login shell.
      `ForceCommand PATH=${esx.binDir}; export PATH; eval "$SSH_ORIGINAL_COMMAND"`,
      '',
    ].join('\n'),
  )
  // The account runs the shims and writes the host's state file, as ESXi's root would.
  execFileSync('chown', ['-R', `${ESX_USER}:`, esx.dir])
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then(() => {
        throw new Error(`sshd exited: ${log}`)
      }),
    ])
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    port,
    password,
    async stop() {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

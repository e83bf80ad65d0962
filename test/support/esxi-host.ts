import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { runCommandLine, writeCommands } from '../esxi-sim/interpreter'
import { noteManagementChange, managementAddress } from '../esxi-sim/net'
import { buildSimCli, generateHostKeys, installEsxiBin, syncQuirkTools } from '../esxi-sim/shims'
import { startSimSshServer, type SimSshServer } from '../esxi-sim/ssh-server'
import {
  defaultState,
  loadState,
  saveState,
  type SimOverrides,
  type SimState,
} from '../esxi-sim/state'
import { tempDir } from './app'

/**
 * State overrides that put vmk0 at a static address (in 127.0.0.0/8, so its sshd can listen
 * there) with a default route, e.g. `createSimHost({ profile: '9.0',
 * ...managementNetwork('127.0.10.10', '255.255.255.0', '127.0.10.1') })`.
 */
export function managementNetwork(
  address: string,
  netmask: string,
  gateway?: string,
): Pick<SimState, 'vmknics' | 'routes'> {
  const s = defaultState()
  const ipv4 = `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${address} -N ${netmask}`
  const route = `esxcli network ip route ipv4 add --gateway ${gateway ?? ''} --network default`
  for (const line of gateway === undefined ? [ipv4] : [ipv4, route]) {
    const r = runCommandLine(line, s)
    if (r.code !== 0) throw new Error(`${line}: ${r.stdout}${r.stderr}`)
  }
  return { vmknics: s.vmknics, routes: s.routes }
}

export interface ShellRun {
  code: number | null
  stdout: string
  stderr: string
}

export interface SimHost {
  dir: string
  statePath: string
  binDir: string
  keyDir: string
  /** The bundled simulator the shims run (node sim-cli.mjs <statePath> <program> ...). */
  simCli: string
  hostKeys: ReturnType<typeof generateHostKeys>
  state(): SimState
  /**
   * Changes the host as a test (not a command) would; a moved vmk0 drops sessions and the tool
   * quirks re-sync the bin. Synchronous, so call it while no command runs on the host.
   */
  update(fn: (s: SimState) => void): void
  /** Where the log stands now: pass it to writesSince. */
  logMark(): number
  /** The commands since the mark that changed the host (isWriteCommand); [] proves a no-op run. */
  writesSince(mark: number): string[]
  /** Runs a script file under the host's BusyBox ash, with only ESXi's applets on PATH. */
  sh(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<ShellRun>
  /**
   * The host's sshd: at vmk0's address (it moves when vmk0 does), running shell lines under
   * BusyBox ash with this host's bin folder. `listMethods: false`: its refused logins name no
   * method (see SimSshOptions).
   */
  startSsh(password: string, opts?: { listMethods?: boolean }): Promise<SimSshServer>
  close(): Promise<void>
}

/**
 * One simulated ESXi host: a state file, a bin folder with BusyBox's ESXi
 * applets and the esxcli/vim-cmd/vsish/esxcfg-route/vmkping shims (firewall
 * enforced on wget), and its SSH host keys where ESXi keeps them. Pass
 * `{ profile: '7.0.3' | '8.0.2' | '9.0' }` for a release (8.0.2 by default).
 */
export async function createSimHost(overrides: SimOverrides = {}): Promise<SimHost> {
  const tmp = tempDir('esx')
  const statePath = join(tmp.path, 'state.json')
  const binDir = join(tmp.path, 'bin')
  const keyDir = join(tmp.path, 'etc-ssh')
  saveState(statePath, defaultState(overrides))
  const simCli = await buildSimCli(tmp.path)
  installEsxiBin(binDir, { statePath, simCli, enforceFirewall: true })
  const hostKeys = generateHostKeys(keyDir)
  const servers: SimSshServer[] = []

  return {
    dir: tmp.path,
    statePath,
    binDir,
    keyDir,
    simCli,
    hostKeys,
    state: () => loadState(statePath),
    update(fn) {
      const s = loadState(statePath)
      const before = managementAddress(s)
      fn(s)
      noteManagementChange(s, before)
      saveState(statePath, s)
      syncQuirkTools(binDir, { statePath, simCli })
    },
    logMark: () => loadState(statePath).log.length,
    writesSince: (mark) => writeCommands(loadState(statePath).log.slice(mark)),
    sh(args, env = {}, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const child = spawn(join(binDir, 'sh'), args, {
          env: { PATH: binDir, HOME: tmp.path, MIDWIFE_SSH_KEY_DIR: keyDir, ...env },
          cwd: tmp.path,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
        child.on('error', reject)
        child.on('close', (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
      })
    },
    async startSsh(password, opts = {}) {
      const server = await startSimSshServer({
        statePath,
        hostKeyDir: keyDir,
        password,
        shell: { binDir, cwd: tmp.path },
        ...opts,
      })
      servers.push(server)
      return server
    },
    async close() {
      for (const s of servers) await s.close()
      tmp.remove()
    },
  }
}

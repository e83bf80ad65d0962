import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { buildSimCli, generateHostKeys, installEsxiBin } from '../esxi-sim/shims'
import { startSimSshServer, type SimSshServer } from '../esxi-sim/ssh-server'
import { defaultState, loadState, saveState, type SimState } from '../esxi-sim/state'
import { tempDir } from './app'

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
  hostKeys: ReturnType<typeof generateHostKeys>
  state(): SimState
  update(fn: (s: SimState) => void): void
  /** Runs a script file under the host's BusyBox ash, with only ESXi's applets on PATH. */
  sh(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<ShellRun>
  startSsh(password: string): Promise<SimSshServer>
  close(): Promise<void>
}

/**
 * One simulated ESXi host: a state file, a bin folder with BusyBox's ESXi
 * applets and the esxcli/vim-cmd/vsish shims (firewall enforced on wget), and
 * its SSH host keys where ESXi keeps them.
 */
export async function createSimHost(overrides: Partial<SimState> = {}): Promise<SimHost> {
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
    hostKeys,
    state: () => loadState(statePath),
    update(fn) {
      const s = loadState(statePath)
      fn(s)
      saveState(statePath, s)
    },
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
    async startSsh(password) {
      const server = await startSimSshServer({ statePath, hostKeyDir: keyDir, password })
      servers.push(server)
      return server
    },
    async close() {
      for (const s of servers) await s.close()
      tmp.remove()
    },
  }
}

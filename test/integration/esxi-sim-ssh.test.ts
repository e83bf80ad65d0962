import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeSSH } from 'node-ssh'
import ssh2 from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ESXI_APPLETS, buildSimCli, generateHostKeys, installEsxiBin } from '../esxi-sim/shims'
import { startSimSshServer } from '../esxi-sim/ssh-server'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { defaultState, loadState, saveState } from '../esxi-sim/state'

const PASSWORD = 'VMware1!'

let dir: string
let statePath: string
let keyDir: string
let binDir: string
let fwBinDir: string
let server: SimSshServer
const clients: NodeSSH[] = []

async function login(extra: Record<string, unknown> = {}): Promise<NodeSSH> {
  const ssh = new NodeSSH()
  clients.push(ssh)
  await ssh.connect({
    host: server.host,
    port: server.port,
    username: 'root',
    password: PASSWORD,
    tryKeyboard: true,
    readyTimeout: 10_000,
    ...extra,
  })
  return ssh
}

function esxiShell(
  bin: string,
  script: string,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/busybox', ['sh', '-c', script], { env: { PATH: bin } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ stdout, stderr, code }))
  })
}

const fingerprint = (blob: Buffer) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esxi-sim-ssh-'))
  statePath = join(dir, 'state.json')
  keyDir = join(dir, 'etc-ssh')
  binDir = join(dir, 'bin')
  fwBinDir = join(dir, 'bin-fw')
  saveState(statePath, defaultState())
  generateHostKeys(keyDir)
  server = await startSimSshServer({ statePath, hostKeyDir: keyDir, password: PASSWORD })
  const simCli = await buildSimCli(dir)
  installEsxiBin(binDir, { statePath, simCli })
  installEsxiBin(fwBinDir, { statePath, simCli, enforceFirewall: true })
})

afterAll(async () => {
  for (const c of clients) c.dispose()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the simulated ESXi sshd', () => {
  it('logs in through keyboard-interactive and configures the host', async () => {
    const ssh = await login()
    const r = await ssh.execCommand('esxcli system hostname set --host=esx01 --domain=lab.local')
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' })
    const s = loadState(statePath)
    expect([s.hostname, s.domain]).toEqual(['esx01', 'lab.local'])
    expect(s.log.at(-1)).toBe('esxcli system hostname set --host=esx01 --domain=lab.local')
    const get = await ssh.execCommand('esxcli system hostname get', { noTrim: true })
    expect(get.stdout).toBe(
      '   Domain Name: lab.local\n' +
        '   Fully Qualified Domain Name: esx01.lab.local\n' +
        '   Host Name: esx01\n',
    )
    const missing = await ssh.execCommand('cat /etc/issue')
    expect(missing).toMatchObject({ code: 127, stderr: 'sh: cat: not found' })
  })

  it('prompts `(root@IP) Password: ` without echo and sends a banner that warns of logging', async () => {
    const seen = await new Promise<{ banner: string; prompt: string; echo: boolean | undefined }>(
      (resolve, reject) => {
        const c = new ssh2.Client()
        let banner = ''
        c.on('banner', (m) => (banner += m))
        c.on('keyboard-interactive', (_name, _instr, _lang, prompts, finish) => {
          const p = prompts[0]
          finish([PASSWORD])
          c.on('ready', () => {
            c.end()
            resolve({ banner, prompt: p?.prompt ?? '', echo: p?.echo })
          })
        })
        c.on('error', reject)
        c.connect({ host: server.host, port: server.port, username: 'root', tryKeyboard: true })
      },
    )
    expect(seen.prompt).toBe('(root@127.0.0.1) Password: ')
    expect(seen.echo).toBe(false)
    expect(seen.banner.split('\n').length).toBeGreaterThan(3)
    expect(seen.banner).toMatch(/commands run on the ESXi shell are logged/)
  })

  // esxi.md does not say where the warning goes: the quirk puts it on either stream of each command.
  it.each(['stdout', 'stderr'] as const)(
    'with loginWarning %s, opens that stream of every command with the warning',
    async (stream) => {
      const s = loadState(statePath)
      saveState(statePath, { ...s, quirks: { ...s.quirks, loginWarning: stream } })
      try {
        const ssh = await login()
        const r = await ssh.execCommand('esxcli system hostname get', { noTrim: true })
        expect(r.code).toBe(0)
        expect(r[stream]).toMatch(/^WARNING:\n {3}All commands run on the ESXi shell are logged/)
        expect(r.stdout).toMatch(/ {3}Host Name: \S+\n$/)
      } finally {
        saveState(statePath, { ...loadState(statePath), quirks: s.quirks })
      }
    },
  )

  it('refuses the plain password method', async () => {
    await expect(login({ tryKeyboard: false })).rejects.toThrow(
      /All configured authentication methods failed/,
    )
  })

  it('refuses a wrong password', async () => {
    await expect(login({ password: 'wrong' })).rejects.toThrow(
      /All configured authentication methods failed/,
    )
  })

  it('presents the host keys whose .pub files sit in the key folder, never with ssh-rsa', async () => {
    const pub = (name: string) =>
      fingerprint(
        Buffer.from(readFileSync(join(keyDir, name), 'utf8').split(' ')[1] ?? '', 'base64'),
      )
    const presented = async (serverHostKey?: string[]) => {
      let seen = ''
      const ssh = await login({
        ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
        hostVerifier: (key: Buffer) => {
          seen = fingerprint(key)
          return true
        },
      })
      ssh.dispose()
      return seen
    }
    expect(
      readdirSync(keyDir)
        .filter((f) => f.endsWith('.pub'))
        .sort(),
    ).toEqual(['ssh_host_ecdsa_key.pub', 'ssh_host_rsa_key.pub'])
    expect(await presented()).toBe(pub('ssh_host_ecdsa_key.pub'))
    expect(await presented(['rsa-sha2-512'])).toBe(pub('ssh_host_rsa_key.pub'))
    expect(await presented(['rsa-sha2-256'])).toBe(pub('ssh_host_rsa_key.pub'))
    await expect(presented(['ssh-rsa'])).rejects.toThrow()
    await expect(presented(['ssh-ed25519'])).rejects.toThrow()
  })

  it('refuses shells and ptys', async () => {
    const ssh = await login()
    await expect(ssh.requestShell()).rejects.toThrow()
  })

  it('serves a hanging command without blocking other sessions', async () => {
    const s = loadState(statePath)
    s.faults = [{ match: 'esxcli system ntp get', delayMs: 1500 }]
    saveState(statePath, s)
    const [a, b] = await Promise.all([login(), login()])
    expect(server.connections()).toBeGreaterThanOrEqual(2)
    const started = Date.now()
    const slow = a.execCommand('esxcli system ntp get')
    const fast = await b.execCommand('esxcli system version get')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(fast.stdout).toContain('Version: 8.0.2')
    expect(await slow).toMatchObject({ code: 0, stdout: '' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400)
    const after = loadState(statePath)
    after.faults = []
    saveState(statePath, after)
  })
  it('expects the new root password after `esxcli system account set`', async () => {
    const ssh = await login()
    const r = await ssh.execCommand(
      "esxcli system account set -i root -p 'N3w-Pa55!' -c 'N3w-Pa55!'",
    )
    expect(r.code).toBe(0)
    await expect(login()).rejects.toThrow(/All configured authentication methods failed/)
    await login({ password: 'N3w-Pa55!' })
    const s = loadState(statePath)
    s.rootPassword = null
    saveState(statePath, s)
  })

  it('counts connections and closes them all on close()', async () => {
    const other = await startSimSshServer({ statePath, hostKeyDir: keyDir, password: PASSWORD })
    const ssh = new NodeSSH()
    await ssh.connect({
      host: other.host,
      port: other.port,
      username: 'root',
      password: PASSWORD,
      tryKeyboard: true,
    })
    expect(other.connections()).toBe(1)
    const dropped = new Promise<void>((resolve) => ssh.connection?.once('close', () => resolve()))
    await other.close()
    await dropped
    expect(other.connections()).toBe(0)
    expect(ssh.isConnected()).toBe(false)
  })

  it('listens on loopback only', async () => {
    await expect(
      startSimSshServer({ statePath, hostKeyDir: keyDir, password: PASSWORD, host: '0.0.0.0' }),
    ).rejects.toThrow(/127\.0\.0\.0\/8/)
  })
})

describe('the ESXi shell built from shims', () => {
  it('holds only the BusyBox applets ESXi has and the ESXi tools', () => {
    expect(readdirSync(binDir).sort()).toEqual(
      [
        ...ESXI_APPLETS,
        'esxcli',
        'esxcfg-route',
        'localcli',
        'sleep',
        'vim-cmd',
        'vmkping',
        'vmware',
        'vsish',
      ].sort(),
    )
  })

  it('sees the same host as SSH', async () => {
    const set = await esxiShell(binDir, 'esxcli system hostname set --fqdn=esx02.lab.local')
    expect(set.code).toBe(0)
    const ssh = await login()
    const viaSsh = await ssh.execCommand('esxcli system hostname get')
    expect(viaSsh.stdout).toContain('   Fully Qualified Domain Name: esx02.lab.local')
    const viaShim = await esxiShell(
      binDir,
      'esxcli system hostname get | grep "Host Name" | cut -d: -f2 | sed "s/^ //"',
    )
    expect(viaShim).toEqual({ stdout: 'esx02\n', stderr: '', code: 0 })
    const noCurl = await esxiShell(binDir, 'curl -s http://127.0.0.1/; echo "rc=$?"')
    expect(noCurl.stdout).toBe('rc=127\n')
  })

  describe('wget behind the ESXi outbound firewall', () => {
    let http: HttpServer
    let url: string
    beforeAll(async () => {
      http = createServer((_req, res) => res.end('checked in\n'))
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/checkin`
    })
    afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())))

    it('times out while the firewall is on, and connects once it is off', async () => {
      const blocked = await esxiShell(fwBinDir, 'wget -q -O - http://127.0.0.1:8080/ks.cfg')
      expect(blocked).toEqual({
        stdout: '',
        stderr: "wget: can't connect to remote host (127.0.0.1): Connection timed out\n",
        code: 1,
      })
      // httpClient opens 80/443 only, so a listener on another port stays unreachable.
      await esxiShell(fwBinDir, 'esxcli network firewall ruleset set -r httpClient -e true')
      const stillBlocked = await esxiShell(fwBinDir, `wget -q -O - ${url}`)
      expect(stillBlocked.code).toBe(1)
      expect(stillBlocked.stderr).toMatch(/Connection timed out/)

      const off = await esxiShell(
        fwBinDir,
        `esxcli network firewall set --enabled false && wget -q -O - ${url}; rc=$?; esxcli network firewall set --enabled true; exit $rc`,
      )
      expect(off).toEqual({ stdout: 'checked in\n', stderr: '', code: 0 })
      expect(loadState(statePath).firewall.enabled).toBe(true)
    })
  })
})

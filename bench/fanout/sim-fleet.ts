// A rack of simulated ESXi hosts in their own process, so Midwife's process
// holds only Midwife: each host has its state file, its ESXi bin, its own SSH
// host keys and an sshd at its own address in 127.0.0.0/8. Every command the
// simulator runs is held `delay` ms. Prints one JSON line describing the rack
// (with each host's check-in outputs, read from the simulator as checkin.sh
// reads them), then serves until stdin closes.
// `MIDWIFE_BENCH_SIM_PASSWORD=... node scripts/run-ts.mjs bench/fanout/sim-fleet.ts <count> <delayMs>`
// (the password comes by environment, never on a command line others can read).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommandLine } from '../../test/esxi-sim/interpreter'
import { build } from 'esbuild'
import { generateHostKeys, installEsxiBin } from '../../test/esxi-sim/shims'
import { startSimSshServer, type SimSshServer } from '../../test/esxi-sim/ssh-server'
import { defaultState, oneNicMachine, saveState } from '../../test/esxi-sim/state'
import { managementNetwork } from '../../test/support/esxi-host'

export interface FleetHost {
  mac: string
  address: string
  port: number
  statePath: string
  /** What checkin.sh would send, without the token. */
  checkin: { client: string; outputs: Record<string, string>; sshHostKeys: string[] }
}

const count = Number(process.argv[2] ?? 1)
const delayMs = Number(process.argv[3] ?? 300)
const password = process.env.MIDWIFE_BENCH_SIM_PASSWORD ?? ''

const hex = (n: number) => n.toString(16).padStart(2, '0')
const root = mkdtempSync(join(tmpdir(), 'midwife-bench-fleet-'))
// As buildSimCli does, from the repository root (this file runs bundled, away from its source).
const simCli = join(root, 'sim-cli.mjs')
await build({
  entryPoints: [join('test', 'esxi-sim', 'cli.ts')],
  outfile: simCli,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'silent',
})
const servers: SimSshServer[] = []
const hosts: FleetHost[] = []

for (let i = 0; i < count; i++) {
  const dir = join(root, `esx${i}`)
  const statePath = join(dir, 'state.json')
  const binDir = join(dir, 'bin')
  const address = `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`
  const mac = `00:50:56:b4:${hex(i >> 8)}:${hex(i & 255)}`
  const net = managementNetwork(address, '255.0.0.0')
  for (const v of net.vmknics) v.mac = `00:50:56:b5:${hex(i >> 8)}:${hex(i & 255)}`
  const state = defaultState({
    ...net,
    ...oneNicMachine(mac, `0x${hex(i >> 8)} 0x${hex(i & 255)}`, `VMware-bench-${i}`),
  })
  // The outputs checkin.sh collects, read before any delay is in place.
  const read = (line: string) => {
    const r = runCommandLine(line, state)
    return `${r.stdout}${r.stderr}`.replace(/\n$/, '')
  }
  const outputs = {
    nicList: read('esxcli network nic list'),
    platform: read('esxcli hardware platform get'),
    version: read('esxcli system version get'),
    ipv4: read('esxcli network ip interface ipv4 get'),
    hostname: read('esxcli system hostname get'),
    bootCmdLine: read('vsish -e get /system/bootCmdLine'),
  }
  state.log = []
  state.faults = [{ match: '', delayMs, slowOnly: true }]
  mkdirSync(dir, { recursive: true })
  saveState(statePath, state)
  installEsxiBin(binDir, { statePath, simCli, enforceFirewall: true })
  const keys = generateHostKeys(join(dir, 'etc-ssh'))
  const server = await startSimSshServer({
    statePath,
    hostKeyDir: join(dir, 'etc-ssh'),
    password,
    host: address,
    shell: { binDir, cwd: dir },
  })
  servers.push(server)
  hosts.push({
    mac,
    address,
    port: server.port,
    statePath,
    checkin: {
      client: 'checkin.sh/1',
      outputs,
      sshHostKeys: [keys.rsa.publicLine, keys.ecdsa.publicLine],
    },
  })
}
process.stdout.write(`${JSON.stringify({ hosts })}\n`)

process.stdin.resume()
process.stdin.on('end', () => {
  void Promise.all(servers.map((s) => s.close())).then(() => {
    rmSync(root, { recursive: true, force: true })
    process.exit(0)
  })
})

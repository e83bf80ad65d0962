// bench/fanout: one approved host against N approved at once. The simulated
// hosts run in their own process (bench/fanout/sim-fleet.ts), each command
// held 300 ms; Midwife (the real App, SQLite in a temp folder, its check-in
// listener on loopback) runs in this one, which measures its wall time, peak
// RSS, event-loop delay, and the latency of real HTTP check-ins posted while
// the runs go on. Run: npm run bench:fanout [-- --hosts N --delay MS]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { App } from '../../main/core/app'
import { loadState } from '../../test/esxi-sim/state'
import { randomRootPassword } from '../../test/support/passwords'
import { postCheckin as postCheckin_, startFleet, tokenOf, type FleetHost } from './fleet'

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '200' },
    delay: { type: 'string', default: '300' },
  },
})
const N = Number(values.hosts)
const delayMs = Number(values.delay)
// One host for the solo run, N for the fan-out, one that keeps checking in meanwhile.
const SOLO = 0
const PROBE = N + 1
const password = randomRootPassword('Bench')

const ms = (ns: bigint | number) => Number(ns) / 1e6
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN

const t = process.hrtime.bigint()
const fleet = await startFleet(N + 2, delayMs, password)
process.stderr.write(
  `${N + 2} simulated hosts up in ${(ms(process.hrtime.bigint() - t) / 1000).toFixed(1)} s\n`,
)

const dataDir = mkdtempSync(join(tmpdir(), 'midwife-bench-fanout-'))
const logged = { warn: 0, error: 0 }
const app = await App.start({
  dataDir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: {
    info: () => undefined,
    warn: () => void logged.warn++,
    error: () => void logged.error++,
  },
  listen: { host: '127.0.0.1', port: 0 },
  // Every check-in comes from 127.0.0.1 here; on a real network each host has its own address.
  listenerLimits: {
    sourceBurst: 1e9,
    sourcePerMinute: 1e9,
    credentialBurst: 1e9,
    credentialPerMinute: 1e9,
    connectionsPerSource: 512,
  },
})
const listenerUrl = app.listenerUrl()

const postCheckin = (token: string, h: FleetHost, nonce?: number) =>
  postCheckin_(listenerUrl, token, h, nonce)

const ids: number[] = []
const tokens: string[] = []
for (const [i, h] of fleet.hosts.entries()) {
  const host = app.saveHost({
    hostname: `esx${i}`,
    domain: 'bench.local',
    mac: h.mac,
    spec: { dns: ['10.0.0.2', '10.0.0.3'], ntp: { servers: ['10.0.0.5'], enabled: true } },
    rootPassword: password,
    sshPort: h.port,
  })
  ids.push(host.id)
  tokens.push(tokenOf(app.getBootMaterial(host.id).kickstartUrl))
}
for (let i = 0; i < fleet.hosts.length; i += 20) {
  await Promise.all(
    fleet.hosts.slice(i, i + 20).map((h, j) => postCheckin(tokens[i + j] as string, h)),
  )
}
for (const id of ids) {
  const state = app.getHost(id).state
  if (state !== 'checked_in') throw new Error(`host ${id} is ${state} after its check-in`)
}

const execCount = (h: FleetHost) => loadState(h.statePath).execLog.length

async function approveAll(
  which: number[],
): Promise<{ wallMs: number; planMs: number; runs: number[] }> {
  const t0 = process.hrtime.bigint()
  const runs = await Promise.all(
    which.map(async (i) => {
      const id = ids[i] as number
      const plan = await app.planHost(id)
      return app.approveHost(id, plan.id).id
    }),
  )
  const planMs = ms(process.hrtime.bigint() - t0)
  await app.idle()
  return { wallMs: ms(process.hrtime.bigint() - t0), planMs, runs }
}

function failures(runs: number[]): string[] {
  return runs
    .map((r) => app.getRun(r))
    .filter((r) => r.state !== 'done')
    .map((r) => `run ${r.id} ${r.state}: ${r.error ?? ''}`)
}

// One host alone.
const solo = await approveAll([SOLO])
const soloFailed = failures(solo.runs)
const soloCommands = execCount(fleet.hosts[SOLO] as FleetHost)

// N hosts at once, while one more host keeps checking in and the event loop is watched.
const fan = Array.from({ length: N }, (_, i) => i + 1)
const loop = monitorEventLoopDelay({ resolution: 1 })
const latencies: number[] = []
let probing = true
let nonce = 0
const probe = (async () => {
  while (probing) {
    latencies.push(
      await postCheckin(tokens[PROBE] as string, fleet.hosts[PROBE] as FleetHost, nonce++),
    )
    await new Promise((r) => setTimeout(r, 100))
  }
})()
let peakRss = process.memoryUsage.rss()
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50)
loop.enable()
const many = await approveAll(fan)
loop.disable()
probing = false
await probe
clearInterval(sampler)
const manyFailed = failures(many.runs)
const commands = fan.map((i) => execCount(fleet.hosts[i] as FleetHost)).sort((a, b) => a - b)
latencies.sort((a, b) => a - b)

const concurrency = app.getSettings().runConcurrency
await app.stop()
fleet.stop()
rmSync(dataDir, { recursive: true, force: true })

const ratio = many.wallMs / solo.wallMs
process.stdout.write(
  [
    `Fan-out: ${N} hosts approved at once against 1 alone, every SSH command held ${delayMs} ms by the simulator`,
    `(run concurrency ${concurrency}, the Site setting's default), Node ${process.version}:`,
    '',
    '| | 1 host | N hosts |',
    '|---|---:|---:|',
    `| hosts | 1 | ${N} |`,
    `| plan + approve, s | ${(solo.planMs / 1000).toFixed(2)} | ${(many.planMs / 1000).toFixed(2)} |`,
    `| wall time (plan to last run done), s | ${(solo.wallMs / 1000).toFixed(2)} | ${(many.wallMs / 1000).toFixed(2)} |`,
    `| N / 1 | | ${ratio.toFixed(2)}× (target ≤ 1.5×) |`,
    `| SSH commands per host (min / median / max) | ${soloCommands} | ${commands[0]} / ${pct(commands, 50)} / ${commands.at(-1)} |`,
    `| runs not done | ${soloFailed.length} | ${manyFailed.length} |`,
    '',
    'During the N-host fan-out:',
    '',
    '| measure | value |',
    '|---|---:|',
    `| event-loop delay p50 / p99 / max, ms | ${ms(loop.percentile(50)).toFixed(1)} / ${ms(loop.percentile(99)).toFixed(1)} / ${ms(loop.max).toFixed(1)} |`,
    `| check-ins posted meanwhile | ${latencies.length} |`,
    `| check-in latency p50 / p99 / max, ms | ${pct(latencies, 50).toFixed(1)} / ${pct(latencies, 99).toFixed(1)} / ${(latencies.at(-1) ?? NaN).toFixed(1)} |`,
    `| Midwife process RSS peak during the fan-out, MiB | ${mib(peakRss)} |`,
    `| Midwife process max RSS (whole run), MiB | ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} |`,
    `| log lines: warnings / errors | ${logged.warn} / ${logged.error} |`,
    '',
    ...[...soloFailed, ...manyFailed].slice(0, 5),
  ].join('\n') + '\n',
)

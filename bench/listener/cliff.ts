// What more work per request costs the bare baseline server at 1 concurrent
// connection: the baseline alone, then with N µs of CPU spun per request
// before its insert (BENCH_EXTRA_US), each in its own process, measured in
// interleaved slices like bench/listener. On a machine where waking an idle
// CPU is expensive (this virtual machine), throughput is not a straight line
// in the work per request: past some tens of µs, the client has gone to sleep
// before its answer arrives and each round trip pays for waking it.
// Run: node scripts/run-ts.mjs bench/listener/cliff.ts [--extra 0,25,50,75,100,150,200 --seconds 4]
import { parseArgs } from 'node:util'
import { cpuSeconds, load, start, type Server } from './harness'

const { values } = parseArgs({
  options: {
    extra: { type: 'string', default: '0,25,50,75,100,150,200' },
    seconds: { type: 'string', default: '4' },
  },
})
const extras = values.extra.split(',').map(Number)
const seconds = Number(values.seconds)
const SLICES = 4

const servers: Array<{ extra: number; server: Server; n: number; s: number; cpu: number }> = []
try {
  for (const extra of extras) {
    const server = await start('baseline', { BENCH_EXTRA_US: String(extra) })
    await load(server, 1, 1)
    servers.push({ extra, server, n: 0, s: 0, cpu: 0 })
  }
  for (let slice = 0; slice < SLICES; slice++) {
    // Alternate the order, so a drift of the machine's speed lands on every server alike.
    const order = slice % 2 === 0 ? servers : [...servers].reverse()
    for (const row of order) {
      const before = cpuSeconds(row.server.pid)
      const l = await load(row.server, 1, seconds / SLICES)
      const after = cpuSeconds(row.server.pid)
      row.n += l.answers
      row.s += l.seconds
      row.cpu += before === null || after === null ? NaN : after - before
    }
  }
} finally {
  for (const row of servers) row.server.child.kill('SIGTERM')
}
const first = servers[0]
const rps = (r: (typeof servers)[number]) => r.n / r.s
process.stdout.write(
  [
    `Baseline at 1 concurrent with extra CPU per request, ${seconds} s each in ${SLICES} interleaved slices, Node ${process.version}:`,
    '',
    '| extra µs per request | req/s | against no extra | round trip µs | CPU µs/req |',
    '|---:|---:|---:|---:|---:|',
    ...servers.map(
      (r) =>
        `| ${r.extra} | ${Math.round(rps(r))} | ${first ? (rps(r) / rps(first)).toFixed(2) : '-'}× | ${Math.round(1e6 / rps(r))} | ${Number.isNaN(r.cpu) ? '-' : Math.round((r.cpu * 1e6) / r.n)} |`,
    ),
    '',
  ].join('\n'),
)

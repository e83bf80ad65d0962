// bench/listener: Midwife's check-in endpoint against a bare node:http +
// better-sqlite3 baseline, side by side in one run, at 1, 50 and 200
// concurrent connections. Each server runs in its own process; the load comes
// from this one (autocannon). This machine's speed drifts by tens of percent
// within minutes, so the two are not measured one after the other: each
// level is cut into slices run in the order B M M B B M M B, and each
// server's throughput and p99 come from all of its slices together, each
// slice counted once all its connections are open (harness.ts says why; the
// p99 with the ramp is shown too). Run: npm run bench:listener [-- --seconds N --levels 1,50,200]
import { parseArgs } from 'node:util'
import { cpuSeconds, load, p99, start, type Load } from './harness'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    levels: { type: 'string', default: '1,50,200' },
  },
})
const seconds = Number(values.seconds)
const warmup = Number(values.warmup)
const LEVELS = values.levels.split(',').map(Number)

const ORDER = ['baseline', 'midwife', 'midwife', 'baseline'] as const
const SLICES = 2 * ORDER.length

const rows: string[] = []
const midwife = await start('midwife')
const baseline = await start('baseline')
const servers = { baseline, midwife }
try {
  for (const c of LEVELS) {
    for (const name of ['baseline', 'midwife'] as const) await load(servers[name], c, warmup)
    const got = {
      baseline: { seconds: 0, answers: 0, cpu: 0, latencies: [] as number[], all: [] as number[] },
      midwife: { seconds: 0, answers: 0, cpu: 0, latencies: [] as number[], all: [] as number[] },
    }
    for (let i = 0; i < SLICES; i++) {
      const name = ORDER[i % ORDER.length] as keyof typeof got
      const before = cpuSeconds(servers[name].pid)
      const l = await load(servers[name], c, (2 * seconds) / SLICES)
      const after = cpuSeconds(servers[name].pid)
      got[name].seconds += l.seconds
      got[name].answers += l.answers
      got[name].cpu += before === null || after === null ? NaN : after - before
      for (const t of l.latencies) got[name].latencies.push(t)
      for (const t of l.all) got[name].all.push(t)
    }
    // The server's CPU time per answered request: where a ratio comes from.
    const cpuUs = (g: { cpu: number; all: number[] }) =>
      Number.isNaN(g.cpu) ? '-' : String(Math.round((g.cpu * 1e6) / g.all.length))
    const rps = (g: Pick<Load, 'answers' | 'seconds'>) => g.answers / g.seconds
    const b = {
      rps: rps(got.baseline),
      p99: p99(got.baseline.latencies),
      ramp: p99(got.baseline.all),
    }
    const m = { rps: rps(got.midwife), p99: p99(got.midwife.latencies), ramp: p99(got.midwife.all) }
    const ms = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)))
    rows.push(
      `| ${c} | ${Math.round(b.rps)} | ${Math.round(m.rps)} | ${(m.rps / b.rps).toFixed(2)}× | ${ms(b.p99)} | ${ms(m.p99)} | ${(m.p99 / Math.max(b.p99, 0.1)).toFixed(2)}× | ${ms(b.ramp)} / ${ms(m.ramp)} (${(m.ramp / Math.max(b.ramp, 0.1)).toFixed(2)}×) | ${cpuUs(got.baseline)} | ${cpuUs(got.midwife)} |`,
    )
    process.stderr.write(`${rows.at(-1)}\n`)
  }
} finally {
  midwife.child.kill('SIGTERM')
  baseline.child.kill('SIGTERM')
}
process.stdout.write(
  [
    `Check-in endpoint, ${seconds} s per server and level (in ${SLICES / 2} slices each, interleaved) after ${warmup} s of warm-up, Node ${process.version}:`,
    '',
    '| concurrent | baseline req/s | Midwife req/s | Midwife / baseline | baseline p99 ms | Midwife p99 ms | p99 ratio | p99 ms with each slice ramp | baseline CPU µs/req | Midwife CPU µs/req |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
)

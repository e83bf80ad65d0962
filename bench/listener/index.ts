// bench/listener: Midwife's check-in endpoint against a bare node:http +
// better-sqlite3 baseline, side by side in one run, at 1, 50 and 200
// concurrent connections. Each server runs in its own process; the load comes
// from this one (autocannon). This machine's speed drifts by tens of percent
// within minutes, so the two are not measured one after the other: each
// level is cut into slices run in the order B M M B B M M B, and each
// server's throughput and p99 come from all of its slices together (every
// response time is kept). Run: npm run bench:listener [-- --seconds N --levels 1,50,200]
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { templates } from './bodies'

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

interface Server {
  child: ChildProcess
  port: number
  /** The server's own process (run-ts.mjs runs it as its child). */
  pid: number
  bodies: string[]
}

/** CPU seconds a process has used (user + system), from /proc; null where there is none. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

function start(name: 'midwife' | 'baseline'): Promise<Server> {
  const child = spawn(
    process.execPath,
    [join('scripts', 'run-ts.mjs'), join('bench', 'listener', `${name}-server.ts`)],
    // Midwife's log goes where a service's stderr would: not to this terminal.
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (!line) return
      const { port, tokens, pid } = JSON.parse(line) as {
        port: number
        tokens: string[]
        pid: number
      }
      resolve({ child, port, pid, bodies: templates(tokens) })
    })
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)))
  })
}

let nonce = 0
interface Load {
  seconds: number
  /** Every response time, in ms. */
  latencies: number[]
}

async function load(s: Server, connections: number, duration: number): Promise<Load> {
  let next = 0
  const latencies: number[] = []
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${s.port}/checkin`,
    connections,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest(req) {
          const body = (s.bodies[next++ % s.bodies.length] as string).replace(
            'NONCE',
            String(nonce++),
          )
          return { ...req, body }
        },
      },
    ],
  }
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: Error | null, r) => (err ? reject(err) : resolve(r)))
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime)
    })
  })
  const bad = result.non2xx + result.errors + result.timeouts
  if (bad > 0) throw new Error(`${bad} failed requests (non-2xx ${result.non2xx})`)
  return { seconds: result.duration, latencies }
}

function p99(latencies: number[]): number {
  const sorted = Float64Array.from(latencies).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
}

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
      baseline: { seconds: 0, cpu: 0, latencies: [] as number[] },
      midwife: { seconds: 0, cpu: 0, latencies: [] as number[] },
    }
    for (let i = 0; i < SLICES; i++) {
      const name = ORDER[i % ORDER.length] as keyof typeof got
      const before = cpuSeconds(servers[name].pid)
      const l = await load(servers[name], c, (2 * seconds) / SLICES)
      const after = cpuSeconds(servers[name].pid)
      got[name].seconds += l.seconds
      got[name].cpu += before === null || after === null ? NaN : after - before
      for (const t of l.latencies) got[name].latencies.push(t)
    }
    // The server's CPU time per answered request: where a ratio comes from.
    const cpuUs = (g: { cpu: number; latencies: number[] }) =>
      Number.isNaN(g.cpu) ? '-' : String(Math.round((g.cpu * 1e6) / g.latencies.length))
    const rps = (g: Load) => g.latencies.length / g.seconds
    const b = { rps: rps(got.baseline), p99: p99(got.baseline.latencies) }
    const m = { rps: rps(got.midwife), p99: p99(got.midwife.latencies) }
    const ms = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)))
    rows.push(
      `| ${c} | ${Math.round(b.rps)} | ${Math.round(m.rps)} | ${(m.rps / b.rps).toFixed(2)}× | ${ms(b.p99)} | ${ms(m.p99)} | ${(m.p99 / Math.max(b.p99, 0.1)).toFixed(2)}× | ${cpuUs(got.baseline)} | ${cpuUs(got.midwife)} |`,
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
    '| concurrent | baseline req/s | Midwife req/s | Midwife / baseline | baseline p99 ms | Midwife p99 ms | p99 ratio | baseline CPU µs/req | Midwife CPU µs/req |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
)

// bench/listener: Midwife's check-in endpoint against a bare node:http +
// better-sqlite3 baseline, side by side in one run, at 1, 50 and 200
// concurrent connections. Each server runs in its own process; the load comes
// from this one (autocannon). Run: npm run bench:listener [-- --seconds N]
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { templates } from './bodies'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' } },
})
const seconds = Number(values.seconds)
const warmup = Number(values.warmup)
const LEVELS = [1, 50, 200]

interface Server {
  child: ChildProcess
  port: number
  bodies: string[]
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
      const { port, tokens } = JSON.parse(line) as { port: number; tokens: string[] }
      resolve({ child, port, bodies: templates(tokens) })
    })
    child.once('exit', (code) => reject(new Error(`${name} server exited with ${code}`)))
  })
}

let nonce = 0
async function load(s: Server, connections: number, duration: number) {
  let next = 0
  const result = await autocannon({
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
  })
  const bad = result.non2xx + result.errors + result.timeouts
  if (bad > 0) throw new Error(`${bad} failed requests (non-2xx ${result.non2xx})`)
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

const rows: string[] = []
const midwife = await start('midwife')
const baseline = await start('baseline')
try {
  for (const c of LEVELS) {
    const got: Record<string, { rps: number; p50: number; p99: number }> = {}
    for (const [name, s] of [
      ['baseline', baseline],
      ['midwife', midwife],
    ] as const) {
      await load(s, c, warmup)
      got[name] = await load(s, c, seconds)
    }
    const b = got.baseline as { rps: number; p50: number; p99: number }
    const m = got.midwife as { rps: number; p50: number; p99: number }
    rows.push(
      `| ${c} | ${Math.round(b.rps)} | ${Math.round(m.rps)} | ${(m.rps / b.rps).toFixed(2)}× | ${b.p99} | ${m.p99} | ${(m.p99 / Math.max(b.p99, 1)).toFixed(2)}× |`,
    )
    process.stderr.write(`${rows.at(-1)}\n`)
  }
} finally {
  midwife.child.kill('SIGTERM')
  baseline.child.kill('SIGTERM')
}
process.stdout.write(
  [
    `Check-in endpoint, ${seconds} s per level after ${warmup} s of warm-up, Node ${process.version}:`,
    '',
    '| concurrent | baseline req/s | Midwife req/s | Midwife / baseline | baseline p99 ms | Midwife p99 ms | p99 ratio |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
)

// A rack checking in at once: N servers (200 by default), each on a new connection with one
// request and `Connection: close`, as BusyBox wget sends a check-in, all started together, in
// rounds. Node's libuv accepts one connection per turn of the event loop (libuv#3696), so this is
// the listener's accept pace under a burst: how long until every one of them is answered.
// Run: node scripts/run-ts.mjs bench/listener/burst.ts [--servers N --rounds R]
import http from 'node:http'
import { parseArgs } from 'node:util'
import { start } from './harness'

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
  },
})
const n = Number(values.servers)
const rounds = Number(values.rounds)

const midwife = await start('midwife')
let nonce = 0

function checkIn(i: number): Promise<number> {
  const body = (midwife.bodies[i % midwife.bodies.length] as string).replace(
    'NONCE',
    `burst-${nonce++}`,
  )
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: midwife.port,
        path: '/checkin',
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          connection: 'close',
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 201) resolve(performance.now() - t0)
          else reject(new Error(`answered ${res.statusCode ?? '?'}`))
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const rows: string[] = []
try {
  for (let round = 1; round <= rounds; round++) {
    const t = (await Promise.all(Array.from({ length: n }, (_, i) => checkIn(i)))).sort(
      (a, b) => a - b,
    )
    const at = (q: number) => Math.round(t[Math.min(n - 1, Math.floor(n * q))] as number)
    rows.push(`| ${round} | ${at(0.5)} | ${at(0.99)} | ${Math.round(t[n - 1] as number)} |`)
    process.stderr.write(`${rows.at(-1)}\n`)
    await new Promise((r) => setTimeout(r, 1000))
  }
} finally {
  midwife.child.kill('SIGTERM')
}
process.stdout.write(
  [
    `${n} check-ins at once, each on its own connection, ${rounds} rounds, Node ${process.version}:`,
    '',
    '| round | median ms | p99 ms | last answered ms |',
    '|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
)

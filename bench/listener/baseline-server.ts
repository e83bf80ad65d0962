// The baseline: a bare node:http server that parses the JSON body and inserts
// it into better-sqlite3 with the same durability settings as Midwife (WAL,
// synchronous=NORMAL), then answers 201. No validation, no identity, no audit.
// BENCH_EXTRA_US=N makes it spin N µs of CPU per request before the insert
// (bench/listener/cliff.ts: what more work per request costs at 1 concurrent).
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HOSTS } from './bodies'

const dir = mkdtempSync(join(tmpdir(), 'midwife-bench-base-'))
const db = new Database(join(dir, 'b.db'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(
  'CREATE TABLE checkins (id INTEGER PRIMARY KEY, received_at TEXT, source_ip TEXT, token TEXT, payload TEXT)',
)
const insert = db.prepare(
  'INSERT INTO checkins (received_at, source_ip, token, payload) VALUES (?, ?, ?, ?)',
)

const EXTRA_NS = BigInt(Math.round(Number(process.env.BENCH_EXTRA_US ?? 0) * 1000))
function extraWork(): void {
  if (EXTRA_NS === 0n) return
  const until = process.hrtime.bigint() + EXTRA_NS
  while (process.hrtime.bigint() < until);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    let body: { token?: unknown }
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: unknown }
    } catch {
      res.writeHead(400).end()
      return
    }
    extraWork()
    const info = insert.run(
      new Date().toISOString(),
      req.socket.remoteAddress ?? '',
      String(body.token),
      JSON.stringify(body),
    )
    const out = JSON.stringify({ accepted: true, checkinId: Number(info.lastInsertRowid) })
    res.writeHead(201, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(out),
    })
    res.end(out)
  })
})
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as { port: number }).port
  const tokens = Array.from({ length: HOSTS }, (_, i) => `baseline-token-${i}`.padEnd(43, 'x'))
  process.stdout.write(`${JSON.stringify({ port, tokens, pid: process.pid })}\n`)
})
process.on('SIGTERM', () =>
  server.close(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  }),
)

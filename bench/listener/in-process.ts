// The check-in path without HTTP: what Midwife adds per check-in on top of
// receiving a body, measured in process (accept(), 50 at a time so they
// share group commits), next to parsing the JSON and inserting it as the
// baseline server does. A profiling aid for bench/listener.
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App } from '../../main/core/app'
import { credentialOf, interpretCheckin } from '../../main/core/listener/checkin'
import { macOf, templates } from './bodies'

const N = 20_000
const dataDir = mkdtempSync(join(tmpdir(), 'midwife-bench-inproc-'))
const app = await App.start({
  dataDir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  listen: { host: '127.0.0.1', port: 0 },
})
const tokens: string[] = []
for (let i = 0; i < 200; i++) {
  const h = app.saveHost({
    hostname: `esx${i}`,
    domain: 'bench.local',
    mac: macOf(i),
    spec: { dns: ['10.0.0.2'], ntp: { servers: ['10.0.0.3'] } },
    rootPassword: 'Bench-pw-1!',
  })
  tokens.push(/\/ks\/([^/]+)\.cfg$/.exec(app.getBootMaterial(h.id).kickstartUrl)?.[1] as string)
}
const bodies = templates(tokens)
const raws = Array.from({ length: N }, (_, i) =>
  (bodies[i % bodies.length] as string).replace('NONCE', String(i)),
)

let cpu0 = process.cpuUsage()
/** Wall time per item, and CPU time per item (all threads: GC helpers count too). */
function perItem(t0: bigint): string {
  const cpu = process.cpuUsage(cpu0)
  cpu0 = process.cpuUsage()
  const wall = Number(process.hrtime.bigint() - t0) / N / 1000
  return `${wall.toFixed(1)} µs (CPU ${((cpu.user + cpu.system) / N).toFixed(1)} µs)`
}

let t0 = process.hrtime.bigint()
cpu0 = process.cpuUsage()
for (const raw of raws) interpretCheckin(JSON.parse(raw))
console.log('parse + validate (interpretCheckin)', perItem(t0))

type CheckinHandler = (c: unknown, body: unknown, raw: string, from: string) => Promise<unknown>
const handlers = (
  app as unknown as { listenerHandlers(): { checkin: CheckinHandler } }
).listenerHandlers()
t0 = process.hrtime.bigint()
cpu0 = process.cpuUsage()
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    raws.slice(i, i + 50).map((raw) => {
      const json = JSON.parse(raw) as unknown
      return handlers.checkin(credentialOf(json), json, raw, '127.0.0.1')
    }),
  )
}
console.log('Midwife check-in (JSON.parse + accept, 50 per commit)', perItem(t0))

const baseDir = mkdtempSync(join(tmpdir(), 'midwife-bench-inproc-b-'))
const db = new Database(join(baseDir, 'b.db'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(
  'CREATE TABLE checkins (id INTEGER PRIMARY KEY, received_at TEXT, source_ip TEXT, token TEXT, payload TEXT)',
)
const insert = db.prepare(
  'INSERT INTO checkins (received_at, source_ip, token, payload) VALUES (?, ?, ?, ?)',
)
t0 = process.hrtime.bigint()
cpu0 = process.cpuUsage()
for (const raw of raws) {
  const body = JSON.parse(raw) as { token?: unknown }
  insert.run(new Date().toISOString(), '127.0.0.1', String(body.token), JSON.stringify(body))
}
console.log('baseline (JSON.parse + autocommit insert)', perItem(t0))
await app.stop()
db.close()
rmSync(dataDir, { recursive: true, force: true })
rmSync(baseDir, { recursive: true, force: true })

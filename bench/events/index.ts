// bench/events: what one connected screen receives per run, against what the
// run leaves in the database. Midwife runs here with serve mode's HTTP +
// WebSocket binding on loopback; a real WebSocket client connects as the UI
// does and the bytes its socket reads (frames and all) are counted from
// approval until the run's last event. The host is simulated in its own
// process; its `esxcli system version get`, read in the connect step, prints
// the given number of extra lines, so one step's output is short or long.
// The stored size is every byte of the run's rows (runs, run_steps,
// run_output), read back from the SQLite file. Run: npm run bench:events
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { App } from '../../main/core/app'
import { startServe } from '../../main/serve/server'
import { runCommandLine } from '../../test/esxi-sim/interpreter'
import { defaultState, loadState, saveState, withStateLock } from '../../test/esxi-sim/state'
import { randomRootPassword } from '../../test/support/passwords'
import { postCheckin, startFleet, tokenOf, type FleetHost } from '../fanout/fleet'

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '10,1000,10000' } },
})
const sizes = values.lines.split(',').map(Number)
const password = randomRootPassword('Bench')
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }

const dir = mkdtempSync(join(tmpdir(), 'midwife-bench-events-'))
const fleet = await startFleet(sizes.length, 0, password)
const app = await App.start({
  dataDir: join(dir, 'data'),
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: quiet,
  listen: { host: '127.0.0.1', port: 0 },
})
const serve = await startServe({
  handlers: app,
  events: app.events,
  staticDir: dir,
  logger: quiet,
})

const versionText = runCommandLine('esxcli system version get', defaultState()).stdout

/** The host's version read prints `lines` more lines (ESXi ignores nothing; the parser does). */
async function padVersion(h: FleetHost, lines: number): Promise<void> {
  const extra = Array.from(
    { length: lines },
    (_, i) => `   Note ${String(i).padStart(5, '0')}: the quick brown fox jumps over the lazy dog`,
  ).join('\n')
  await withStateLock(h.statePath, () => {
    const s = loadState(h.statePath)
    s.faults = [{ match: 'esxcli system version get', stdout: `${versionText}${extra}\n` }]
    saveState(h.statePath, s)
  })
}

function connect(): Promise<{
  bytes: () => number
  events: Map<string, number>
  close: () => void
}> {
  const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/events`, {
    headers: { Authorization: `Bearer ${serve.token}` },
  })
  const events = new Map<string, number>()
  ws.on('message', (data: Buffer) => {
    const { event } = JSON.parse(data.toString()) as { event: string }
    events.set(event, (events.get(event) ?? 0) + data.length)
  })
  return new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => {
      const socket = (ws as unknown as { _socket: Socket })._socket
      const start = socket.bytesRead
      resolve({ bytes: () => socket.bytesRead - start, events, close: () => ws.close() })
    })
  })
}

function storedBytes(runId: number): { run: number; steps: number; output: number } {
  const db = new Database(join(dir, 'data', 'midwife.db'), { readonly: true })
  try {
    const sum = (table: string, where: string) => {
      const cols = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map(
        (c) => `COALESCE(length(CAST(${c.name} AS BLOB)), 0)`,
      )
      const row = db
        .prepare(`SELECT COALESCE(SUM(${cols.join(' + ')}), 0) AS n FROM ${table} WHERE ${where}`)
        .get(runId) as { n: number }
      return row.n
    }
    return {
      run: sum('runs', 'id = ?'),
      steps: sum('run_steps', 'run_id = ?'),
      output: sum('run_output', 'run_id = ?'),
    }
  } finally {
    db.close()
  }
}

const rows: string[] = []
for (const [i, lines] of sizes.entries()) {
  const h = fleet.hosts[i] as FleetHost
  const host = app.saveHost({
    hostname: `esx${i}`,
    domain: 'bench.local',
    mac: h.mac,
    spec: { dns: ['10.0.0.2', '10.0.0.3'], ntp: { servers: ['10.0.0.5'], enabled: true } },
    rootPassword: password,
    sshPort: h.port,
  })
  await postCheckin(app.listenerUrl(), tokenOf(app.getBootMaterial(host.id).kickstartUrl), h)
  const plan = await app.planHost(host.id)
  await padVersion(h, lines)
  const client = await connect()
  const run = app.approveHost(host.id, plan.id)
  await app.idle()
  // The last coalesced events leave within one flush interval (150 ms).
  await new Promise((r) => setTimeout(r, 500))
  const wire = client.bytes()
  client.close()
  const done = app.getRun(run.id)
  if (done.state !== 'done') throw new Error(`run ${run.id} ${done.state}: ${done.error ?? ''}`)
  const stored = storedBytes(run.id)
  const total = stored.run + stored.steps + stored.output
  const runEvents = [...client.events].filter(([e]) => e.startsWith('run.'))
  const runBytes = runEvents.reduce((n, [, b]) => n + b, 0)
  const count = (e: string) => client.events.get(e) ?? 0
  rows.push(
    `| ${lines} | ${total} | ${stored.output} | ${wire} | ${runBytes} | ${count('run.output')} | ${(wire / total).toFixed(2)}× |`,
  )
  process.stderr.write(
    `${lines} lines: ${[...client.events].map(([e, b]) => `${e} ${b}`).join(', ')}\n`,
  )
}

await serve.close()
await app.stop()
fleet.stop()
rmSync(dir, { recursive: true, force: true })

process.stdout.write(
  [
    `Event traffic to one connected client per run (serve mode WebSocket), Node ${process.version}:`,
    '',
    '| extra output lines | stored bytes (run + steps + output rows) | of which output | bytes on the wire | of which run.* messages | run.output messages | wire / stored |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
)

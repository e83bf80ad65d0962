// bench/memory: Midwife's memory with a site of N hosts (default 10,000)
// stored and a dashboard connected. Plain Node, serve mode: Electron cannot
// run on this machine, so the desktop app's main process (the same core plus
// Electron's own share) is not measured. The hosts come in by CSV import, as
// an operator would bring them; the dashboard runs in its own process
// (bench/memory/dashboard-client.ts) so only Midwife is counted here.
// Run: npm run bench:memory [-- --hosts N]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { App } from '../../main/core/app'
import { startServe } from '../../main/serve/server'
import { randomRootPassword } from '../../test/support/passwords'

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '10000' },
    // Internal: the second phase, Midwife started again on the data folder the first filled.
    reopen: { type: 'string' },
  },
})
const N = Number(values.hosts)
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const mib = (b: number) => (b / 1024 / 1024).toFixed(0)
const rows: string[] = []
function note(what: string, settle = true): void {
  if (settle) gc()
  const m = process.memoryUsage()
  rows.push(
    `| ${what} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${mib(m.external + m.arrayBuffers)} |`,
  )
}

const reopen = values.reopen
const dir = reopen ?? mkdtempSync(join(tmpdir(), 'midwife-bench-memory-'))
note('started, nothing stored')
const app = await App.start({
  dataDir: dir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: quiet,
  listen: { host: '127.0.0.1', port: 0 },
})
const serve = await startServe({ handlers: app, events: app.events, staticDir: dir, logger: quiet })
note(reopen ? `App and serve mode up again, ${N} hosts stored` : 'App and serve mode up, no hosts')

let importMs = 0
if (!reopen) {
  const hex = (n: number) => n.toString(16).padStart(2, '0')
  const csv = [
    'hostname,domain,mac,serial,mgmt_address,vmknics,dns_servers',
    ...Array.from({ length: N }, (_, i) => {
      const k = i + 1
      return [
        `esx${String(k).padStart(5, '0')}`,
        'hall.local',
        `00:50:56:${hex(k >> 16)}:${hex((k >> 8) & 255)}:${hex(k & 255)}`,
        `SN${k}`,
        `10.1.${k >> 8}.${k & 255}/16`,
        `VM Network:10.2.${k >> 8}.${k & 255}/16:1500:VMotion`,
        '10.0.0.2 10.0.0.3',
      ].join(',')
    }),
  ].join('\n')
  const rootPassword = randomRootPassword('Bench')
  const t0 = process.hrtime.bigint()
  app.importCsv(`${csv}\n`, { confirm: true, rootPassword })
  importMs = Number(process.hrtime.bigint() - t0) / 1e6
  note(`${N} hosts imported (CSV)`)
}

const client = spawn(
  process.execPath,
  [
    join('scripts', 'run-ts.mjs'),
    join('bench', 'memory', 'dashboard-client.ts'),
    String(serve.port),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MIDWIFE_BENCH_TOKEN: serve.token } },
)
const loaded = await new Promise<Array<{ bytes: number; ms: number; items: number }>>(
  (resolve, reject) => {
    let out = ''
    client.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const end = out.indexOf('\n')
      if (end >= 0) resolve((JSON.parse(out.slice(0, end)) as { loaded: [] }).loaded)
    })
    client.once('exit', (code) => reject(new Error(`the dashboard client exited with ${code}`)))
  },
)
note('dashboard connected and loaded, before GC', false)
note('dashboard connected and loaded, after GC')
const peak = process.resourceUsage().maxRSS * 1024

client.stdin.end()
await serve.close()
await app.stop()
const list = loaded[2] as { bytes: number; ms: number; items: number }
const measures = [
  `| peak RSS of the process (whole run), MiB | ${mib(peak)} (target ≤ 200) |`,
  ...(reopen ? [] : [`| CSV import of ${N} hosts, ms | ${importMs.toFixed(0)} |`]),
  `| host list as the dashboard loads it | ${list.items} hosts, ${(list.bytes / 1024 / 1024).toFixed(1)} MiB JSON, ${list.ms.toFixed(0)} ms |`,
]

if (reopen) {
  // The second phase reports to the first.
  process.stdout.write(`${JSON.stringify({ rows, measures })}\n`)
} else {
  // The operator's next day: Midwife started again on the folder the import filled.
  const again = await new Promise<{ rows: string[]; measures: string[] }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join('scripts', 'run-ts.mjs'),
        join('bench', 'memory', 'index.ts'),
        '--hosts',
        String(N),
        '--reopen',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as { rows: string[]; measures: string[] })
        : reject(new Error(`the restart phase exited with ${code}`)),
    )
  })
  rmSync(dir, { recursive: true, force: true })
  const table = (r: string[]) => [
    '| moment | RSS MiB | JS heap used MiB | external + buffers MiB |',
    '|---|---:|---:|---:|',
    ...r,
  ]
  process.stdout.write(
    [
      `Memory of Midwife (plain Node ${process.version}, serve mode) with ${N} hosts stored.`,
      '',
      'Importing them (one process):',
      '',
      ...table(rows),
      '',
      '| measure | value |',
      '|---|---:|',
      ...measures,
      '',
      'Started again on that data folder (a new process), dashboard connected:',
      '',
      ...table(again.rows),
      '',
      '| measure | value |',
      '|---|---:|',
      ...again.measures,
      '',
    ].join('\n'),
  )
}

// Host batches and the audit chain, timed in process on a real data folder:
// previewing and importing a CSV of N hosts into an empty Midwife, exporting
// it again, and what the hash chain costs an append and a full verify.
// `node scripts/run-ts.mjs bench/batch/index.ts [N]` (default 1000).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App } from '../../main/core/app'

const N = Number(process.argv[2] ?? 1000)
const dir = mkdtempSync(join(tmpdir(), 'midwife-bench-batch-'))
const app = await App.start({
  dataDir: dir,
  resourcesDir: join(process.cwd(), 'resources'),
  version: 'bench',
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  listen: { host: '127.0.0.1', port: 0 },
})

const hex = (n: number) => n.toString(16).padStart(2, '0')
const rows = Array.from({ length: N }, (_, i) => {
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
})
const text = `hostname,domain,mac,serial,mgmt_address,vmknics,dns_servers\n${rows.join('\n')}\n`

function timed<T>(label: string, fn: () => T): T {
  const t0 = process.hrtime.bigint()
  const out = fn()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  process.stdout.write(`${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms\n`)
  return out
}

process.stdout.write(`${N} hosts, ${(text.length / 1024).toFixed(0)} KiB of CSV\n`)
const preview = timed('preview (empty store)', () =>
  app.previewCsvImport(text, { rootPassword: 'Bench-pw-1!' }),
)
if (!preview.ready) throw new Error(preview.problems[0]?.message)
timed('import (one transaction)', () =>
  app.importCsv(text, { confirm: true, rootPassword: 'Bench-pw-1!' }),
)
timed('preview again (every row unchanged)', () => app.previewCsvImport(text))
timed('export', () => app.exportHostsCsv())

const appends = 10_000
const t0 = process.hrtime.bigint()
for (let i = 0; i < appends; i++) app.store.events.append('bench.entry', 'host:1', { i })
const perAppend = Number(process.hrtime.bigint() - t0) / appends / 1000
process.stdout.write(
  `${'audit append (own transaction)'.padEnd(34)} ${perAppend.toFixed(1).padStart(6)} µs\n`,
)
const entries = timed('audit verify (whole chain)', () => app.verifyAudit()).entries
process.stdout.write(`  (${entries} entries)\n`)
process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`)

await app.stop()
rmSync(dir, { recursive: true, force: true })

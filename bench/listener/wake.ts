// Why a check-in's JavaScript costs more in the listener than in a tight loop:
// the same validate-and-parse of the benchmark's bodies, timed one call at a
// time (1) back to back, (2) after the thread sleeps 150 µs, about as long as
// the listener idles between two requests at 1 concurrent, and (3) after
// 8 MB of memory is touched with no sleep, which evicts the data caches but
// leaves the CPU awake. Prints each case's median and p90 in µs, four rounds.
// Run: node scripts/run-ts.mjs bench/listener/wake.ts
import { interpretCheckin } from '../../main/core/listener/checkin'
import { templates } from './bodies'

const N = 4000
const tokens = Array.from({ length: 200 }, (_, i) => `bench-token-${i}`.padEnd(43, 'x'))
const bodies = templates(tokens)
const parsed = Array.from(
  { length: N },
  (_, i) =>
    JSON.parse((bodies[i % bodies.length] as string).replace('NONCE', String(i))) as unknown,
)
const cell = new Int32Array(new SharedArrayBuffer(4))
const junk = new Float64Array(1 << 20)

type Case = 'back to back' | 'after 150 µs asleep' | 'after 8 MB touched'
function round(c: Case): string {
  const times: number[] = []
  for (let i = 0; i < N; i++) {
    if (c === 'after 150 µs asleep') Atomics.wait(cell, 0, 0, 0.15)
    if (c === 'after 8 MB touched') for (let j = 0; j < junk.length; j += 8) junk[j] = i
    const t0 = process.hrtime.bigint()
    interpretCheckin(parsed[i])
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => (times[Math.floor(q * N)] as number).toFixed(1)
  return `${at(0.5)} / ${at(0.9)}`
}

const cases: Case[] = ['back to back', 'after 150 µs asleep', 'after 8 MB touched']
const rows = cases.map((c) => ({ c, got: [] as string[] }))
for (let r = 0; r < 4; r++) for (const row of rows) row.got.push(round(row.c))
process.stdout.write(
  [
    'validate + parse one check-in, median / p90 µs, four rounds:',
    '',
    '| case | round 1 | round 2 | round 3 | round 4 |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((row) => `| ${row.c} | ${row.got.join(' | ')} |`),
    '',
  ].join('\n'),
)

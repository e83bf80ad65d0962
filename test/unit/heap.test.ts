// The listener's heap tuning, observed in V8 itself: a literal whose objects
// have mostly outlived scavenges is allocated straight into the old
// generation by default (the control: were it not, this test would prove
// nothing), and stays young once tuneHeapForListener has run.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterAll, beforeAll, expect, it } from 'vitest'

let dir = ''
let probe = ''
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midwife-heap-'))
  probe = join(dir, 'probe.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('../support/pretenure-probe.ts', import.meta.url))],
    outfile: probe,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  })
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function run(arg: 'default' | 'tuned'): { young: number; of: number } {
  return JSON.parse(execFileSync(process.execPath, [probe, arg], { encoding: 'utf8' })) as {
    young: number
    of: number
  }
}

it('V8 pretenures a literal whose objects outlive scavenges, unless the listener tuned the heap', () => {
  expect(run('default').young).toBeLessThan(50)
  expect(run('tuned')).toMatchObject({ young: 100, of: 100 })
})

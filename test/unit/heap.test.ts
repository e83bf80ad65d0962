// The listener's heap tuning, observed in V8 itself: a literal whose objects
// have mostly outlived scavenges is allocated straight into the old
// generation by default (the control: were it not, this test would prove
// nothing), and stays young once tuneHeapForListener has run.
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildProbe, type Probe } from '../support/probe'

let probe: Probe | undefined
beforeAll(async () => {
  probe = await buildProbe('pretenure-probe')
})
afterAll(() => probe?.remove())

function run(arg: 'default' | 'tuned'): { young: number; of: number } {
  return JSON.parse(
    execFileSync(process.execPath, [probe?.file as string, arg], { encoding: 'utf8' }),
  ) as {
    young: number
    of: number
  }
}

it('V8 pretenures a literal whose objects outlive scavenges, unless the listener tuned the heap', () => {
  expect(run('default').young).toBeLessThan(50)
  expect(run('tuned')).toMatchObject({ young: 100, of: 100 })
})

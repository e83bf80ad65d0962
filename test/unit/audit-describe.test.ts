// The audit trail in words: every event Midwife records has a sentence, never
// its raw name, and a run step is named by its title as the screens show it.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { summarize } from '../../main/core/audit/describe'
import { repoRoot } from '../support/app'

/** Every event type appended anywhere under main/, read from the source. */
function appendedTypes(): string[] {
  const found = new Set<string>()
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8')
        for (const m of text.matchAll(/events\.append\(\s*'([a-z_.]+)'/g)) found.add(m[1] as string)
      }
    }
  }
  walk(join(repoRoot, 'main'))
  return [...found].sort()
}

describe('audit summaries', () => {
  it('has words for every event type Midwife appends', () => {
    const types = appendedTypes()
    expect(types).toContain('host.address_moved')
    expect(types.filter((type) => summarize(type, {}) === type)).toEqual([])
  })

  it('says where a run moved the management address from and to', () => {
    expect(
      summarize('host.address_moved', { run: 7, from: '10.0.0.11', address: '10.0.20.11' }),
    ).toBe(
      'run 7 moved its management address from 10.0.0.11 to 10.0.20.11; Midwife reaches it there from now on',
    )
    // Entries written before the old address was kept.
    expect(summarize('host.address_moved', { run: 7, address: '10.0.20.11' })).toBe(
      'run 7 moved its management address to 10.0.20.11; Midwife reaches it there from now on',
    )
  })

  it('names a lifecycle state as the screens do, not by its stored name', () => {
    expect(
      summarize('host.state', {
        from: 'checked_in',
        to: 'needs_attention',
        reason: 'it reported other host keys',
      }),
    ).toBe('Checked in → Needs attention: it reported other host keys')
    expect(summarize('host.deleted', { name: 'esx01.lab.local', state: 'checked_in' })).toBe(
      'the operator deleted esx01.lab.local (it was Checked in)',
    )
    // A state this release does not know stays as written.
    expect(summarize('host.state', { from: 'hatched', to: 'defined', reason: 'x' })).toBe(
      'hatched → Defined: x',
    )
  })

  it('names a run step by its title, or by its key in entries that predate titles', () => {
    expect(summarize('run.interrupted', { step: 'customSteps', title: 'Custom steps' })).toBe(
      'Midwife stopped during the run (in step "Custom steps")',
    )
    expect(summarize('run.interrupted', { step: null, title: null })).toBe(
      'Midwife stopped during the run',
    )
    expect(summarize('run.step_failed', { step: 'dns', title: 'DNS servers', error: 'no' })).toBe(
      'step "DNS servers" failed: no',
    )
    expect(summarize('run.interrupted', { step: 'dns' })).toBe(
      'Midwife stopped during the run (in step "dns")',
    )
  })

  it('says when a Midwife that stopped was last heard from, with its day when not the entry’s', () => {
    const tz = process.env.TZ
    process.env.TZ = 'UTC'
    try {
      const stopped = { step: 'dns', title: 'DNS servers', lastSeen: '2026-11-25T23:14:05.120Z' }
      expect(summarize('run.interrupted', stopped, '2026-11-25T23:40:00.000Z')).toBe(
        'Midwife stopped during the run (last heard from at 23:14:05, in step "DNS servers")',
      )
      expect(summarize('run.interrupted', stopped, '2026-11-26T07:30:00.000Z')).toBe(
        'Midwife stopped during the run (last heard from at 23:14:05 on 2026-11-25, in step "DNS servers")',
      )
      expect(
        summarize(
          'run.interrupted',
          { step: null, title: null, lastSeen: stopped.lastSeen },
          '2026-11-25T23:40:00.000Z',
        ),
      ).toBe('Midwife stopped before the run started (last heard from at 23:14:05)')
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })

  it('says where a cancelled run stopped: in a step, before one, or (older entries) just that', () => {
    expect(summarize('run.cancelled', { step: 'dns', title: 'DNS servers', error: 'x' })).toBe(
      'the run stopped in step "DNS servers", as cancelled',
    )
    expect(summarize('run.cancelled', { before: { step: 'ntp', title: 'NTP' }, error: 'x' })).toBe(
      'the run stopped before step "NTP", as cancelled',
    )
    // Before a cancel was recorded once, a second entry followed with only the error.
    expect(summarize('run.cancelled', { error: 'cancelled by the operator' })).toBe(
      'the run stopped, as cancelled',
    )
  })
})

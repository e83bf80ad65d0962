import { describe, expect, it } from 'vitest'
import type { RunHeader } from '../../main/contract/schemas'
import { behind, keepNewer } from '../../renderer/src/lib/run-order'

// Only what the order looks at: attempts, state, steps done, superseded.
const header = (
  state: RunHeader['state'],
  o: { attempts?: number; stepsDone?: number; supersededAt?: string } = {},
): RunHeader =>
  ({
    id: 7,
    state,
    attempts: o.attempts ?? 1,
    stepsDone: o.stepsDone ?? 0,
    supersededAt: o.supersededAt ?? null,
  }) as unknown as RunHeader

describe('behind', () => {
  it('orders one attempt: queued, running (steps done one by one), then its end', () => {
    const life = [
      header('queued'),
      header('running'),
      header('running', { stepsDone: 1 }),
      header('running', { stepsDone: 2 }),
      header('done', { stepsDone: 3 }),
      header('done', { stepsDone: 3, supersededAt: '2026-11-28T00:00:00.000Z' }),
    ]
    for (const [i, a] of life.entries()) {
      for (const [j, b] of life.entries()) expect(behind(a, b), `${i} behind ${j}`).toBe(i < j)
    }
  })

  it('puts every end of an attempt after its running, and a new attempt after every end', () => {
    for (const end of ['done', 'failed', 'interrupted', 'cancelled'] as const) {
      expect(behind(header('running', { stepsDone: 5 }), header(end, { stepsDone: 2 }))).toBe(true)
      expect(behind(header(end, { stepsDone: 5 }), header('queued', { attempts: 2 }))).toBe(true)
      expect(behind(header('queued', { attempts: 2 }), header(end, { stepsDone: 5 }))).toBe(false)
    }
  })
})

describe('keepNewer', () => {
  it('keeps the newer copy when an older one lands after it (an answer after the events)', () => {
    const headers: Record<number, RunHeader> = {}
    keepNewer(headers, header('done', { stepsDone: 3 }))
    keepNewer(headers, header('queued'))
    expect(headers[7]?.state).toBe('done')
    // A newer or an equal copy replaces it.
    keepNewer(headers, header('queued', { attempts: 2 }))
    expect(headers[7]?.state).toBe('queued')
    const again = header('queued', { attempts: 2 })
    keepNewer(headers, again)
    expect(headers[7]).toBe(again)
  })
})

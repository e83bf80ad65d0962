// What the listener refused, as the Servers screen shows it: counted without
// bound, the latest ten kept newest first, screens told at most once a second.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Refusals } from '../../main/core/listener/refusals'

afterEach(() => vi.useRealTimers())

const refusal = (i: number) => ({
  from: `10.0.0.${i}`,
  status: 401,
  what: 'check-in' as const,
  reason: 'wrong enrollment key',
})

describe('Refusals', () => {
  it('keeps the latest ten, newest first, and counts them all', () => {
    const r = new Refusals(() => undefined)
    for (let i = 1; i <= 25; i++) r.note(refusal(i))
    const s = r.snapshot()
    expect(s.count).toBe(25)
    expect(s.recent.map((x) => x.from)).toEqual(
      Array.from({ length: 10 }, (_, k) => `10.0.0.${25 - k}`),
    )
    r.stop()
  })

  it('tells the screens once per quiet period, however many arrive', () => {
    vi.useFakeTimers()
    const changed = vi.fn()
    const r = new Refusals(changed, 10, 1_000)
    for (let i = 0; i < 500; i++) r.note(refusal(1))
    expect(changed).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1_000)
    expect(changed).toHaveBeenCalledTimes(1)
    r.note(refusal(2))
    vi.advanceTimersByTime(1_000)
    expect(changed).toHaveBeenCalledTimes(2)
    r.note(refusal(3))
    r.stop()
    vi.advanceTimersByTime(5_000)
    expect(changed).toHaveBeenCalledTimes(2)
  })
})

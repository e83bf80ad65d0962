// Dates on every screen: one order whatever the locale, the year in full, and
// how long ago in words an operator reads at a glance.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ago, duration, when, whenAgo } from '../../renderer/src/lib/format'

const tz = process.env.TZ
beforeEach(() => {
  process.env.TZ = 'UTC'
})
afterEach(() => {
  process.env.TZ = tz
})

const now = Date.parse('2026-11-26T06:30:00Z')
const before = (seconds: number) => new Date(now - seconds * 1000).toISOString()

describe('when', () => {
  it('writes year-month-day and a 24-hour time, never a two-digit year', () => {
    expect(when('2026-03-04T05:06:07.000Z')).toBe('2026-03-04 05:06:07')
    expect(when('2026-11-26T18:30:00Z', false)).toBe('2026-11-26 18:30')
  })
  it('writes nothing for no date or a broken one', () => {
    expect(when(null)).toBe('')
    expect(when('yesterday')).toBe('')
  })
})

describe('ago', () => {
  it.each([
    [0, 'just now'],
    [30, 'just now'],
    [60, '1 min ago'],
    [3 * 60, '3 min ago'],
    [59 * 60, '59 min ago'],
    [2 * 3600, '2 h ago'],
    [86400, '1 day ago'],
    [5 * 86400, '5 days ago'],
    [90 * 86400, '3 months ago'],
    [3 * 365 * 86400, '3 years ago'],
  ])('%i s before is "%s"', (seconds, text) => {
    expect(ago(before(seconds), now)).toBe(text)
  })
  it('says "in" for a moment ahead (a clock that differs), and "just now" when barely', () => {
    expect(ago(before(-10), now)).toBe('just now')
    expect(ago(before(-600), now)).toBe('in 10 min')
  })
})

describe('whenAgo and duration', () => {
  it('puts the date and how long ago together', () => {
    expect(whenAgo(before(180), now)).toBe('2026-11-26 06:27 (3 min ago)')
    expect(whenAgo(null, now)).toBe('')
  })
  it.each([
    [400, '0.4 s'],
    [12_000, '12 s'],
    [185_000, '3 min 5 s'],
    [3_720_000, '1 h 2 min'],
  ])('%i ms is "%s"', (ms, text) => {
    expect(duration(ms)).toBe(text)
  })
})

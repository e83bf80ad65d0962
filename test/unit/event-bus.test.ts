// The event bus keeps recent events for screens that reconnect, in bounded
// memory, and says when what a screen asks for is no longer kept.
import { describe, expect, it } from 'vitest'
import { EventBus } from '../../main/core/events'

describe('the event bus', () => {
  it('gives a reconnecting screen every event after its number, payloads built on demand', () => {
    const bus = new EventBus(100)
    let built = 0
    for (let i = 1; i <= 10; i++)
      bus.emit('host.removed', () => {
        built++
        return { id: i }
      })
    expect(built).toBe(0)
    const r = bus.since(7)
    expect(r.complete).toBe(true)
    expect(r.events).toEqual([
      { seq: 8, event: 'host.removed', payload: { id: 8 } },
      { seq: 9, event: 'host.removed', payload: { id: 9 } },
      { seq: 10, event: 'host.removed', payload: { id: 10 } },
    ])
    expect(bus.since(10)).toEqual({ complete: true, events: [] })
  })

  it('keeps at least `keep` and at most a quarter more, and says when a gap is too old', () => {
    const bus = new EventBus(100)
    for (let i = 1; i <= 1000; i++) bus.emit('host.removed', { id: i })
    const all = bus.since(0)
    expect(all).toEqual({ complete: false, events: [] })
    // The newest 100 are always there.
    const recent = bus.since(900)
    expect(recent.complete).toBe(true)
    expect(recent.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i))
    let kept = 0
    for (let from = 1000; from >= 0 && bus.since(from).complete; from--) kept = 1000 - from
    expect(kept).toBeGreaterThanOrEqual(100)
    expect(kept).toBeLessThanOrEqual(125)
  })
})

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

  it('replays an entity as it is now, once, at its newest event; a gone one is left out', () => {
    const bus = new EventBus(100)
    const hosts = new Map<number, string>([
      [1, 'esx01'],
      [2, 'esx02'],
      [3, 'esx03'],
    ])
    const host = (id: number) => ({ id, name: hosts.get(id) }) as never
    bus.replayWith('host.changed', (id) => (hosts.has(id) ? host(id) : null))
    const live: Array<[string, unknown, number]> = []
    bus.emitEntity('host.changed', 1, () => host(1))
    const off = bus.subscribe((event, payload, seq) => live.push([event, payload, seq]))
    bus.emitEntity('host.changed', 2, () => host(2))
    bus.emitEntity('host.changed', 1, () => host(1))
    hosts.set(1, 'esx01-renamed')
    bus.emitEntity('host.changed', 3, () => host(3))
    hosts.delete(3)
    bus.emit('host.removed', { id: 3 })
    off()
    // Listeners got each event as it was sent.
    expect(live).toEqual([
      ['host.changed', { id: 2, name: 'esx02' }, 2],
      ['host.changed', { id: 1, name: 'esx01' }, 3],
      ['host.changed', { id: 3, name: 'esx03' }, 4],
      ['host.removed', { id: 3 }, 5],
    ])
    // A screen that missed them all: host 1 once, as it is now; host 3 only as removed.
    expect(bus.since(0)).toEqual({
      complete: true,
      events: [
        { seq: 2, event: 'host.changed', payload: { id: 2, name: 'esx02' } },
        { seq: 3, event: 'host.changed', payload: { id: 1, name: 'esx01-renamed' } },
        { seq: 5, event: 'host.removed', payload: { id: 3 } },
      ],
    })
    expect(bus.since(3).events.map((e) => e.seq)).toEqual([5])
  })

  it('refuses an entity event nothing can replay', () => {
    const bus = new EventBus(100)
    expect(() => bus.emitEntity('checkin.changed', 1, {} as never)).toThrow(/no replay/)
  })
})

import { describe, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import { withHost } from '../../renderer/src/lib/hosts-list'

// Only what the list looks at: id, name, definition (for the order) and updatedAt.
const host = (id: number, name: string, state: Host['state'], updatedAt: string): Host =>
  ({ id, name, state, updatedAt, definition: { hostname: name } }) as unknown as Host

describe('withHost', () => {
  const configured = host(1, 'esx01.lab.local', 'configured', '2026-11-27T21:00:02.000Z')
  const approved = host(1, 'esx01.lab.local', 'approved', '2026-11-27T21:00:00.000Z')

  it('keeps a newer write when an older one arrives after it (an answer after the events)', () => {
    const list = withHost([], configured)
    expect(withHost(list, approved)).toBe(list)
    expect(withHost(list, approved)[0]?.state).toBe('configured')
  })

  it('takes a newer or equally new write, and adds a new host in order', () => {
    const list = withHost([approved], configured)
    expect(list.map((h) => h.state)).toEqual(['configured'])
    // Same time: what a host view shows besides its row (its latest check-in) may have changed.
    const again = host(1, 'esx01.lab.local', 'failed', configured.updatedAt)
    expect(withHost(list, again)[0]?.state).toBe('failed')
    const other = host(2, 'esx00.lab.local', 'defined', '2026-11-27T20:00:00.000Z')
    expect(withHost(list, other).map((h) => h.id)).toEqual([2, 1])
  })
})

import { describe, expect, it } from 'vitest'
import type { HostState } from '../../main/contract/lifecycle'
import { savedProfileNote, type ChangedHost } from '../../renderer/src/profile/saved-note'

const host = (hostId: number, name: string): ChangedHost => ({ hostId, name, keys: ['ntp'] })
const names = (changes: readonly ChangedHost[]) => changes.map((c) => c.name).join('; ')

function note(hosts: Array<[ChangedHost, HostState]>): string {
  const states = new Map(hosts.map(([h, s]) => [h.hostId, s]))
  return savedProfileNote(
    hosts.map(([h]) => h),
    (id) => states.get(id),
    names,
  )
}

describe('what a saved site profile says about the hosts it changed', () => {
  it('says nothing changed on any host', () => {
    expect(note([])).toBe('No defined host takes a different value.')
  })

  it('says a failed host takes the new values only when approved again, not on Retry', () => {
    expect(note([[host(1, 'esx01.lab.local'), 'failed']])).toBe(
      '1 host with a run takes them only when approved again on the Servers step (Retry uses the values approved before): esx01.lab.local.',
    )
  })

  it('says which hosts need approving again, and when the others take the values', () => {
    expect(
      note([
        [host(1, 'esx01.lab.local'), 'configured'],
        [host(2, 'esx02.lab.local'), 'interrupted'],
        [host(3, 'esx03.lab.local'), 'configuring'],
        [host(4, 'esx04.lab.local'), 'defined'],
        [host(5, 'esx05.lab.local'), 'checked_in'],
      ]),
    ).toBe(
      '1 configured host needs approving again on the Servers step to apply them: esx01.lab.local. ' +
        '2 hosts with a run take them only when approved again on the Servers step (Retry uses the values approved before): esx02.lab.local; esx03.lab.local. ' +
        '2 hosts not configured yet take them when next installed or approved.',
    )
    expect(note([[host(4, 'esx04.lab.local'), 'defined']])).toBe(
      '1 host not configured yet takes them when next installed or approved.',
    )
  })
})

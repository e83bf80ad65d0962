import { STATE_INFO } from '../../contract/lifecycle'
import type { Attention, ReportedIdentity } from '../../contract/schemas'
import { boundElsewhere } from '../lifecycle/identity'
import type { Store } from '../store'
import { hostName } from './host-view'

/**
 * Why what a server reports cannot be bound to host `hostId`: another defined host, not
 * retired, holds its serial, UUID or SSH host keys (the server is that host). Null when none does.
 */
export function heldElsewhere(
  store: Store,
  hostId: number,
  reported: ReportedIdentity,
  checkinId: number,
): Attention | null {
  const holder = store.hosts.heldElsewhere(reported, hostId)
  if (!holder?.identity) return null
  return boundElsewhere(
    {
      name: hostName(holder),
      state: STATE_INFO[holder.state].label.toLowerCase(),
      identity: holder.identity,
    },
    reported,
    checkinId,
  )
}

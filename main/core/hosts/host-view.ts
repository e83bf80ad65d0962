// A host as the screens show it: the stored record plus what is derived from
// it on the server side (its evidence, its gates, its suggestions), so the UI
// shows states and reasons and never works them out itself.
import { settingTitle } from '../../catalogue/registry'
import { STATE_INFO } from '../../contract/lifecycle'
import type { Gate, Host, Suggestion } from '../../contract/schemas'
import { canMove, NETBOOT_ARMED } from '../lifecycle/table'
import type { HostRecord, Store, StoredSpec } from '../store'
import { waitingSinceRun } from './outdated'
import { publicSpec, resolvedForScreen } from './spec'

export function hostName(h: Pick<HostRecord, 'id' | 'definition' | 'identity'>): string {
  if (h.definition) return `${h.definition.hostname}.${h.definition.domain}`
  const id = h.identity
  const tell = id?.serial ?? id?.macs[0] ?? null
  return tell ? `Unknown server ${tell}` : `Unknown server #${h.id}`
}

/** Whether Approve is open, and if not, the reason written next to it. */
export function approveGate(h: HostRecord): Gate {
  const no = (reason: string): Gate => ({ allowed: false, reason })
  // A dismissed stranger has no definition to reinstall; it is not waiting for one either.
  if (h.state === 'retired' && !h.definition) return no('Dismissed: nothing runs on it.')
  if (!h.definition) {
    return no('No host definition claims this server: assign it to one, or define a host from it.')
  }
  switch (h.state) {
    case 'needs_attention':
      return no('Needs attention: decide what to trust first.')
    case 'defined':
    case 'booting':
    case 'installing':
    case 'installed':
      return no('Waiting for the server to check in.')
    case 'approved':
    case 'configuring':
      return no('A run is in progress.')
    case 'retired':
      return no('Retired: reinstall it to re-arm it.')
    default:
      break
  }
  if (!canMove(h.state, 'approved')) return no(`Not possible while ${STATE_INFO[h.state].label}.`)
  if (!h.identity?.managementIp) return no('The server reported no management address.')
  if (!h.definition.hasPassword) return no('The host has no root password stored.')
  return {
    allowed: true,
    reason: `Configures ${hostName(h)} at ${h.identity.managementIp}, trusting only its bound host keys.`,
  }
}

/** Definitions a discovered server may be: unbound ones with one of its MACs or its serial. */
export function suggestionsFor(store: Store, h: HostRecord): Suggestion[] {
  if (h.definition || !h.identity) return []
  const out = new Map<number, Suggestion>()
  for (const d of store.hosts.unboundWithMac(h.identity.macs)) {
    if (!d.definition) continue
    out.set(d.id, {
      hostId: d.id,
      name: hostName(d),
      by: 'mac',
      detail: `reported MAC ${d.definition.mac}`,
    })
  }
  if (h.identity.serial) {
    for (const d of store.hosts.unboundWithSerial(h.identity.serial)) {
      if (!out.has(d.id)) {
        out.set(d.id, {
          hostId: d.id,
          name: hostName(d),
          by: 'serial',
          detail: `reported serial ${h.identity.serial}`,
        })
      }
    }
  }
  return [...out.values()]
}

/** `profile`: the site profile's stored spec, when the caller has it (a list reads it once). */
export function toHost(store: Store, h: HostRecord, profile?: StoredSpec): Host {
  const d = h.definition
  const site = profile ?? (d ? store.settings.profile().spec : {})
  const lastRunId = store.runs.currentFor(h.id)
  return {
    id: h.id,
    name: hostName(h),
    state: h.state,
    stateReason: h.stateReason,
    stateChangedAt: h.stateChangedAt,
    definition: d
      ? {
          hostname: d.hostname,
          domain: d.domain,
          mac: d.mac,
          serial: d.serial,
          sshUser: d.sshUser,
          sshPort: d.sshPort,
          hasPassword: d.hasPassword,
          ...publicSpec(d.spec),
          esxiVersion: d.esxiVersion,
          secureBoot: d.secureBoot,
        }
      : null,
    resolved: d ? resolvedForScreen(d, site, d.spec) : [],
    identity: h.identity,
    attention: h.attention,
    lastCheckin: store.checkins.latestFor(h.id) ?? null,
    install: h.install,
    secureBootPath: h.secureBootPath,
    netbootArmed: d !== null && NETBOOT_ARMED.includes(h.state),
    suggestions: suggestionsFor(store, h),
    approve: approveGate(h),
    lastRunId,
    waiting: waitingSinceRun(store, h, site, lastRunId).map((key) => ({
      key,
      title: settingTitle(key),
    })),
    createdAt: h.createdAt,
    updatedAt: h.updatedAt,
  }
}

// What the Servers table shows of a host, how it searches and sorts. The state
// is the host record's own; nothing here works a state out.
import { HostState, STATE_INFO, type Severity } from '../../../main/contract/lifecycle'
import type { Host, RunHeader } from '../../../main/contract/schemas'

export type Column = 'name' | 'mac' | 'serial' | 'ip' | 'state' | 'checkin' | 'progress'

export const columns: Array<{ id: Column; label: string }> = [
  { id: 'name', label: 'Name' },
  { id: 'mac', label: 'MAC' },
  { id: 'serial', label: 'Serial' },
  { id: 'ip', label: 'IP' },
  { id: 'state', label: 'State' },
  { id: 'checkin', label: 'Last check-in' },
  { id: 'progress', label: 'Run' },
]

export interface HostFacts {
  mac: string
  serial: string
  ip: string
  checkin: string | null
  /** Everything search looks in, lower case. */
  text: string
}

const cache = new WeakMap<Host, HostFacts>()

/** A host's facts as the table shows them: what was defined, else what it reported. */
export function hostFacts(h: Host): HostFacts {
  const hit = cache.get(h)
  if (hit) return hit
  const c = h.lastCheckin
  const mac = h.definition?.mac ?? c?.bootMac ?? h.identity?.macs[0] ?? ''
  const serial = h.definition?.serial ?? h.identity?.serial ?? c?.serial ?? ''
  const ip = h.identity?.managementIp ?? c?.managementIp ?? ''
  const macs = [mac, ...(h.identity?.macs ?? [])].join(' ')
  const facts = {
    mac,
    serial,
    ip,
    checkin: c?.lastSeenAt ?? c?.receivedAt ?? null,
    text: `${h.name} ${macs} ${serial} ${ip}`.toLowerCase(),
  }
  cache.set(h, facts)
  return facts
}

/** What needs the operator first; finished and idle hosts last. */
const rank: Record<Severity, number> = { error: 0, warn: 1, busy: 2, ok: 3, idle: 4 }
const order = new Map(HostState.options.map((s, i) => [s, i]))

export function compare(
  by: Column,
  header: (h: Host) => RunHeader | undefined,
): (a: Host, b: Host) => number {
  const byName = (a: Host, b: Host) => a.name.localeCompare(b.name) || a.id - b.id
  const text = (f: (h: HostFacts) => string) => (a: Host, b: Host) =>
    f(hostFacts(a)).localeCompare(f(hostFacts(b)), undefined, { numeric: true }) || byName(a, b)
  switch (by) {
    case 'name':
      return byName
    case 'mac':
      return text((f) => f.mac)
    case 'serial':
      return text((f) => f.serial)
    case 'ip':
      return text((f) => f.ip)
    case 'checkin':
      return text((f) => f.checkin ?? '')
    case 'state':
      return (a, b) =>
        rank[STATE_INFO[a.state].severity] - rank[STATE_INFO[b.state].severity] ||
        (order.get(a.state) ?? 0) - (order.get(b.state) ?? 0) ||
        byName(a, b)
    case 'progress':
      return (a, b) => {
        const ra = header(a)
        const rb = header(b)
        const fa = ra ? ra.stepsDone / Math.max(ra.stepsTotal, 1) : -1
        const fb = rb ? rb.stepsDone / Math.max(rb.stepsTotal, 1) : -1
        return fa - fb || byName(a, b)
      }
  }
}

/** Hosts whose name, MAC, serial or IP contains every word typed. */
export function matches(h: Host, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  if (words.length === 0) return true
  const text = hostFacts(h).text
  return words.every((w) => text.includes(w))
}

// The screens' list of hosts, kept in the core's order. What arrives for a host (an event, an
// action's answer, a snapshot) may be older than what the list holds: answers and events travel
// on different connections, so an answer can land after the events of what followed it.
import type { Host } from '../../../main/contract/schemas'

function upsert<T extends { id: number }>(list: T[], item: T, order: (a: T, b: T) => number): T[] {
  const i = list.findIndex((x) => x.id === item.id)
  if (i === -1) return [...list, item].sort(order)
  const copy = [...list]
  copy[i] = item
  return copy
}

/** Definitions by name, then discovered servers, as the core lists them. */
export function byName(a: Host, b: Host): number {
  const da = a.definition ? 0 : 1
  const db = b.definition ? 0 : 1
  return da - db || a.name.localeCompare(b.name) || a.id - b.id
}

/**
 * The list with `host` in it, unless the list already holds a newer write of that host (an
 * approval's answer landing after the run's "configured" event): the newer stays.
 */
export function withHost(list: Host[], host: Host): Host[] {
  const now = list.find((h) => h.id === host.id)
  if (now && now.updatedAt > host.updatedAt) return list
  return upsert(list, host, byName)
}

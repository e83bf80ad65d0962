// Checks that need more than one setting's value: a port group on a vSwitch
// the design has, a VMkernel NIC on a port group it has, an address no other
// host uses. Each value is valid alone; these look at the spec a host is
// configured to (the site profile's values and its own).
//
// The rules live in the catalogue's registry (`crossCheck`), which the API
// runs too, so the form and a save agree on every problem.
import {
  crossCheck,
  settingByKey,
  type SpecProblem as Problem,
} from '../../../main/catalogue/registry'
import { isSecret } from './draft'

/** A problem placed at a field: an empty path is the setting as a whole. */
export type SpecProblem = Problem & { path: Array<string | number> }

export const NO_ADDRESSES: ReadonlyMap<string, string> = new Map()

/** Problems across the settings of one resolved spec (values already parsed by their schemas). */
export function crossChecks(spec: Record<string, unknown>): SpecProblem[] {
  return crossCheck(spec).map((p) => ({ ...p, path: p.path ?? [] }))
}

/**
 * Addresses this host's own values give it that another host already uses.
 * Settings declare theirs with the catalogue's `addresses` hook.
 */
export function addressClashes(
  own: Record<string, unknown>,
  taken: ReadonlyMap<string, string>,
): SpecProblem[] {
  const problems: SpecProblem[] = []
  for (const [key, value] of Object.entries(own)) {
    const setting = settingByKey(key)
    if (!setting?.addresses || isSecret(setting)) continue
    for (const a of setting.addresses(value)) {
      const holder = taken.get(a)
      if (holder) problems.push({ key, path: [], message: `${a} is already used by ${holder}` })
    }
  }
  return problems
}

/** Every address the other hosts' resolved specs give them, with the host's name. */
export function addressesInUse(
  hosts: ReadonlyArray<{
    id: number
    name: string
    resolved: ReadonlyArray<{ key: string; value: unknown }>
  }>,
  exceptId: number | undefined,
): Map<string, string> {
  const taken = new Map<string, string>()
  for (const h of hosts) {
    if (h.id === exceptId) continue
    for (const r of h.resolved) {
      const setting = settingByKey(r.key)
      if (!setting?.addresses || isSecret(setting) || r.value === null) continue
      for (const a of setting.addresses(r.value)) taken.set(a, h.name)
    }
  }
  return taken
}

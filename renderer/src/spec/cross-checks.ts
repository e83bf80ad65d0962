// Checks that need more than one setting's value: a port group on a vSwitch
// the design has, a VMkernel NIC on a port group it has, an address no other
// host uses. Each value is valid alone; these look at the spec a host is
// configured to (the site profile's values and its own).
//
// SEAM: the registry is getting a `crossChecks` hook (main/catalogue/registry.ts)
// that the API will run too. Until it lands, this file calls the one pure
// cross-setting check the catalogue has (switching-checks.ts); when it does,
// `crossChecks` below becomes a call to the registry's hook and nothing else
// in the form changes: problems keep the { key, path, message } shape.
import { settingByKey } from '../../../main/catalogue/registry'
import { checkSwitchingDesign, type SpecProblem } from '../../../main/catalogue/switching-checks'
import { isSecret } from './draft'

export type { SpecProblem }

export const NO_ADDRESSES: ReadonlyMap<string, string> = new Map()

/** Problems across the settings of one resolved spec (values already parsed by their schemas). */
export function crossChecks(spec: Record<string, unknown>): SpecProblem[] {
  return checkSwitchingDesign(spec)
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

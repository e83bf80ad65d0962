import { resolveSpec, settingByKey } from '../../catalogue/registry'
import type { DefinitionFields, Store, StoredSpec } from '../store'

/** The settings whose resolved value differs between two versions of a host's definition and profile. */
export function changedSettings(
  before: { definition: DefinitionFields; profile: StoredSpec },
  after: { definition: DefinitionFields; profile: StoredSpec },
): string[] {
  const was = new Map(
    resolveSpec(before.definition, before.profile, before.definition.spec).map((r) => [
      r.key,
      JSON.stringify(r.value),
    ]),
  )
  const now = resolveSpec(after.definition, after.profile, after.definition.spec)
  const keys = new Set<string>()
  for (const r of now) if (was.get(r.key) !== JSON.stringify(r.value)) keys.add(r.key)
  for (const k of was.keys()) if (!now.some((r) => r.key === k)) keys.add(k)
  return [...keys]
}

/**
 * A configured host whose wanted values changed since its run (the site profile, or its own
 * definition): it stays configured, as verified then, and says what changed and what to do.
 * Audited. False when the host is not configured (nothing to say: its next run applies them).
 */
export function noteOutdated(store: Store, hostId: number, keys: string[], by: string): boolean {
  if (keys.length === 0) return false
  const titles = keys.map((k) => settingByKey(k)?.title ?? k)
  return store.noteHost(
    hostId,
    'configured',
    `configured by its last run; ${by} has changed ${titles.join(', ')} since: approve it again to apply ${keys.length === 1 ? 'it' : 'them'}`,
    'host.outdated',
    { by, settings: keys },
  )
}

import { resolveSpec, settingByKey } from '../../catalogue/registry'
import { RunSnapshot } from '../runs/snapshot'
import type { DefinitionFields, HostRecord, Store, StoredSpec } from '../store'

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
 * The note names every setting still waiting since that run, not only this change's: the
 * ones `keys` changed now, and any other whose value now differs from what the run applied.
 * Audited. False when the host is not configured (nothing to say: its next run applies them).
 */
export function noteOutdated(store: Store, hostId: number, keys: string[], by: string): boolean {
  const host = store.hosts.get(hostId)
  // Only a configured host has a run to be behind (noteHost checks it again, in its transaction).
  if (keys.length === 0 || host?.state !== 'configured') return false
  const earlier = waitingSinceRun(store, host).filter((k) => !keys.includes(k))
  const title = (k: string) => settingByKey(k)?.title ?? k
  const all = keys.length + earlier.length
  const before = earlier.length > 0 ? `, and ${earlier.map(title).join(', ')} before` : ''
  return store.noteHost(
    hostId,
    'configured',
    `configured by its last run; ${by} has changed ${keys.map(title).join(', ')} since${before}: approve it again to apply ${all === 1 ? 'it' : 'them'}`,
    'host.outdated',
    { by, settings: keys, ...(earlier.length > 0 ? { waiting: earlier } : {}) },
  )
}

/** The settings whose wanted value now differs from what the host's current run applied. */
function waitingSinceRun(store: Store, host: HostRecord): string[] {
  const runId = store.runs.currentFor(host.id)
  const def = host.definition
  if (!def || runId === null) return []
  const parsed = RunSnapshot.safeParse(store.runs.approved(runId)?.snapshot)
  if (!parsed.success) return []
  const now = new Map(
    resolveSpec(def, store.settings.profile().spec, def.spec).map((r) => [
      r.key,
      JSON.stringify(r.value),
    ]),
  )
  const applied = new Map(parsed.data.settings.map((s) => [s.key, JSON.stringify(s.value)]))
  // A setting that run left out (not on that ESXi) is not waiting: it stays left out.
  const leftOut = new Set(store.runs.leftOut(runId))
  const keys = new Set([...applied.keys(), ...now.keys()])
  return [...keys].filter((k) => !leftOut.has(k) && applied.get(k) !== now.get(k))
}

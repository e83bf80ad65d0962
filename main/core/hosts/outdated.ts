import { resolveSpec, settingTitles } from '../../catalogue/registry'
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
 * A change that puts values back to what the run applied says so, and when nothing waits any
 * more, the note says that instead. Audited. False when nothing was noted: the host is not
 * configured (its next run applies them), or the change does not touch what its run applied.
 */
export function noteOutdated(store: Store, hostId: number, keys: string[], by: string): boolean {
  const host = store.hosts.get(hostId)
  // Only a configured host has a run to be behind (noteHost checks it again, in its transaction).
  if (keys.length === 0 || host?.state !== 'configured') return false
  const run = comparedWithRun(store, host)
  // No run to compare with (a host configured before runs kept snapshots): name the change.
  const waiting = run?.waiting ?? keys
  const changedNow = keys.filter((k) => waiting.includes(k))
  const earlier = waiting.filter((k) => !keys.includes(k))
  // Changed, and now what the run applied: so it differed before this change.
  const back = keys.filter((k) => !waiting.includes(k) && !run?.leftOut.has(k))
  if (changedNow.length === 0 && back.length === 0) return false
  const them = waiting.length === 1 ? 'it' : 'them'
  const audit = {
    by,
    settings: changedNow,
    ...(earlier.length > 0 ? { waiting: earlier } : {}),
    ...(back.length > 0 ? { back } : {}),
  }
  if (waiting.length === 0) {
    return store.noteHost(
      hostId,
      'configured',
      `configured by its last run; ${by} has changed ${settingTitles(back)} back to what it applied: nothing waits for approval`,
      'host.current',
      audit,
    )
  }
  const reason =
    changedNow.length > 0
      ? `${by} has changed ${settingTitles(changedNow)} since${earlier.length > 0 ? `, and ${settingTitles(earlier)} before` : ''}`
      : `${by} has changed ${settingTitles(back)} back to what it applied; ${settingTitles(earlier)} changed before`
  return store.noteHost(
    hostId,
    'configured',
    `configured by its last run; ${reason}: approve it again to apply ${them}`,
    'host.outdated',
    audit,
  )
}

/** The states whose current run has ended: what it was approved with can be behind. */
const RUN_ENDED: readonly HostRecord['state'][] = ['configured', 'failed', 'interrupted']

/**
 * The settings whose wanted value now differs from what the host's current run was approved
 * with, for a host whose run has ended ([] otherwise, or with no run to compare with). For a
 * configured host, what approving it again would change; for a failed or interrupted one,
 * what Retry would not use (it repeats the approved values). `profile`: the site profile's
 * stored spec, when the caller has it (a list reads it once); `runId`: its current run,
 * when the caller has it.
 */
export function waitingSinceRun(
  store: Store,
  host: HostRecord,
  profile?: StoredSpec,
  runId?: number | null,
): string[] {
  if (!RUN_ENDED.includes(host.state)) return []
  return comparedWithRun(store, host, profile, runId)?.waiting ?? []
}

/**
 * A host its run has just configured, whose definition or profile was saved during the run:
 * the run applied the values approved before, so the note says what still waits (a save
 * during a run has nothing to note yet, as the host is not configured then).
 */
export function noteChangedDuringRun(store: Store, hostId: number): boolean {
  const host = store.hosts.get(hostId)
  if (!host) return false
  const waiting = waitingSinceRun(store, host)
  return noteOutdated(store, hostId, waiting, 'a change saved during the run')
}

/** What a run applied, by setting key (values as JSON), and the settings its plan left out. */
interface Applied {
  values: Map<string, string>
  leftOut: Set<string>
}

/**
 * A run's snapshot and plan never change once approved, so what it applied is read once per
 * run: the host list compares every configured host, and reading a run's JSON each time cost
 * more than the rest of the list.
 */
const appliedCache = new WeakMap<Store, Map<number, Applied | null>>()

function appliedBy(store: Store, runId: number): Applied | null {
  let cache = appliedCache.get(store)
  if (!cache) appliedCache.set(store, (cache = new Map<number, Applied | null>()))
  const known = cache.get(runId)
  if (known !== undefined) return known
  const parsed = RunSnapshot.safeParse(store.runs.approved(runId)?.snapshot)
  const applied = parsed.success
    ? {
        values: new Map(parsed.data.settings.map((s) => [s.key, JSON.stringify(s.value)])),
        leftOut: new Set(store.runs.leftOut(runId)),
      }
    : null
  cache.set(runId, applied)
  return applied
}

/** What the host's current run applied, held against what it would apply now; null without one. */
function comparedWithRun(
  store: Store,
  host: HostRecord,
  profile: StoredSpec = store.settings.profile().spec,
  runId: number | null = store.runs.currentFor(host.id),
): { waiting: string[]; leftOut: Set<string> } | null {
  const def = host.definition
  if (!def || runId === null) return null
  const applied = appliedBy(store, runId)
  if (!applied) return null
  const { values, leftOut } = applied
  const waiting: string[] = []
  const seen = new Set<string>()
  // A setting that run left out (not on that ESXi) is not waiting: it stays left out.
  for (const r of resolveSpec(def, profile, def.spec)) {
    seen.add(r.key)
    if (!leftOut.has(r.key) && values.get(r.key) !== JSON.stringify(r.value)) waiting.push(r.key)
  }
  for (const k of values.keys()) if (!seen.has(k) && !leftOut.has(k)) waiting.push(k)
  return { waiting, leftOut }
}

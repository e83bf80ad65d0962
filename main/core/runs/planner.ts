// Plans a host: connects over SSH with its bound identity, reads every
// setting of its resolved spec and works out the changes, without writing
// anything. What a plan shows is what the operator approves.
import { randomUUID } from 'node:crypto'
import { parseVersion } from '../../catalogue/parse'
import { resolveSpec, secretTexts, settingByKey } from '../../catalogue/registry'
import { esxcli } from '../../catalogue/shell'
import type { PlanContext } from '../../catalogue/types'
import type { Plan, PlanItem } from '../../contract/schemas'
import { maskDeep, Redactor } from '../log'
import { CachedReader, planSetting, shownChanges } from '../configure/apply'
import {
  moveTarget,
  readManagement,
  targetProblem,
  type Session,
} from '../configure/move-management'
import { boundedMatch } from '../configure/pattern-budget'
import type { Connect } from '../configure/run'
import type { HostRecord } from '../store'
import type { RunSnapshot } from './snapshot'

/** Reads the ESXi version the host reports (once: the reader caches it). */
export async function hostVersion(reader: CachedReader): Promise<string | null> {
  try {
    return parseVersion(await reader.read(esxcli('system', 'version', 'get'))).version
  } catch {
    return null
  }
}

/**
 * Why the run could not move the management network as planned (a gateway outside the subnet
 * vmk0 would be in), or null. The run would fail there, after the steps before it had changed
 * the host; the plan says so first, from what the host reads now.
 */
async function moveBlocked(
  session: Session,
  items: PlanItem[],
  opened: Array<{ key: string; value: unknown }>,
): Promise<string | null> {
  const moving = items.filter(
    (it) => it.status === 'change' && settingByKey(it.key)?.connection === 'moves',
  )
  if (moving.length === 0) return null
  // A host whose vmk0 reads no address is left to the run, which says so.
  const from = await readManagement(session).catch(() => null)
  if (!from) return null
  const to = moveTarget(from, Object.fromEntries(opened.map((r) => [r.key, r.value])))
  const problem = targetProblem(to)
  if (!problem) return null
  return (
    `${moving.map((it) => it.title).join(', ')}: ${problem} (vmk0 would be at ${to.address}/${to.prefix}); ` +
    'set the management address or the default gateway on the Hosts step'
  )
}

const SOURCES: Record<string, string> = {
  site: 'site profile',
  host: 'this host',
  identity: 'identity',
}

/**
 * A setting the host cannot take as it is (a NIC it lacks...), named with where its value comes
 * from and where to change it. What the SSH session or a command did is only named.
 */
function refusedSetting(title: string, source: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err)
  // The transport's and the shell's own errors are subclasses; a setting's refusal is an Error.
  if (!(err instanceof Error) || err.constructor !== Error) return new Error(`${title}: ${message}`)
  const fix =
    source === 'site'
      ? '; change it in the site profile, or give this host its own on the Hosts step'
      : source === 'host'
        ? '; change it on the Hosts step'
        : ''
  return new Error(`${title} (${SOURCES[source] ?? source}): ${message}${fix}`)
}

export interface PlanInput {
  host: HostRecord
  name: string
  profile: Record<string, unknown>
  /** Opens a stored spec's secrets (plans read with the real values, show them masked). */
  open: (stored: Record<string, unknown>) => Record<string, unknown>
  password: string
  /** Secrets other than the spec's, masked in what the plan shows as the spec's are. */
  alsoMask?: readonly string[]
  connect: Connect
  connectTimeoutMs: number
  commandTimeoutMs: number
}

export interface MadePlan {
  plan: Plan
  /** The resolved spec as stored, frozen into the run if this plan is approved. */
  settings: RunSnapshot['settings']
}

export async function makePlan(i: PlanInput): Promise<MadePlan> {
  const def = i.host.definition
  const identity = i.host.identity
  if (!def || !identity?.managementIp) throw new Error('this host has no definition or address')
  const resolved = resolveSpec(def, i.profile, def.spec)
  const opened = resolveSpec(def, i.open(i.profile), i.open(def.spec))
  // What the host prints may hold a secret of the spec (a custom step's check reading the
  // licence): the plan shows it, stores it in the run and the report, so it is masked.
  const redact = new Redactor()
  redact.add(i.password)
  for (const text of secretTexts(opened.map((r) => [r.key, r.value]))) redact.add(text)
  for (const s of i.alsoMask ?? []) redact.addQuoted(s)
  const session = await i.connect({
    host: identity.managementIp,
    port: def.sshPort,
    username: def.sshUser,
    password: i.password,
    trustedFingerprints: identity.sshHostKeys.map((k) => k.fingerprint),
    connectTimeoutMs: i.connectTimeoutMs,
    commandTimeoutMs: i.commandTimeoutMs,
  })
  try {
    const reader = new CachedReader(session, null)
    const version = await hostVersion(reader)
    const ctx: PlanContext = {
      hostname: def.hostname,
      domain: def.domain,
      address: identity.managementIp,
      version,
      loginPassword: i.password,
      match: boundedMatch,
    }
    const items: PlanItem[] = []
    for (const r of opened) {
      const setting = settingByKey(r.key)
      if (!setting) continue
      const base = { key: r.key, title: setting.title, group: setting.group, source: r.source }
      // Any value may quote a secret of the spec (a welcome message naming the licence).
      const wanted = setting.secret
        ? '(secret)'
        : redact.apply(setting.show(maskDeep(r.value, (text) => redact.apply(text))))
      const unsupported = setting.unsupported?.(version) ?? null
      if (unsupported) {
        // The site profile serves a mixed fleet: what one release refuses is left out on it.
        // A value of the host's own is the operator's wish for this host, so it blocks.
        const site = r.source === 'site'
        items.push({
          ...base,
          status: site ? 'skipped' : 'unsupported',
          current: '',
          wanted,
          changes: [],
          note: site
            ? `Left out on this host: ${unsupported.replace(/[;:] remove .*$/, '')}.`
            : unsupported,
        })
        continue
      }
      const { current, changes } = await planSetting(reader, setting, r.value, ctx).catch(
        (err: unknown) => {
          // Masked in place before it is named for its setting.
          if (err instanceof Error) {
            err.message = redact.apply(err.message)
            if (err.stack) err.stack = redact.apply(err.stack)
          }
          throw refusedSetting(setting.title, r.source, err)
        },
      )
      // Masked before show(), which may cut a long output (and a secret in it) short.
      const seen = maskDeep(current, (text) => redact.apply(text))
      items.push({
        ...base,
        status: changes.length ? 'change' : 'same',
        current: setting.secret ? '(secret)' : redact.apply(setting.show(seen)),
        wanted,
        changes: shownChanges(changes, (text) => redact.apply(text)),
        note:
          [
            !changes.length
              ? null
              : setting.connection === 'moves'
                ? ['moves the SSH connection', setting.planNote].filter(Boolean).join('; ')
                : setting.planNote,
            setting.readNote?.(seen),
          ]
            .filter(Boolean)
            .map((note) => redact.apply(note as string))
            .join(' ') || null,
      })
    }
    const unsupported = items.find((it) => it.status === 'unsupported')
    const blocked = unsupported
      ? `${unsupported.title}: ${unsupported.note ?? 'not supported on this host'}`
      : await moveBlocked(session, items, opened)
    return {
      plan: {
        id: randomUUID(),
        hostId: i.host.id,
        hostName: i.name,
        address: identity.managementIp,
        esxiVersion: version,
        createdAt: new Date().toISOString(),
        items,
        writes: items.reduce(
          (n, it) => n + it.changes.reduce((m, c) => m + c.commands.length, 0),
          0,
        ),
        blocked,
      },
      settings: resolved
        .filter((r) => !items.some((it) => it.key === r.key && it.status === 'skipped'))
        .map((r) => ({ key: r.key, value: r.value })),
    }
  } finally {
    session.close()
  }
}

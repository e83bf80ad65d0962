// The catalogue: every setting Midwife manages, in the order they apply.
// The host spec schema, the site profile, CSV columns, the form and the
// conformance tests are all derived from this list; adding a setting is
// adding a file and a line here.
import { z } from 'zod'
import { shellQuote } from './shell'
import { advanced } from './settings/advanced'
import { customSteps } from './settings/custom-steps'
import { defaultGateway, gatewayInManagementSubnet } from './settings/default-gateway'
import { dnsSearch } from './settings/dns-search'
import { dnsServers } from './settings/dns-servers'
import { hostname } from './settings/hostname'
import { licence } from './settings/licence'
import { maintenanceMode } from './settings/maintenance-mode'
import { mgmtAddress } from './settings/mgmt-address'
import { mgmtVlan } from './settings/mgmt-vlan'
import { ntp } from './settings/ntp'
import { portgroups } from './settings/portgroups'
import { rootPassword } from './settings/root-password'
import { services } from './settings/services'
import { sshOffAfterRun } from './settings/ssh-off-after-run'
import { syslog } from './settings/syslog'
import { vmknics } from './settings/vmknics'
import { vswitches } from './settings/vswitches'
import { checkSwitchingDesign } from './switching-checks'
import type { AnySetting, Source } from './types'

export const SETTINGS: readonly AnySetting[] = [
  hostname,
  dnsServers,
  dnsSearch,
  ntp,
  syslog,
  vswitches,
  portgroups,
  vmknics,
  advanced,
  services,
  licence,
  maintenanceMode,
  // The operator's own steps after Midwife's settings; the password change after them, so the
  // run engine's new login comes before anything that reconnects (moving settings).
  customSteps,
  rootPassword,
  // Moves the connection: last of what keeps it, applied together in-band.
  mgmtAddress,
  defaultGateway,
  mgmtVlan,
  // Ends SSH access: after everything, moving settings included.
  sshOffAfterRun,
]

const byKey = new Map(SETTINGS.map((s) => [s.key, s]))

export function settingByKey(key: string): AnySetting | undefined {
  return byKey.get(key)
}

/** A setting's title as the screens give it; a key this release does not know, as it is. */
export function settingTitle(key: string): string {
  return byKey.get(key)?.title ?? key
}

/**
 * What masks the secret settings among `values` (opened): each value, and as a command line
 * quotes it. A plan and a run mask them in whatever the host prints, from the start.
 */
export function secretTexts(values: Iterable<[string, unknown]>): string[] {
  const texts: string[] = []
  for (const [key, value] of values) {
    if (!byKey.get(key)?.secret || typeof value !== 'string') continue
    texts.push(value, shellQuote(value))
  }
  return texts
}

/** Settings by their titles, comma-separated. */
export function settingTitles(keys: readonly string[]): string {
  return keys.map(settingTitle).join(', ')
}

/** Settings a spec document may hold: everything but what the definition decides. */
export const SPEC_SETTINGS = SETTINGS.filter((s) => s.scope !== 'identity')

export type HostSpec = Record<string, unknown>

/** A problem with one value of a spec, told next to that setting's field. */
export interface SpecProblem {
  key: string
  /** Where in the value, for a table: [row, field]. */
  path?: Array<string | number>
  message: string
}

/**
 * A rule across settings, which no single schema can see: it gets the whole
 * spec (each value already valid on its own, or absent) and names the setting
 * each problem belongs to, so the form and the API show it at that field.
 */
export type CrossCheck = (spec: Readonly<HostSpec>) => SpecProblem[]

export const CROSS_CHECKS: readonly CrossCheck[] = [
  gatewayInManagementSubnet,
  (spec) => checkSwitchingDesign(spec),
]

/**
 * Every cross-setting problem of a spec. Run it on a host's resolved spec
 * (site profile and overrides together), since the two values may come from
 * different places: `crossCheck(Object.fromEntries(resolved.map((v) => [v.key, v.value])))`.
 */
export function crossCheck(spec: Readonly<HostSpec>): SpecProblem[] {
  return CROSS_CHECKS.flatMap((check) => check(spec))
}

/**
 * A host's wanted configuration (or the site profile's defaults): one
 * document, each key validated by its setting's own schema. A key that is
 * absent is not managed. The cross-checks do not run here: a host's own
 * document is only part of what it is configured to (a VMkernel NIC it sets
 * may sit on a port group the site profile defines), so they run on the
 * resolved spec wherever one is saved (`resolvedProblems`, the CSV import,
 * the form).
 */
export const HostSpec = z
  .object(Object.fromEntries(SPEC_SETTINGS.map((s) => [s.key, s.value.optional()])))
  .strict()

/** The site profile holds defaults for site-scoped settings only. */
export const SiteProfile = z
  .object(
    Object.fromEntries(
      SPEC_SETTINGS.filter((s) => s.scope === 'site').map((s) => [s.key, s.value.optional()]),
    ),
  )
  .strict()

export interface ResolvedValue {
  key: string
  value: unknown
  source: Source
}

/**
 * The spec a host is configured to: its identity, the site profile's
 * defaults, and its own overrides on top, each value with where it came
 * from. In catalogue order, which respects every `after`.
 */
export function resolveSpec(
  identity: { hostname: string; domain: string },
  profile: HostSpec,
  own: HostSpec,
): ResolvedValue[] {
  const out: ResolvedValue[] = []
  for (const s of SETTINGS) {
    if (s.scope === 'identity') {
      if (s.key === 'hostname') {
        out.push({
          key: s.key,
          value: { host: identity.hostname, domain: identity.domain },
          source: 'identity',
        })
      }
      continue
    }
    if (own[s.key] !== undefined) out.push({ key: s.key, value: own[s.key], source: 'host' })
    else if (s.scope === 'site' && profile[s.key] !== undefined)
      out.push({ key: s.key, value: profile[s.key], source: 'site' })
  }
  return out
}

/** Catalogue order honours `after`: a setting never precedes what it depends on. */
export function checkOrder(settings: readonly AnySetting[] = SETTINGS): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const s of settings) {
    for (const dep of s.after ?? []) {
      if (!byKey.has(dep)) problems.push(`${s.key} is after unknown setting ${dep}`)
      else if (!seen.has(dep)) problems.push(`${s.key} comes before ${dep}, which it is after`)
    }
    seen.add(s.key)
  }
  // Settings that keep the connection first, then those that move it, then what ends SSH access.
  const rank = { keeps: 0, moves: 1, ends: 2 } as const
  settings.forEach((s, i) => {
    const prev = settings[i - 1]
    if (prev && rank[s.connection] < rank[prev.connection]) {
      problems.push(
        `${s.key} must come before ${prev.key}: settings that move the connection come last, and those that end it after them`,
      )
    }
  })
  return problems
}

/** Every CSV column the catalogue defines, in catalogue order. */
export function csvColumns(): string[] {
  return SPEC_SETTINGS.flatMap((s) => s.csv?.columns ?? [])
}

// The shape of one ESXi setting, declared once: its value schema (the API,
// the form, the CSV import and the store all validate with it), how a form
// draws it, its CSV columns, its part of the kickstart, and how to read it
// from a host, plan the difference and show it. Pure: shared with the
// renderer, so no Node, no Electron, no core.
import type { z } from 'zod'

export const GROUPS = [
  { id: 'identity', title: 'Identity' },
  { id: 'management', title: 'Management network' },
  { id: 'switching', title: 'Virtual switching' },
  { id: 'vmkernel', title: 'VMkernel NICs' },
  { id: 'time', title: 'Time and logging' },
  { id: 'security', title: 'Security and services' },
  { id: 'advanced', title: 'Advanced' },
  { id: 'custom', title: 'Custom steps' },
] as const
export type GroupId = (typeof GROUPS)[number]['id']

/** How a form draws a value; one form component switches on `kind`. */
export type Field =
  | { kind: 'text'; placeholder?: string; hint?: string }
  /**
   * A secret (a root password, a licence key): the run engine never shows the value, masks the
   * commands' `secrets`, and keeps what the setting's reads print out of step output (the licence
   * read prints the key).
   */
  | { kind: 'secret'; hint?: string }
  | { kind: 'number'; min?: number; max?: number; hint?: string }
  | { kind: 'boolean'; label: string; hint?: string }
  | { kind: 'select'; options: ReadonlyArray<{ value: string; label: string }>; hint?: string }
  /** Strings, one per line or comma separated (DNS servers, NTP servers). */
  | { kind: 'list'; placeholder?: string; hint?: string }
  /** Lines of text, one item per line, never split on commas (the shell lines of a custom step). */
  | { kind: 'lines'; placeholder?: string; hint?: string }
  /** An IPv4 address with its prefix length: 10.0.0.11/24. */
  | { kind: 'ipv4-prefix'; placeholder?: string; hint?: string }
  /** Several objects, one row each (vSwitches, port groups, VMkernel NICs). */
  | { kind: 'table'; columns: ReadonlyArray<TableColumn>; hint?: string }
  /** Fields of one object, side by side. */
  | { kind: 'object'; fields: ReadonlyArray<TableColumn>; hint?: string }

export interface TableColumn {
  key: string
  title: string
  field: Exclude<Field, { kind: 'table' } | { kind: 'object' }>
}

/** A host the catalogue reads from: one command, its result. */
export interface Shell {
  exec(command: string): Promise<{ stdout: string; stderr: string; code: number | null }>
}

/**
 * What a setting's `read` gets: read-only commands, each run once per run
 * (one `portgroup list` serves the VLAN, port group and VMkernel settings)
 * until a write invalidates what was read.
 */
export interface Reader {
  /** Runs a read-only command and returns its stdout; a non-zero exit throws with what the host said. */
  read(words: string[]): Promise<string>
  /** Like read, but gives the exit code and both streams instead of throwing. */
  probe(words: string[]): Promise<{ stdout: string; stderr: string; code: number | null }>
  /** The ESXi version the host reports (7.0.3, 8.0.2, 9.0.0), when known. */
  readonly version: string | null
}

/** One command, as words (quoted by Midwife, never by the setting). */
export interface Command {
  words: string[]
  /** Substrings that are secret (a password, a licence key): masked wherever the command is shown. */
  secrets?: string[]
  /**
   * Answers the host may give that mean more than its words say (an `add` refused because the
   * object exists where Midwife cannot see it): when either stream holds `said`, the step fails
   * with `meaning` after the host's words.
   */
  known?: Array<{ said: string; meaning: string }>
}

/** One change a setting plans: what it does, in words, and the exact commands. */
export interface Change {
  summary: string
  commands: Command[]
  /**
   * Puts back what the first commands did when a later one fails (NTP's `--reset`, when the
   * host refuses the new servers): run in order, each whatever the last did, and said in the
   * run's output and the step's error. Not run when the first command fails, nothing changed.
   */
  undo?: { summary: string; commands: Command[] }
}

/** Values every setting may use when planning or rendering (names and addresses of this host). */
export interface PlanContext {
  hostname: string
  domain: string
  /** The management address Midwife reaches the host at. */
  address: string
  /** The ESXi version the host reports, when known. */
  version: string | null
  /**
   * The root password the host has as far as this run knows: the one Midwife logged in with,
   * until a setting with `relogin` changes it (applySetting then records the new one here). ESXi
   * cannot read a password back, so the root password setting compares against this; absent when
   * the session did not log in with a password.
   */
  loginPassword?: string
  /**
   * Tests an operator's pattern against what the host printed within a time budget, throwing
   * when it runs out: a pattern that backtracks without end must not stall Midwife. The core
   * gives one (the catalogue is pure and cannot); without it the pattern is tested as it is.
   */
  match?: (pattern: RegExp, text: string) => boolean
}

/** What a setting adds to the kickstart when its value is known before the install. */
export interface KickstartPart {
  /** Options merged into the `network` line (ip=, netmask=, gateway=, vlanid=, nameserver=...). */
  network?: Record<string, string>
  /** Whole lines for the command section (before %firstboot). */
  lines?: string[]
  /** Lines for %firstboot, before the check-in. */
  firstboot?: string[]
  /** Kernel boot options (allowLegacyCPU=true). */
  bootOptions?: string[]
}

export interface CsvMapping<T> {
  /** Column names, in the order a template lists them. */
  columns: readonly string[]
  toCsv(value: T): Record<string, string>
  /** undefined when every column is empty (not set for this host); throws a readable Error when malformed. */
  fromCsv(row: Record<string, string>): T | undefined
}

/** Where a value in a resolved spec came from. */
export type Source = 'site' | 'host' | 'identity'

export interface Setting<T> {
  key: string
  title: string
  group: GroupId
  /** One sentence an operator reads next to the field. */
  description: string
  /**
   * A value a site could really use: shown as the form's example and driven
   * through the conformance tests on every ESXi release the simulator knows.
   */
  example: T
  /** The wanted value; messages are written for people. */
  value: z.ZodType<T>
  /**
   * identity: derived from the host's definition (hostname); host: per host only
   * (a management address); site: a site default a host may override.
   */
  scope: 'identity' | 'host' | 'site'
  field: Field
  csv?: CsvMapping<T>
  /** What the setting decides at install time instead, when its value is known then. */
  kickstart?(value: T): KickstartPart
  /**
   * The host's current value. `wanted` says what to look at where the host cannot list
   * everything cheaply (the advanced options named, the custom steps' checks).
   */
  read(r: Reader, ctx: PlanContext, wanted: T): Promise<T>
  /** The changes that take `current` to `wanted`; [] when nothing differs. */
  diff(current: T, wanted: T, ctx: PlanContext): Change[]
  /** Whether the read-back value is what was wanted (default: no change left to plan). */
  verify?(after: T, wanted: T, ctx: PlanContext): boolean
  show(value: T): string
  /**
   * What applying it does to the SSH connection: keeps it; moves it (the management address:
   * reconnect at the new address); or ends SSH access (turning SSH off): applied after every other
   * setting, moving ones included, and nothing can follow it in the run.
   */
  connection: 'keeps' | 'moves' | 'ends'
  /**
   * For a setting that changes the password Midwife logs in with: the new password. After its
   * commands succeed, applySetting records it as `ctx.loginPassword` and reports `relogin`; the
   * run engine must then log in again with it, and only after that login succeeds replace the
   * sealed password (the old one no longer works on the host either way).
   */
  relogin?(wanted: T): string
  /** Keys of settings that must be applied before this one. */
  after?: readonly string[]
  /**
   * Said under the setting in a plan that changes it, where "current -> wanted" could mislead:
   * a list setting shows all the host has, but changes only what the design names.
   */
  planNote?: string
  /**
   * Said under the setting in every plan, changed or not, when what was read needs saying (this
   * host does not list its VMkernel NICs, so they were matched by address); null when not.
   */
  readNote?(current: T): string | null
  /** Why this host cannot take the setting (9.0 hosts refuse a licence key), or null. */
  unsupported?(version: string | null): string | null
  /**
   * The whole value is a secret (a password, a licence key): sealed at rest,
   * never returned by the API, never shown; its commands list it in `secrets`.
   */
  secret?: boolean
  /** IPv4 addresses the value gives this host, so no two hosts or NICs share one. */
  addresses?(value: T): string[]
}

/** A setting whose value type is not known statically (the registry's view). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySetting = Setting<any>

export function defineSetting<T>(s: Setting<T>): Setting<T> {
  return s
}

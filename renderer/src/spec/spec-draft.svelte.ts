// A spec being edited: the site profile's defaults, or one host's own values
// over them. Every value is validated by its setting's own schema as it is
// typed; cross-setting checks run on the spec the host would be configured to.
import {
  resolveSpec,
  settingByKey,
  SPEC_SETTINGS,
  type ResolvedValue,
} from '../../../main/catalogue/registry'
import type { AnySetting, GroupId, Source } from '../../../main/catalogue/types'
import { addressClashes, crossChecks, NO_ADDRESSES } from './cross-checks'
import {
  canonical,
  draftValue,
  isSecret,
  NO_ERRORS,
  placeIssues,
  toDraft,
  type Draft,
  type FieldErrors,
  withoutSecrets,
} from './draft'

/** profile: the site profile's defaults; host: one host's own values, over the profile. */
export type FormMode = 'profile' | 'host'

/** One line of a review: a value, shown, and where it comes from. */
export interface ReviewRow {
  key: string
  title: string
  group: GroupId
  source: Source
  shown: string
}

/** Stands in for a secret in a resolved spec: its value never reaches the screen. */
const SECRET = '\u0000secret'
let forms = 0

type Parsed = { ok: true; value: unknown } | { ok: false; issues: FieldErrors }

export class SpecDraft {
  /** What each input holds, by setting key. */
  values: Record<string, Draft> = $state({})
  /** Secret settings the operator asked to drop. */
  cleared: string[] = $state([])
  /** Settings the operator has left (blurred): their errors show from then on. */
  touched: Record<string, boolean> = $state({})
  /** Set by Next or Review: every error shows, wherever it is. */
  reviewing = $state(false)
  /** The site profile's values, under a host's own (host mode only); see inheritFrom. */
  inherited: Record<string, unknown> = $state({})
  inheritedSecrets: readonly string[] = $state([])
  /** Secret settings the stored spec holds a value for. */
  readonly secretsSet: readonly string[]
  /** Addresses other hosts use, to the host's name. */
  taken: ReadonlyMap<string, string> = $state.raw(NO_ADDRESSES)

  readonly settings: readonly AnySetting[]
  /** A prefix for element ids, unique per form. */
  readonly id = `spec${++forms}`

  constructor(
    readonly mode: FormMode,
    stored: Record<string, unknown>,
    storedSecrets: readonly string[],
  ) {
    this.settings = SPEC_SETTINGS.filter((s) => mode === 'host' || s.scope === 'site')
    const own = withoutSecrets(stored, storedSecrets, this.settings)
    this.secretsSet = own.secretsSet
    this.values = Object.fromEntries(
      this.settings.map((s) => [s.key, toDraft(s.field, own.spec[s.key])]),
    )
  }

  /** The site profile a host's values go over; of its secrets, only which are set. */
  inheritFrom(
    profile: { spec: Record<string, unknown>; secretsSet: readonly string[] } | null,
  ): void {
    const p = withoutSecrets(profile?.spec ?? {}, profile?.secretsSet ?? [], SPEC_SETTINGS)
    this.inherited = p.spec
    this.inheritedSecrets = p.secretsSet
  }

  /** The profile's value a host would take if it does not set its own. */
  inheritedOf(key: string): unknown {
    return this.mode === 'host' && settingByKey(key)?.scope === 'site'
      ? this.inherited[key]
      : undefined
  }

  inheritsSecret(key: string): boolean {
    return this.mode === 'host' && this.inheritedSecrets.includes(key)
  }

  holdsSecret(key: string): boolean {
    return this.secretsSet.includes(key) && !this.cleared.includes(key)
  }

  /** Each value set here, as its schema's input: what is sent to the API. */
  readonly input: Record<string, unknown> = $derived.by(() => {
    const out: Record<string, unknown> = {}
    for (const s of this.settings) {
      const v = draftValue(s, this.values[s.key] ?? null, this.inheritedOf(s.key))
      if (v !== undefined) out[s.key] = v
    }
    return out
  })

  private readonly parsed: Record<string, Parsed> = $derived.by(() => {
    const out: Record<string, Parsed> = {}
    for (const [key, v] of Object.entries(this.input)) {
      const s = settingByKey(key) as AnySetting
      const r = s.value.safeParse(v)
      out[key] = r.success
        ? { ok: true, value: r.data }
        : { ok: false, issues: placeIssues(s.field, r.error.issues) }
    }
    return out
  })

  /** The values set here that their schemas accept, parsed (normalised, defaults filled). */
  readonly valid: Record<string, unknown> = $derived.by(() => {
    const out: Record<string, unknown> = {}
    for (const [key, p] of Object.entries(this.parsed)) if (p.ok) out[key] = p.value
    return out
  })

  /** Every problem, by setting key and form position, shown or not yet. */
  readonly problems: Readonly<Record<string, FieldErrors>> = $derived.by(() => {
    const out: Record<string, FieldErrors> = {}
    for (const [key, p] of Object.entries(this.parsed)) if (!p.ok) out[key] = p.issues
    const resolved = { ...(this.mode === 'host' ? this.inherited : {}), ...this.valid }
    for (const p of [...crossChecks(resolved), ...addressClashes(this.valid, this.taken)]) {
      const s = this.settings.find((x) => x.key === p.key)
      if (s) out[p.key] = placeIssues(s.field, [p], out[p.key])
    }
    return out
  })

  /** The errors to show beside a setting's fields now. */
  errorsOf(key: string): FieldErrors {
    if (!this.reviewing && !this.touched[key]) return NO_ERRORS
    return this.problems[key] ?? NO_ERRORS
  }

  get hasProblems(): boolean {
    return Object.keys(this.problems).length > 0
  }

  /** Secrets to drop: only those stored, and not given a new value. */
  clearSecrets(): string[] {
    return this.cleared.filter((k) => this.secretsSet.includes(k) && this.input[k] === undefined)
  }

  /** Whether the secret will be held after saving (stored and kept, or typed now). */
  private secretAfter(key: string): boolean {
    return this.input[key] !== undefined || this.holdsSecret(key)
  }

  /** What this form sets, with secrets as markers: for the resolved spec and for comparisons. */
  private ownForShow(): Record<string, unknown> {
    const own: Record<string, unknown> = {}
    for (const s of this.settings) {
      if (isSecret(s)) {
        if (this.secretAfter(s.key)) own[s.key] = SECRET
      } else if (this.valid[s.key] !== undefined) own[s.key] = this.valid[s.key]
    }
    return own
  }

  /** The spec a host would be configured to, each value with where it came from. */
  resolved(identity: { hostname: string; domain: string }): ReviewRow[] {
    const profile: Record<string, unknown> = { ...this.inherited }
    for (const k of this.inheritedSecrets) profile[k] = SECRET
    return resolveSpec(identity, profile, this.ownForShow()).map((r: ResolvedValue) =>
      this.row(r.key, r.value, r.source),
    )
  }

  /** Settings nothing sets: the host keeps what it has. */
  unmanaged(identity: { hostname: string; domain: string }): AnySetting[] {
    const set = this.resolved(identity).map((r) => r.key)
    return this.settings.filter((s) => !set.includes(s.key))
  }

  /**
   * What saving changes, setting by setting, against the stored spec
   * (secrets: whether one is held).
   */
  changesFrom(stored: {
    spec: Record<string, unknown>
    secretsSet: readonly string[]
  }): Array<{ key: string; title: string; before: string; after: string }> {
    const after = this.ownForShow()
    const before = withoutSecrets(stored.spec, stored.secretsSet, this.settings)
    const out: Array<{ key: string; title: string; before: string; after: string }> = []
    for (const s of this.settings) {
      const typedSecret = isSecret(s) && this.input[s.key] !== undefined
      const was = isSecret(s)
        ? before.secretsSet.includes(s.key)
          ? SECRET
          : undefined
        : before.spec[s.key]
      const now = after[s.key]
      if (!typedSecret && canonical(was) === canonical(now)) continue
      out.push({
        key: s.key,
        title: s.title,
        before: this.shown(s, was),
        after: typedSecret ? 'a new value' : this.shown(s, now),
      })
    }
    return out
  }

  private shown(s: AnySetting, v: unknown): string {
    if (v === undefined) return 'not set'
    return isSecret(s) || v === SECRET ? 'set' : s.show(v)
  }

  private row(key: string, value: unknown, source: Source): ReviewRow {
    const s = settingByKey(key) as AnySetting
    return { key, title: s.title, group: s.group, source, shown: this.shown(s, value) }
  }
}

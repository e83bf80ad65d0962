import { settingByKey } from '../../catalogue/registry'
import { secretPattern, shellQuote } from '../../catalogue/shell'
import { ApiCallError, type ApiHandlers } from '../../contract/api'
import type {
  AuditEntry,
  AuditVerification,
  DownloadFile,
  ReportFormat,
} from '../../contract/schemas'
import { hostName } from '../hosts/host-view'
import { openSpec, resolvedForScreen } from '../hosts/spec'
import { maskDeep } from '../log'
import type { SecretBox } from '../secrets'
import type { SiteService } from '../site/site-service'
import type { ChainCheck, EventRow, HostRecord, Store, StoredSpec } from '../store'
import { isApproval, OPERATOR, summarize } from './describe'
import { renderReportHtml, type HostReport } from './report'

export function verification(check: ChainCheck): AuditVerification {
  const { entries, head, broken } = check
  const count = (n: number) => (n === 1 ? '1 entry' : `${n} entries`)
  return {
    ok: broken === null,
    entries,
    head,
    firstBroken: broken,
    message: broken
      ? `the audit log is broken at entry ${broken.id} (${broken.type}, ${broken.at}): ${broken.reason}.` +
        (entries ? ` The ${count(entries)} before it check${entries === 1 ? 's' : ''} out.` : '')
      : head
        ? `the audit log's ${count(entries)} ${entries === 1 ? 'is' : 'are'} intact; the last is entry ${head.id}, hash ${head.hash}`
        : 'the audit log is empty',
  }
}

function entryOf(e: EventRow): AuditEntry {
  return {
    id: e.id,
    at: e.at,
    type: e.type,
    subject: e.subject,
    summary: summarize(e.type, e.data, e.at),
    data: e.data,
    hash: e.hash,
  }
}

const MASK = '********'

/**
 * Every string in `value` with each secret masked, and how many were found. In any letter case,
 * as maskSecret masks: a licence key typed in lower case into a custom step is the same key.
 */
function masked<T>(value: T, secrets: readonly string[]): { value: T; found: number } {
  let found = 0
  const patterns = secrets.filter((s) => s !== '').map(secretPattern)
  const text = maskDeep(value, (v) =>
    patterns.reduce(
      (out, p) =>
        out.replace(p, () => {
          found++
          return MASK
        }),
      v,
    ),
  )
  return { value: text, found }
}

/** A file name from a host's name, whatever a server reported as its serial. */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 100)
}

/** The contract methods this service answers, with the types it returns (not promises). */
export type AuditHandlers = ReturnType<AuditService['handlers']>

/**
 * The audit log as a hash chain, what it says about one host, and the report
 * an operator attaches to a change ticket.
 */
export class AuditService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly site: SiteService,
    private readonly version: string,
  ) {}

  /** This service's slice of the contract. */
  handlers() {
    return {
      verifyAudit: () => this.verify(),
      hostAudit: (id) => this.hostEntries(id),
      hostReport: (id, format) => this.report(id, format),
    } satisfies Partial<ApiHandlers>
  }

  private record(id: number): HostRecord {
    const h = this.store.hosts.get(id)
    if (!h) throw new ApiCallError('not_found', `host ${id} does not exist`)
    return h
  }

  verify(): AuditVerification {
    return verification(this.store.events.verify())
  }

  /**
   * The host's entries and its runs', oldest first. Entries hold no secrets by
   * rule; any a past version let in are masked here as in the report.
   */
  hostEntries(hostId: number): AuditEntry[] {
    const h = this.record(hostId)
    const entries = this.store.events.aboutHost(hostId).map(entryOf)
    return masked(entries, this.knownSecrets(h, this.store.runs.idsFor(hostId)).known).value
  }

  report(hostId: number, format: ReportFormat): DownloadFile {
    const h = this.record(hostId)
    const built = this.build(h)
    const day = built.generatedAt.slice(0, 10)
    const base = `midwife-report-${fileSafe(built.host.name)}-${day}`
    return format === 'json'
      ? {
          filename: `${base}.json`,
          contentType: 'application/json',
          content: `${JSON.stringify(built, null, 2)}\n`,
        }
      : {
          filename: `${base}.html`,
          contentType: 'text/html; charset=utf-8',
          content: renderReportHtml(built),
        }
  }

  private build(h: HostRecord): HostReport {
    const d = h.definition
    const entries = this.store.events.aboutHost(h.id)
    const approvals = new Map<number, { at: string; entry: number; plan: string | null }>()
    for (const e of entries) {
      if (!isApproval(e.type, e.data)) continue
      const data = e.data as { run?: unknown; plan?: unknown }
      // A resumed run is approved again without a plan: the row keeps the approval with its plan.
      if (typeof data.run === 'number' && !approvals.has(data.run)) {
        approvals.set(data.run, {
          at: e.at,
          entry: e.id,
          plan: typeof data.plan === 'string' ? data.plan : null,
        })
      }
    }
    const runIds = this.store.runs.idsFor(h.id)
    const runs = runIds.flatMap((id) => {
      const run = this.store.runs.get(id)
      if (!run) return []
      const approval = approvals.get(id)
      return [
        {
          ...run,
          approvedBy: approval ? OPERATOR : null,
          approvedAt: approval?.at ?? null,
          planId: approval?.plan ?? null,
          durationSeconds:
            run.startedAt && run.finishedAt
              ? (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000
              : null,
        },
      ]
    })
    const report: HostReport = {
      report: 'Midwife host report',
      generatedAt: new Date().toISOString(),
      midwifeVersion: this.version,
      host: {
        id: h.id,
        name: hostName(h),
        state: h.state,
        stateReason: h.stateReason,
        stateChangedAt: h.stateChangedAt,
        // Without its spec: the configuration below is what it resolves to, secrets shown as set.
        definition: d && (({ spec: _spec, hasPassword: _pw, ...fields }) => fields)(d),
        identity: h.identity,
      },
      configuration: d
        ? resolvedForScreen(d, this.store.settings.profile().spec, d.spec).map((r) => ({
            key: r.key,
            title: r.title,
            source: r.source,
            shown: r.shown,
          }))
        : [],
      approvals: [...approvals.entries()].map(([runId, a]) => ({
        at: a.at,
        by: OPERATOR,
        runId,
        planId: a.plan,
        auditEntry: a.entry,
      })),
      runs,
      audit: { chain: this.verify(), entries: entries.map(entryOf) },
      secretsMasked: 0,
      secretsUnchecked: 0,
    }
    const { known, unopened } = this.knownSecrets(h, runIds)
    const out = masked(report, known)
    return { ...out.value, secretsMasked: out.found, secretsUnchecked: unopened }
  }

  /**
   * Every secret this host's report could leak, opened: its root password and
   * token, the passwords its runs logged in with, the secret values of its spec,
   * its runs' snapshots and the site profile, and the site's own secrets. Step
   * output is stored redacted; the report checks again rather than trusting it.
   */
  private knownSecrets(h: HostRecord, runIds: number[]): { known: string[]; unopened: number } {
    const known = new Set<string>()
    let unopened = 0
    const add = (open: () => string | null | undefined) => {
      try {
        const s = open()
        // As typed and as a command line quotes it; shorter ones would mask ordinary words.
        if (s && s.length >= 4) for (const form of [s, shellQuote(s)]) known.add(form)
      } catch {
        unopened++
      }
    }
    const sealed = (b: Buffer | null | undefined) => () => (b ? this.secrets.open(b) : null)
    // Sealed values, and those of secret settings a store kept in the clear before they were marked.
    const specSecrets = (spec: StoredSpec) => {
      for (const [key, value] of Object.entries(spec)) {
        add(() => {
          const v = openSpec(this.secrets, { [key]: value })[key]
          const secret = value !== v || settingByKey(key)?.secret === true
          return secret && typeof v === 'string' ? v : null
        })
      }
    }
    const hostSecrets = this.store.hosts.secrets(h.id)
    add(sealed(hostSecrets?.rootPassword))
    add(sealed(hostSecrets?.token))
    if (h.definition) specSecrets(h.definition.spec)
    specSecrets(this.store.settings.profile().spec)
    for (const id of runIds) {
      const approved = this.store.runs.approved(id)
      add(sealed(approved?.sealedPassword))
      const settings = (approved?.snapshot as { settings?: unknown } | null)?.settings
      if (Array.isArray(settings)) {
        specSecrets(
          Object.fromEntries(
            settings.map((s: { key?: unknown; value?: unknown }) => [String(s.key), s.value]),
          ),
        )
      }
    }
    add(() => this.site.enrollmentKey())
    add(() => this.site.discoveryPassword())
    return { known: [...known].sort((a, b) => b.length - a.length), unopened }
  }
}

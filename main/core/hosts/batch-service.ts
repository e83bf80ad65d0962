import { hash } from 'node:crypto'
import { settingByKey, SPEC_SETTINGS } from '../../catalogue/registry'
import { hostLabel } from '../../catalogue/values'
import { ApiCallError, type ApiHandlers } from '../../contract/api'
import {
  CloneInput,
  CsvImportOptions,
  GenerateInput,
  type BatchPreview,
  type BatchResult,
  type DownloadFile,
  type Host,
} from '../../contract/schemas'
import type { Notifier } from '../notify'
import type { SecretBox } from '../secrets'
import type { HostRecord, Store, StoredDefinition, StoredSpec } from '../store'
import {
  canonical,
  checkBatch,
  commitBatch,
  problem,
  settingField,
  type BatchContext,
  type Candidate,
  type Password,
} from './batch'
import { hostCells, hostColumns, readHostsCsv, templateCsv, writeCsv } from './csv-format'
import { addressAllocator, expandPattern, macPlus } from './generate'
import { hostName } from './host-view'
import type { HostsService } from './hosts-service'
import { addressesOf } from './spec'

/**
 * The setting a generated host's first address goes to: vmk0's static address.
 * Looked up by key, so a catalogue without it says so instead of guessing.
 */
export const MANAGEMENT_ADDRESS_KEY = 'mgmtAddress'

const SECRETS_NOTE =
  'Root passwords and other secrets are never exported: their cells are empty. ' +
  'An empty root_password keeps an existing host’s password; new hosts need one (in the cell or given with the import).'

const isSealed = (v: unknown) => typeof v === 'object' && v !== null && '$sealed' in v

/** A host with a definition (not a discovered server). */
type Defined = HostRecord & { definition: StoredDefinition }

/** Settings a template's values are copied without: the addresses are the new host's own. */
const givesAddresses = (key: string) => settingByKey(key)?.addresses !== undefined

/** The contract methods this service answers, with the types it returns (not promises). */
export type BatchHandlers = ReturnType<HostBatchService['handlers']>

/**
 * Hosts by the batch: CSV import and export, a clone, and hosts generated
 * from a name pattern. Every batch is checked as a whole (preview) and stored
 * in one transaction, so it lands entirely or not at all.
 */
export class HostBatchService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly hosts: HostsService,
    private readonly notify: Notifier,
  ) {}

  /** This service's slice of the contract. */
  handlers() {
    return {
      csvTemplate: () => this.template(),
      exportHostsCsv: () => this.export(),
      previewCsvImport: (text, options?) => this.previewCsv(text, options),
      importCsv: (text, options) => this.importCsv(text, options),
      cloneHost: (id, input) => this.clone(id, input),
      previewGenerateHosts: (input) => this.previewGenerate(input),
      generateHosts: (input, confirmed) => this.generate(input, confirmed.digest),
    } satisfies Partial<ApiHandlers>
  }

  private context(defaultPassword?: string, forScreen = true): BatchContext {
    return {
      hosts: this.store.hosts.list(),
      profile: this.store.settings.profile().spec,
      defaultPassword,
      forScreen,
    }
  }

  private commit(check: ReturnType<typeof checkBatch>, source: string): BatchResult {
    const { preview, writes } = check
    if (!preview.ready) {
      const shown = preview.problems.slice(0, 5).map((p) => p.message)
      const more = preview.problems.length - shown.length
      throw new ApiCallError(
        preview.problems.some((p) => p.kind === 'collision') ? 'conflict' : 'invalid',
        `nothing was stored: ${shown.join('; ')}${more > 0 ? `; and ${more} more problem(s)` : ''}`,
      )
    }
    let result: BatchResult
    try {
      result = commitBatch(writes, {
        transaction: (fn) => this.store.transaction(fn),
        secrets: this.secrets,
        insert: (f, pw, audit) => this.hosts.insertDefinition(f, pw, audit),
        rewrite: (id, f, pw, audit) => this.hosts.rewriteDefinition(id, f, pw, audit),
        summary: (r) =>
          this.store.events.append('hosts.imported', null, {
            source,
            created: r.created.length,
            updated: r.updated.length,
            unchanged: preview.counts.unchanged,
          }),
      })
    } catch (err) {
      // As it is (a failed call either way): a database's refusal keeps its code for the screen.
      if (err instanceof Error) throw err
      throw new ApiCallError('failed', String(err))
    }
    for (const id of [...result.created, ...result.updated]) this.notify.host(id)
    return { ...result, unchanged: preview.counts.unchanged }
  }

  // ---- CSV ----------------------------------------------------------------------

  template(): DownloadFile {
    return {
      filename: 'midwife-hosts-template.csv',
      contentType: 'text/csv',
      content: templateCsv(),
    }
  }

  /**
   * Every defined host, one row each. Values the CSV columns cannot carry are
   * named in comment lines at the top, so nobody takes the file for the whole story.
   */
  export(): DownloadFile {
    const defined = this.store.hosts.list().filter((h) => h.definition)
    const notes: string[] = []
    const rows = defined.map((h) => {
      const d = h.definition as StoredDefinition
      const lost = SPEC_SETTINGS.filter(
        (s) => d.spec[s.key] !== undefined && !s.secret && !fitsCsv(s.key, d.spec[s.key]),
      )
      if (lost.length) {
        notes.push(
          `${hostName(h)}: not in this file, as CSV columns cannot carry them: its own ${lost.map((s) => s.title).join(', ')}.`,
        )
      }
      return hostCells(d, d.spec)
    })
    return {
      filename: `midwife-hosts-${new Date().toISOString().slice(0, 10)}.csv`,
      contentType: 'text/csv',
      content: writeCsv(
        [`Midwife hosts: ${rows.length} host(s). ${SECRETS_NOTE}`, ...notes],
        [hostColumns(), ...rows],
      ),
    }
  }

  private checkCsv(text: string, options: CsvImportOptions | undefined, forScreen: boolean) {
    // The import's own options; the confirmation and digest beside them were checked by the contract.
    const opts = CsvImportOptions.parse({ rootPassword: options?.rootPassword })
    const read = readHostsCsv(text)
    const check = checkBatch(this.context(opts.rootPassword, forScreen), read.candidates)
    // In file order: a problem with the whole file (no line) first.
    const problems = [...read.problems, ...check.preview.problems].sort(
      (a, b) => (a.line ?? 0) - (b.line ?? 0),
    )
    const notes: string[] = []
    const kept = read.missing.filter((c) => c !== 'root_password')
    if (kept.length && check.preview.rows.some((r) => r.hostId !== null)) {
      notes.push(
        `The file has no ${kept.join(', ')} column(s): hosts it updates keep their own values there.`,
      )
    }
    if (check.preview.rows.some((r) => r.rootPassword === 'default')) {
      notes.push(
        'New hosts whose root_password is empty take the root password given with the import.',
      )
    }
    if (check.preview.rows.some((r) => r.rootPassword === 'kept')) {
      notes.push('Hosts it updates keep their root password unless the row gives a new one.')
    }
    const preview: PreviewBody = {
      ...check.preview,
      problems,
      ready: check.preview.ready && problems.length === 0,
      notes,
    }
    return { preview, writes: check.writes }
  }

  previewCsv(text: string, options?: CsvImportOptions): BatchPreview {
    return withDigest(this.checkCsv(text, options, true).preview)
  }

  importCsv(text: string, options: CsvImportOptions & { digest?: string }): BatchResult {
    // Held against a preview, the file is checked once, as the preview was (with the
    // resolved values the digest covers); without one, the screen's part is skipped.
    const check = this.checkCsv(text, options, options.digest !== undefined)
    if (options.digest !== undefined) asPreviewed(options.digest, check.preview)
    return this.commit(check, 'csv')
  }

  // ---- clone and generate ---------------------------------------------------------

  private definedHost(id: number): Defined {
    const h = this.store.hosts.get(id)
    if (!h) throw new ApiCallError('not_found', `host ${id} does not exist`)
    if (!h.definition) {
      throw new ApiCallError(
        'invalid',
        `${hostName(h)} is a discovered server, not a definition to copy`,
      )
    }
    return h as Defined
  }

  /** A new candidate from a template's values (not its addresses) with `values` on top. */
  private fromTemplate(
    base: { row: number; where: Candidate['where']; hostname: string; domain: string; mac: string },
    template: Defined | null,
    values: Record<string, unknown>,
    extra: { serial?: string; sshUser?: string; sshPort?: number; rootPassword?: string },
  ): Candidate {
    const own: StoredSpec = template?.definition.spec ?? {}
    const copied = Object.fromEntries(
      Object.entries(own).filter(([k, v]) => !givesAddresses(k) && !isSealed(v)),
    )
    const sealed = Object.fromEntries(Object.entries(own).filter(([, v]) => isSealed(v)))
    const sealedPassword = template ? this.store.hosts.secrets(template.id)?.rootPassword : null
    const password: Password | undefined =
      extra.rootPassword !== undefined
        ? { plain: extra.rootPassword }
        : sealedPassword
          ? { sealed: sealedPassword }
          : undefined
    return {
      ...base,
      line: null,
      serial: extra.serial || null,
      sshUser: extra.sshUser ?? template?.definition.sshUser,
      sshPort: extra.sshPort ?? template?.definition.sshPort,
      esxiVersion: template?.definition.esxiVersion,
      secureBoot: template?.definition.secureBoot,
      password,
      values: { ...copied, ...values },
      decides: new Set(),
      sealed,
      mayUpdate: false,
      problems: [],
      audit: template ? { from: template.id } : {},
    }
  }

  clone(id: number, input: CloneInput): Host {
    const source = this.definedHost(id)
    const c = CloneInput.parse(input)
    const candidate = this.fromTemplate(
      {
        row: 1,
        where: (field) => field ?? 'the clone',
        hostname: c.hostname,
        domain: c.domain ?? source.definition.domain,
        mac: c.mac,
      },
      source,
      c.spec,
      { serial: c.serial, rootPassword: c.rootPassword },
    )
    candidate.audit = { clonedFrom: id }
    const result = this.commit(checkBatch(this.context(), [candidate]), 'clone')
    return this.hosts.get(result.created[0] as number)
  }

  private checkGenerate(input: GenerateInput) {
    const g = GenerateInput.parse(input)
    let names: string[]
    try {
      names = expandPattern(g.pattern)
    } catch (err) {
      throw new ApiCallError('invalid', `pattern: ${(err as Error).message}`)
    }
    if (g.firstMac === undefined && g.macs === undefined) {
      throw new ApiCallError(
        'invalid',
        'give firstMac (counted up host by host) or macs (one per host): a definition needs the MAC its server boots from',
      )
    }
    if (g.macs !== undefined && g.macs.length !== names.length) {
      throw new ApiCallError(
        'invalid',
        `macs: ${g.pattern} makes ${names.length} host(s), and ${g.macs.length} MAC(s) are given`,
      )
    }
    const mgmt = settingByKey(MANAGEMENT_ADDRESS_KEY)
    if (g.firstIp !== undefined && !mgmt) {
      throw new ApiCallError(
        'invalid',
        'firstIp: this Midwife’s settings catalogue has no management address setting to put it in',
      )
    }
    const template = g.from === undefined ? null : this.definedHost(g.from)
    const ctx = this.context()
    // Every address a host or VMkernel NIC holds, and those this batch gives besides.
    const used = new Set<string>()
    for (const h of ctx.hosts) {
      for (const a of addressesOf(h.definition?.spec ?? {})) used.add(a)
      if (h.identity?.managementIp) used.add(h.identity.managementIp)
    }
    for (const a of addressesOf(g.spec)) used.add(a)
    const nextAddress = g.firstIp === undefined ? null : addressAllocator(g.firstIp, used)

    const candidates = names.map((hostname, i) => {
      const fqdn = `${hostname}.${g.domain}`
      const where = (field: string | null) => `Host ${i + 1} (${fqdn})${field ? `, ${field}` : ''}`
      const mac = g.macs ? (g.macs[i] as string) : macPlus(g.firstMac as string, i)
      const c = this.fromTemplate(
        { row: i + 1, where, hostname, domain: g.domain, mac: mac ?? '' },
        template,
        g.spec,
        { sshUser: g.sshUser, sshPort: g.sshPort, rootPassword: g.rootPassword },
      )
      c.audit = { ...c.audit, generatedBy: g.pattern }
      const label = hostLabel.safeParse(hostname)
      if (!label.success) {
        c.problems.push(problem(c, 'hostname', 'value', label.error.issues[0]?.message ?? ''))
      }
      if (mac === null)
        c.problems.push(problem(c, 'mac', 'value', 'the MACs run past ff:ff:ff:ff:ff:ff'))
      if (nextAddress && mgmt) {
        const address = nextAddress()
        if (address === null) {
          c.problems.push(
            problem(
              c,
              settingField(mgmt.key),
              'value',
              `no free address is left in the subnet of ${g.firstIp ?? ''}`,
            ),
          )
        } else {
          c.values[mgmt.key] = address
        }
      }
      return c
    })
    const check = checkBatch(ctx, candidates)
    const notes = [
      ...(template
        ? [`Each host starts from ${hostName(template)}’s own values, except its addresses.`]
        : []),
      ...(g.firstIp
        ? ['Management addresses count up from the first, skipping those already used.']
        : []),
    ]
    return { preview: { ...check.preview, notes }, writes: check.writes }
  }

  previewGenerate(input: GenerateInput): BatchPreview {
    return withDigest(this.checkGenerate(input).preview)
  }

  generate(input: GenerateInput, digest?: string): BatchResult {
    const check = this.checkGenerate(input)
    if (digest !== undefined) asPreviewed(digest, check.preview)
    return this.commit(check, 'generate')
  }
}

/** A preview as the batch check makes it, before its digest. */
type PreviewBody = Omit<BatchPreview, 'digest'>

function withDigest(preview: PreviewBody): BatchPreview {
  return { ...preview, digest: hash('sha256', JSON.stringify(preview), 'hex') }
}

/**
 * The operator confirmed a preview: refuses, storing nothing, if the batch
 * would now do anything else (another tab saved one of its hosts, the
 * profile changed), rather than commit what nobody saw.
 */
function asPreviewed(digest: string, now: PreviewBody): void {
  if (withDigest(now).digest === digest) return
  throw new ApiCallError(
    'conflict',
    'nothing was stored: the hosts or the site profile changed since this preview, so it would no longer do what the preview showed. Check it again and confirm the new preview.',
  )
}

/** Whether a value survives being written to its CSV columns and read back. */
function fitsCsv(key: string, value: unknown): boolean {
  const s = settingByKey(key)
  if (!s?.csv || isSealed(value)) return false
  try {
    const back = s.value.safeParse(s.csv.fromCsv(s.csv.toCsv(value)))
    return back.success && canonical(back.data) === canonical(value)
  } catch {
    return false
  }
}

// The one API between the renderer and the core. Both transports (IPC in the
// desktop app, HTTP + WebSocket in serve mode) are built from this table, and
// the core's App is type-checked against it.
import { z } from 'zod'
import { escapeControl } from './text'
import {
  AuditEntry,
  AuditVerification,
  BatchPreview,
  BatchResult,
  BulkApproval,
  BulkRuns,
  BootMaterial,
  CloneInput,
  CsvImportOptions,
  CsvText,
  DownloadFile,
  GenerateInput,
  BootMaterialOptions,
  BackupRequest,
  ChosenFolder,
  BackupResult,
  Checkin,
  DiscoveryMaterial,
  ExportedFile,
  GenericInstall,
  Mac,
  Host,
  HostInput,
  HostPage,
  MediaStatus,
  Notice,
  Plan,
  PlanSummaries,
  ProfileImpact,
  ProfileInput,
  Profile,
  ReportFormat,
  OutputChunk,
  Run,
  RunHeader,
  RunPage,
  Settings,
  StepDelta,
  SettingsInput,
  Status,
  TftpBundleRequest,
} from './schemas'

const Id = z
  .number({ error: 'an id is a number' })
  .int('an id is a whole number')
  .positive('an id is 1 or more')

/** The runs a bulk action is for: the selection's latest runs, at most one per host. */
const RunIds = z.array(Id).min(1, 'select a run').max(10_000, 'at most 10,000 runs at once')

function method<A extends z.ZodTuple, R extends z.ZodType>(args: A, result: R) {
  return { args, result }
}

/** An operator's explicit "yes, I mean it" for an action that overrides a safety check. */
const Confirmed = z.strictObject({ confirm: z.literal(true, 'confirm the action explicitly') })
/** Confirms a batch as previewed: with the preview's digest, it lands only if it would do just that. */
const ConfirmedPreview = Confirmed.extend({
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'the digest of a preview')
    .optional(),
})

export const methods = {
  getStatus: method(z.tuple([]), Status),
  getSettings: method(z.tuple([]), Settings),
  saveSettings: method(z.tuple([SettingsInput]), Settings),
  getProfile: method(z.tuple([]), Profile),
  /** What saving this profile would change, host by host; nothing is saved. */
  previewProfile: method(z.tuple([ProfileInput]), ProfileImpact),
  saveProfile: method(z.tuple([ProfileInput]), ProfileImpact),
  /** Checks each folder of the media library on disk again (files may have changed since saved). */
  checkMediaLibrary: method(z.tuple([]), z.array(MediaStatus)),
  /** The generic boot files for servers no definition names, with the linter's findings. */
  getDiscoveryMaterial: method(z.tuple([BootMaterialOptions.optional()]), DiscoveryMaterial),
  rotateEnrollmentKey: method(z.tuple([]), DiscoveryMaterial),
  /**
   * Copies the data folder's database and secret.key into a new or empty folder, as one
   * consistent snapshot while Midwife runs (as `midwife backup --to`).
   */
  backupDataFolder: method(z.tuple([BackupRequest]), BackupResult),
  /**
   * The desktop app's native folder dialog, for the backup folder. Serve mode has none (its page
   * may be on another machine than the folder): the path is typed there.
   */
  chooseBackupFolder: method(z.tuple([]), ChosenFolder),
  /**
   * Servers no definition names that the generic kickstart installed, newest first: their
   * per-MAC HTTP boot files boot the local disk instead of installing again.
   */
  listGenericInstalls: method(z.tuple([]), z.array(GenericInstall)),
  /** Install again: forgets one, so its next network boot installs ESXi again. */
  forgetGenericInstall: method(z.tuple([Mac, Confirmed]), z.array(GenericInstall)),
  listHosts: method(z.tuple([]), z.array(Host)),
  /**
   * Hosts in id order, a page at a time (the screens load a hall this way:
   * one 10,000-host answer took the main process past its memory target).
   */
  listHostsPage: method(
    z.tuple([
      z
        .strictObject({
          afterId: z.number().int().min(0).default(0),
          limit: z.number().int().min(1).max(2000).default(500),
        })
        .default({ afterId: 0, limit: 500 }),
    ]),
    HostPage,
  ),
  getHost: method(z.tuple([Id]), Host),
  /** Creates or edits a definition; given the id of a discovered server, defines it. */
  saveHost: method(z.tuple([HostInput]), Host),
  deleteHost: method(z.tuple([Id]), z.null()),
  /** A host's boot files from the chosen boot kinds, with the linter's findings and DHCP configs. */
  getBootMaterial: method(z.tuple([Id, BootMaterialOptions.optional()]), BootMaterial),
  /**
   * Writes the TFTP-side files as a .tar.gz into the exports folder of the
   * data folder and says where (serve mode also offers it as a download).
   */
  exportTftpBundle: method(z.tuple([TftpBundleRequest]), ExportedFile),
  /** Every check-in a host sent, newest first: the evidence behind its identity. */
  listCheckins: method(z.tuple([Id]), z.array(Checkin)),
  /** Reads the host over SSH (nothing is changed) and shows what a run would do. */
  planHost: method(z.tuple([Id]), Plan),
  /** Approves a plan: snapshots it with the host's identity and queues a run of it. */
  approveHost: method(z.tuple([Id, z.string().min(1, 'approve a plan: plan the host first')]), Run),
  /** Trusts what the server reported last (reinstalled, re-addressed, or MACs not as defined). */
  trustReported: method(z.tuple([Id, Confirmed]), Host),
  /** Gives a discovered server's identity to a definition; the discovered record goes. */
  assignDiscovered: method(
    z.tuple([Id, Id, z.strictObject({ confirmMacMismatch: z.boolean().default(false) })]),
    Host,
  ),
  /** Rotates the token and re-arms the host for a new install. */
  reinstallHost: method(z.tuple([Id, Confirmed]), Host),
  retireHost: method(z.tuple([Id, Confirmed]), Host),
  /**
   * Starts the Secure Boot path again for an installed host where it stopped
   * (no answer on 443, a refused login, SSH not starting): wait for 443, turn
   * SSH on over the vSphere API, read the identity over SSH.
   */
  retrySecureBootPath: method(z.tuple([Id]), Host),
  /**
   * Plans several hosts at once (each read over SSH, nothing changed) and sums
   * the plans up per host and per setting, for a bulk approval.
   */
  planHosts: method(z.tuple([z.array(Id).min(1, 'select a host').max(10_000)]), PlanSummaries),
  /**
   * Approves the plans planHosts made, as one batch; a host whose plan cannot
   * be approved any more is refused and named, and the others still run.
   */
  approveHosts: method(
    z.tuple([
      z
        .array(z.object({ hostId: Id, planId: z.string().min(1) }))
        .min(1, 'select a host')
        .max(10_000),
    ]),
    BulkApproval,
  ),
  /** Each host's newest run, for every host: no paging, a header each. */
  latestRuns: method(z.tuple([]), z.array(RunHeader)),
  /** Runs newest first, a page at a time; by host or by batch when given. */
  listRuns: method(
    z.tuple([
      z
        .strictObject({
          hostId: Id.optional(),
          batchId: z.string().min(1).max(64).optional(),
          beforeId: Id.optional(),
          limit: z.number().int().min(1).max(1000).default(200),
        })
        .default({ limit: 200 }),
    ]),
    RunPage,
  ),
  /** A whole run, its steps and their output: fetched on demand, never sent as an event. */
  getRun: method(z.tuple([Id]), Run),
  /** An empty hosts CSV: its header, and comment lines saying what each column takes. */
  csvTemplate: method(z.tuple([]), DownloadFile),
  /** Every defined host as CSV; root passwords and other secrets are left empty. */
  exportHostsCsv: method(z.tuple([]), DownloadFile),
  /** What importing this CSV would do, row by row; nothing is stored. */
  previewCsvImport: method(z.tuple([CsvText, CsvImportOptions.optional()]), BatchPreview),
  /** Imports a CSV: every row, or (on any problem) none. */
  importCsv: method(
    z.tuple([CsvText, CsvImportOptions.extend(ConfirmedPreview.shape)]),
    BatchResult,
  ),
  /** A new host with another's settings (not its addresses), a new name and MAC. */
  cloneHost: method(z.tuple([Id, CloneInput]), Host),
  /** What generating hosts from a name pattern would store; nothing is stored. */
  previewGenerateHosts: method(z.tuple([GenerateInput]), BatchPreview),
  generateHosts: method(z.tuple([GenerateInput, ConfirmedPreview]), BatchResult),
  /** Walks the audit log's hash chain and names the first entry that is not as written. */
  verifyAudit: method(z.tuple([]), AuditVerification),
  /** A host's audit entries and its runs', oldest first. */
  hostAudit: method(z.tuple([Id]), z.array(AuditEntry)),
  /** A report to attach to a change ticket: approvals, plans, runs, commands; secrets masked. */
  hostReport: method(z.tuple([Id, ReportFormat]), DownloadFile),
  /** A run's output after a sequence number (0: from the start), at most `limit` chunks. */
  getRunOutput: method(
    z.tuple([Id, z.number().int().min(0), z.number().int().min(1).max(10_000).default(2000)]),
    z.array(OutputChunk),
  ),
  /** Stops a queued or running run at the next command boundary; what was applied is recorded. */
  cancelRun: method(z.tuple([Id]), RunHeader),
  /** Runs a failed, interrupted or cancelled run again from its first unfinished step. */
  resumeRun: method(z.tuple([Id]), RunHeader),
  /**
   * Cancels several runs in one call; a run that cannot be cancelled is
   * refused and named, the others still are. An unknown id changes nothing.
   */
  cancelRuns: method(z.tuple([RunIds]), BulkRuns),
  /** Resumes several runs in one call, as cancelRuns does. */
  resumeRuns: method(z.tuple([RunIds]), BulkRuns),
  /**
   * The newest event's sequence number: a screen notes it before it loads, then asks
   * eventsSince for what changed while it loaded.
   */
  eventSeq: method(z.tuple([]), z.number().int().min(0)),
  /**
   * Events after a sequence number, for a screen that lost its connection;
   * complete is false when they are no longer kept (load everything again).
   */
  eventsSince: method(
    z.tuple([z.number().int().min(0)]),
    z.object({
      complete: z.boolean(),
      events: z.array(z.object({ seq: z.number().int(), event: z.string(), payload: z.unknown() })),
    }),
  ),
}

/** Events are scoped to one entity, so a screen updates that entity and nothing else. */
export const events = {
  /** A host was created or changed in any way (state, definition, identity, evidence). */
  'host.changed': Host,
  'host.removed': z.object({ id: z.number().int() }),
  /** A check-in was stored, or repeated. */
  'checkin.changed': Checkin,
  /** A run was created or its state changed (no steps, no output). */
  'run.changed': RunHeader,
  /** One step of a run changed state (no output). */
  'run.step': StepDelta,
  /** New output of a step, coalesced over a short interval. */
  'run.output': OutputChunk,
  /** Site settings or the listener changed. */
  'site.changed': z.object({ settings: Settings, status: Status }),
  /** Worth a notification: a new check-in, a failed run, a batch done. */
  notice: Notice,
}

export type Methods = typeof methods
export type MethodName = keyof Methods
export type EventName = keyof typeof events
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>

export type MethodArgs<M extends MethodName> = z.input<Methods[M]['args']>
export type MethodResult<M extends MethodName> = z.infer<Methods[M]['result']>

/** What the renderer calls, whatever the transport. */
export type Api = {
  [M in MethodName]: (...args: MethodArgs<M>) => Promise<MethodResult<M>>
}

/** What the core implements: arguments arrive already parsed by the schema. */
export type ApiHandlers = {
  [M in MethodName]: (
    ...args: z.output<Methods[M]['args']>
  ) => MethodResult<M> | Promise<MethodResult<M>>
}

export type EventListener = <E extends EventName>(
  event: E,
  payload: EventPayload<E>,
  /** The event's sequence number, for a screen that reconnects and asks what it missed. */
  seq: number,
) => void

/**
 * What the desktop preload exposes as `window.api`: one function per method,
 * each resolving to the Reply envelope, plus a subscription to events.
 */
export type PreloadApi = Record<MethodName, (...args: unknown[]) => Promise<unknown>> & {
  onEvent(event: EventName, callback: (payload: unknown) => void): () => void
}

export const methodNames = Object.keys(methods) as MethodName[]
export const eventNames = Object.keys(events) as EventName[]

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name)
}

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name)
}

/** The envelope every transport returns, so errors cross as data, not as exceptions. */
export type Reply<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiError }

export const ApiError = z.object({
  code: z.enum(['invalid', 'not_found', 'conflict', 'failed', 'unknown_method']),
  message: z.string(),
})
export type ApiError = z.infer<typeof ApiError>

export const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ApiError }),
])

export class ApiCallError extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message)
    this.name = 'ApiCallError'
  }
}

/** Turns zod issues into one sentence an operator can act on. */
export function describeIssues(error: z.ZodError, dropLeading = 0): string {
  return error.issues
    .map((i) => {
      // A whole positional argument ("0: the file is empty") needs no where.
      const drop = i.path.length === 1 && typeof i.path[0] === 'number' ? 1 : dropLeading
      const where = i.path
        .slice(drop)
        .filter((p) => typeof p !== 'symbol')
        .join('.')
      return where ? `${where}: ${i.message}` : i.message
    })
    .join('; ')
}

/**
 * The single server-side entry point both transports call: validates the
 * method name and arguments, runs the handler, and wraps the outcome.
 */
export async function dispatch(
  handlers: ApiHandlers,
  name: string,
  rawArgs: unknown,
): Promise<Reply> {
  if (!isMethodName(name)) {
    return { ok: false, error: { code: 'unknown_method', message: `unknown method "${name}"` } }
  }
  const parsed = methods[name].args.safeParse(rawArgs ?? [])
  if (!parsed.success) {
    // With a single argument, "0.mac" reads better as "mac".
    const single = methods[name].args.def.items.length === 1 ? 1 : 0
    return {
      ok: false,
      error: { code: 'invalid', message: shownError(describeIssues(parsed.error, single)) },
    }
  }
  try {
    const fn = handlers[name] as (...a: unknown[]) => unknown
    const result = await fn.apply(handlers, parsed.data as unknown[])
    return { ok: true, result: result === undefined ? null : result }
  } catch (err) {
    if (err instanceof ApiCallError)
      return { ok: false, error: { code: err.code, message: shownError(err.message) } }
    const message = err instanceof Error ? err.message : String(err)
    return {
      ok: false,
      error: { code: 'failed', message: shownError(storageTrouble(err) ?? message) },
    }
  }
}

function sqliteCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null
}

/**
 * What an operator can do about a database that refused a write (SQLite's own
 * words, "database or disk is full", name neither the folder nor the remedy);
 * null for any other error.
 */
function storageTrouble(err: unknown): string | null {
  // The database's own error, or the one a handler's sentence was made from.
  let cause: unknown = err
  while (cause instanceof Error && !sqliteCode(cause)) cause = cause.cause
  const code = sqliteCode(cause)
  if (!code) return null
  // A handler that said nothing was stored (a CSV import) still says so.
  const nothing = /^nothing was stored\b/.test((err as Error).message) ? 'Nothing was stored. ' : ''
  const first = `${nothing}Midwife could not write to its database (${(cause as Error).message})`
  if (code === 'SQLITE_FULL') {
    return `${first}: the disk holding its data folder is full. Free some space there and try again`
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return `${first}: its data folder cannot be written. Check that the folder and midwife.db can be written by the user running Midwife, then try again`
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return `${first}: another program holds it locked. Close whatever else has midwife.db open (a backup, a database browser) and try again`
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return `${first}: the disk holding its data folder failed a read or write. Check that disk, then try again`
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return `${first}: midwife.db is damaged. Stop Midwife and restore the data folder from a backup`
  }
  return null
}

const MAX_ERROR = 2_000

/**
 * An error message as a screen shows it. It may quote what was sent (a bad
 * value, a CSV cell): control and direction-changing characters show as
 * escapes (line breaks stay), and a megabyte value is cut, not sent back whole.
 */
function shownError(message: string): string {
  const safe = message.split('\n').map(escapeControl).join('\n')
  if (safe.length <= MAX_ERROR) return safe
  return `${safe.slice(0, MAX_ERROR)}… (${safe.length - MAX_ERROR} more characters)`
}

/** Client side of a transport: turns a Reply back into a value or a thrown ApiCallError. */
export function unwrap<M extends MethodName>(name: M, reply: unknown): MethodResult<M> {
  const r = Reply.safeParse(reply)
  if (!r.success) throw new ApiCallError('failed', `malformed reply to ${name}`)
  if (!r.data.ok) throw new ApiCallError(r.data.error.code, r.data.error.message)
  const result = methods[name].result.safeParse(r.data.result)
  if (!result.success) {
    throw new ApiCallError(
      'failed',
      `reply to ${name} does not match the contract: ${describeIssues(result.error)}`,
    )
  }
  return result.data as MethodResult<M>
}

/** Builds a typed Api from one "send this call" function; used by every client transport. */
export function createClient(send: (name: MethodName, args: unknown[]) => Promise<unknown>): Api {
  const api: Partial<Record<MethodName, (...args: unknown[]) => Promise<unknown>>> = {}
  for (const name of methodNames) {
    api[name] = async (...args: unknown[]) => unwrap(name, await send(name, args))
  }
  return api as Api
}

import { chmodSync, createWriteStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ApiCallError, type ApiHandlers } from '../contract/api'
import { AuditService, type AuditHandlers } from './audit/audit-service'
import {
  SettingsInput,
  type BootMaterial,
  type BootMaterialOptions,
  type BulkApproval,
  type BulkRuns,
  type BackupRequest,
  type ChosenFolder,
  type BackupResult,
  type Checkin,
  type DhcpFlavour,
  type DiscoveryMaterial,
  type GenericInstall,
  type ExportedFile,
  type Host,
  type HostPage,
  type HostInput,
  type MediaStatus,
  type Plan,
  type PlanSummaries,
  type Profile,
  type ProfileImpact,
  type ProfileInput,
  type OutputChunk,
  type Run,
  type RunHeader,
  type RunPage,
  type Settings,
  type Status,
  type TftpBundleRequest,
} from '../contract/schemas'
import { backupDataFolder } from './backup'
import { BootInputs } from './boot/boot-inputs'
import { BootService } from './boot/boot-service'
import { GenericInstalls } from './boot/generic-installs'
import { InstallReports } from './boot/install-reports'
import type { BootTemplates } from './boot/material'
import { NetbootFiles } from './boot/netboot-files'
import { CheckinService } from './checkins/checkin-service'
import type { Connect } from './configure/run'
import { EventBus } from './events'
import { tuneHeapForListener } from './heap'
import { HostBatchService, type BatchHandlers } from './hosts/batch-service'
import { HostsService } from './hosts/hosts-service'
import {
  startListener,
  type ListenerHandlers,
  type ListenerLimits,
  type RunningListener,
} from './listener/server'
import { Refusals } from './listener/refusals'
import { consoleLogger, type Logger } from './log'
import { MediaLibrary } from './media/media-service'
import { Notifier } from './notify'
import { RunService } from './runs/run-service'
import { SecureBootService, type SecureBootOptions } from './secure-boot/secure-boot-service'
import { LocalKeySecretBox, sealedWithKeyFile, type SecretBox } from './secrets'
import { ProfileService } from './site/profile-service'
import { SiteService } from './site/site-service'
import { Store } from './store'
import { FolderLock } from './store/folder-lock'

export interface AppOptions {
  dataDir: string
  /** The folder holding client/ and templates/. */
  resourcesDir: string
  version: string
  /** How secrets are sealed, given the (existing) data folder; a local key file by default. */
  secrets?: (dataDir: string) => SecretBox
  logger?: Logger
  /** Fixes the listener address for this process, overriding the saved settings. */
  listen?: { host: string; port: number }
  /** Rate limits, connection caps and timeouts of the check-in listener; defaults suit a provisioning network. */
  listenerLimits?: Partial<ListenerLimits>
  connect?: Connect
  connectTimeoutMs?: number
  commandTimeoutMs?: number
  concurrency?: number
  /** SSH connections opened at once (16 by default). */
  handshakes?: number
  /** How long a host waits for Midwife at a new management address before rolling back. */
  moveDeadlineMs?: number
  /** A better-sqlite3 binary for this runtime's ABI, when node_modules holds Node's. */
  sqliteBinding?: string
  /** Where exported files (the TFTP bundle) are written; default: `exports` in the data folder. */
  exportDir?: string
  /** Ports and deadlines of the Secure Boot path (after `installed`, over the host's vSphere API). */
  secureBoot?: SecureBootOptions
  /** Who holds the data folder, in the message a second Midwife on it gives ('serve mode'). */
  holder?: string
  /** The desktop app's native folder dialog (resolves null when cancelled); serve mode has none. */
  pickFolder?: (title: string) => Promise<string | null>
}

/** A file the operator downloads (serve mode) or exports: its name, type and bytes. */
export interface Download {
  fileName: string
  contentType: string
  body: Readable | string
}

/** What serve mode offers as downloads, parsed from its URL. */
export type DownloadRequest =
  { what: 'tftp-bundle'; request: TftpBundleRequest } | { what: 'dhcp'; flavour: DhcpFlavour }

function loadTemplates(dir: string): BootTemplates {
  const read = (p: string) => readFileSync(join(dir, p), 'utf8')
  return {
    kickstart: read('templates/ks.cfg'),
    discoveryKickstart: read('templates/ks-discover.cfg'),
    client: read('client/checkin.sh'),
  }
}

/** This machine's IPv4 addresses, for the boot linter. */
function localIpv4s(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) =>
    (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address),
  )
}

/** The first address of this machine other hosts could reach, for a wildcard-bound listener. */
function outwardIpv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

/** The slices of the contract that services answer whole (assigned in the constructor). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface App extends BatchHandlers, AuditHandlers {}

/**
 * The core, wired: store, site, hosts, check-ins, boot material, runs and the
 * listener. The one object both transports call; it knows nothing of
 * Electron or HTTP. Each area's use cases live in its own service.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class App implements ApiHandlers {
  readonly events = new EventBus()
  private listener: RunningListener | null = null
  private listenerError: string | null = null
  private readonly notify: Notifier
  /** What the listener refused since this start, for the Servers screen. */
  private readonly refusals = new Refusals(() => this.notify.siteChanged())
  private readonly site: SiteService
  private readonly profile: ProfileService
  private readonly hosts: HostsService
  private readonly checkins: CheckinService
  private readonly boot: BootService
  private readonly media = new MediaLibrary()
  private readonly netboot: NetbootFiles
  private readonly installs: InstallReports
  private readonly genericInstalls: GenericInstalls
  private readonly runs: RunService
  private readonly secureBoot: SecureBootService

  private constructor(
    readonly store: Store,
    private readonly opts: AppOptions,
    secrets: SecretBox,
    templates: BootTemplates,
    private readonly logger: Logger,
  ) {
    this.secretStorage = secrets.kind
    // Before any service seals something new with the key just made.
    this.secretWarning = secrets.madeKey ? lostKeyWarning(store, opts.dataDir) : null
    if (this.secretWarning) logger.warn(this.secretWarning)
    this.notify = new Notifier(this.events, store, () => ({
      settings: this.getSettings(),
      status: this.getStatus(),
    }))
    this.site = new SiteService(store, secrets)
    this.profile = new ProfileService(store, secrets, this.notify)
    this.hosts = new HostsService(store, secrets, this.site, this.notify)
    Object.assign(
      this,
      new HostBatchService(store, secrets, this.hosts, this.notify).handlers(),
      new AuditService(store, secrets, this.site, opts.version).handlers(),
    )
    this.checkins = new CheckinService(store, this.site, this.notify, logger)
    const inputs = new BootInputs(store, secrets, this.site, this.media, () => this.listenerUrl())
    this.boot = new BootService(
      store,
      secrets,
      this.site,
      templates,
      inputs,
      localIpv4s,
      this.notify,
      logger,
    )
    this.netboot = new NetbootFiles(store, inputs, logger)
    this.secureBoot = new SecureBootService(
      store,
      secrets,
      this.checkins,
      this.notify,
      logger,
      opts.secureBoot,
    )
    this.installs = new InstallReports(store, this.notify, logger, (id) =>
      this.secureBoot.onInstalled(id),
    )
    this.genericInstalls = new GenericInstalls(
      store,
      (key) => this.site.enrollmentMatches(key),
      this.notify,
      logger,
    )
    this.mediaStatus = () => inputs.mediaStatus()
    this.runs = new RunService(store, secrets, this.notify, this.events, logger, {
      connect: opts.connect,
      connectTimeoutMs: opts.connectTimeoutMs,
      commandTimeoutMs: opts.commandTimeoutMs,
      concurrency: opts.concurrency,
      handshakes: opts.handshakes,
      moveDeadlineMs: opts.moveDeadlineMs,
    })
  }

  private readonly secretStorage: string
  /** Set when secret.key was made at this start while the database held secrets it cannot open. */
  private readonly secretWarning: string | null
  /** Held from start to stop: one Midwife per data folder. */
  private folderLock: FolderLock | null = null
  private readonly mediaStatus: () => MediaStatus[]

  static async start(opts: AppOptions): Promise<App> {
    tuneHeapForListener()
    prepareDataDir(opts.dataDir)
    // Before the database opens: a second Midwife must not recover (interrupt) the first's runs.
    const lock = FolderLock.take(opts.dataDir, {
      nativeBinding: opts.sqliteBinding,
      what: opts.holder ?? 'Midwife',
    })
    let store: Store | null = null
    try {
      const file = join(opts.dataDir, 'midwife.db')
      store = Store.open(file, { nativeBinding: opts.sqliteBinding })
      // Checkpoints run on a worker thread: the listener's thread never waits on one.
      store.checkpointInBackground(file, { nativeBinding: opts.sqliteBinding })
      const secrets =
        opts.secrets?.(opts.dataDir) ?? new LocalKeySecretBox(join(opts.dataDir, 'secret.key'))
      const logger = opts.logger ?? consoleLogger()
      const app = new App(store, opts, secrets, loadTemplates(opts.resourcesDir), logger)
      app.folderLock = lock
      app.runs.recoverInterrupted()
      app.secureBoot.resume()
      // Whatever the folders hold now: one that went away is reported, not fatal.
      await app.media.refresh(store.settings.get().boot.media)
      await app.openListener()
      return app
    } catch (err) {
      await store?.shutdown()
      lock.release()
      throw err
    }
  }

  async stop(): Promise<void> {
    this.refusals.stop()
    this.notify.flushCheckins()
    await this.listener?.close()
    this.listener = null
    await this.secureBoot.stop()
    await this.runs.idle()
    await this.store.shutdown()
    this.folderLock?.release()
    this.folderLock = null
  }

  /** Runs queued or running now (what stop() waits for), oldest first. */
  runsInProgress(): Array<{ id: number; hostName: string }> {
    return this.store.runs.inProgress()
  }

  /** Resolves when every queued configuration run has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.runs.idle()
  }

  /** Resolves when no Secure Boot path is running (tests). */
  secureBootIdle(): Promise<void> {
    return this.secureBoot.idle()
  }

  // ---- listener -------------------------------------------------------------

  private listenAddress(): { host: string; port: number } {
    const s = this.store.settings.get()
    return this.opts.listen ?? { host: s.listenerHost, port: s.listenerPort }
  }

  /** At launch, a listener that cannot bind is reported on the Site screen, not fatal. */
  private async openListener(): Promise<void> {
    const { host, port } = this.listenAddress()
    try {
      this.listener = await startListener(this.listenerHandlers(), {
        host,
        port,
        logger: this.logger,
        limits: this.opts.listenerLimits,
      })
      this.listenerError = null
      this.logger.info(`check-in listener on ${host}:${this.listener.address.port}`)
    } catch (err) {
      this.listenerError = `cannot listen on ${host}:${port}: ${(err as Error).message}`
      this.logger.error(this.listenerError)
    }
    this.notify.siteChanged()
  }

  /**
   * Moves the listener: the new one must be up before the old one closes, so a
   * busy or foreign address is refused and the running listener stays.
   */
  private async moveListener(host: string, port: number): Promise<void> {
    let next: RunningListener
    try {
      next = await startListener(this.listenerHandlers(), {
        host,
        port,
        logger: this.logger,
        limits: this.opts.listenerLimits,
      })
    } catch (err) {
      throw new ApiCallError(
        'invalid',
        `cannot listen on ${host}:${port}: ${(err as Error).message}`,
      )
    }
    await this.listener?.close()
    this.listener = next
    this.listenerError = null
    this.logger.info(`check-in listener moved to ${host}:${next.address.port}`)
  }

  /** http://host:port that ESXi hosts use to reach the listener. */
  listenerUrl(): string {
    const s = this.store.settings.get()
    const bound = this.listener?.address
    const port = bound?.port ?? this.listenAddress().port
    if (s.advertisedAddress) {
      const hasPort = /:\d+$/.test(s.advertisedAddress)
      return `http://${s.advertisedAddress}${hasPort ? '' : `:${port}`}`
    }
    const host = this.listenAddress().host
    const wildcard = host === '0.0.0.0' || host === '::' || host === ''
    const address = wildcard ? (outwardIpv4() ?? '127.0.0.1') : host
    return `http://${address}:${port}`
  }

  private listenerHandlers(): ListenerHandlers {
    return {
      kickstart: (token, sourceIp) => this.boot.kickstart(token, sourceIp),
      discoveryKickstart: (key) => this.boot.discoveryKickstart(key),
      personalClient: (token) => this.boot.personalClient(token),
      client: () => this.boot.genericClient(),
      checkin: (credential, body, rawBody, sourceIp) =>
        this.checkins.accept(credential, body, rawBody, sourceIp),
      installReport: (token, state, body, sourceIp) =>
        this.installs.report(token, state, body, sourceIp),
      genericInstallReport: (key, body, sourceIp) =>
        this.genericInstalls.report(key, body, sourceIp),
      bootFile: (path, sourceIp) => this.netboot.serve(path, sourceIp),
      refused: (r) => this.refusals.note(r),
    }
  }

  // ---- the API --------------------------------------------------------------

  getStatus(): Status {
    return {
      version: this.opts.version,
      secretStorage: this.secretStorage,
      secretWarning: this.secretWarning,
      listener: {
        listening: this.listener !== null,
        address: this.listener
          ? `${this.listener.address.address}:${this.listener.address.port}`
          : null,
        advertisedUrl: this.listenerUrl(),
        error: this.listenerError,
        fixedByCommandLine: this.opts.listen !== undefined,
        refused: this.refusals.snapshot(),
      },
    }
  }

  getSettings(): Settings {
    return this.store.settings.get()
  }

  async saveSettings(input: SettingsInput): Promise<Settings> {
    const { discoveryRootPassword, boot, runConcurrency, ...rest } = SettingsInput.parse(input)
    const before = this.store.settings.get()
    const settings = {
      ...rest,
      boot: boot ?? before.boot,
      runConcurrency: runConcurrency ?? before.runConcurrency,
    }
    // Media folders are checked before anything moves or is stored.
    if (boot !== undefined) await this.media.accept(boot.media)
    const moved =
      before.listenerHost !== settings.listenerHost || before.listenerPort !== settings.listenerPort
    if (moved && !this.opts.listen)
      await this.moveListener(settings.listenerHost, settings.listenerPort)
    const saved = this.store.settings.save(settings)
    this.runs.setConcurrency(saved.runConcurrency)
    if (discoveryRootPassword !== undefined) this.site.setDiscoveryPassword(discoveryRootPassword)
    this.store.events.append('settings.saved', null, saved)
    this.notify.siteChanged()
    return saved
  }

  getProfile(): Profile {
    return this.profile.get()
  }

  previewProfile(input: ProfileInput): ProfileImpact {
    return this.profile.preview(input)
  }

  saveProfile(input: ProfileInput): ProfileImpact {
    return this.profile.save(input)
  }

  async checkMediaLibrary(): Promise<MediaStatus[]> {
    await this.media.refresh(this.store.settings.get().boot.media)
    return this.mediaStatus()
  }

  getDiscoveryMaterial(o?: BootMaterialOptions): DiscoveryMaterial {
    return this.boot.discovery(o)
  }

  rotateEnrollmentKey(): DiscoveryMaterial {
    this.site.rotateEnrollmentKey()
    return this.boot.discovery()
  }

  async backupDataFolder(r: BackupRequest): Promise<BackupResult> {
    try {
      return await backupDataFolder(this.opts.dataDir, r.to, {
        nativeBinding: this.opts.sqliteBinding,
      })
    } catch (err) {
      throw new ApiCallError('invalid', (err as Error).message)
    }
  }

  async chooseBackupFolder(): Promise<ChosenFolder> {
    if (!this.opts.pickFolder) {
      throw new ApiCallError(
        'invalid',
        'serve mode has no folder dialog: type the full path of the backup folder on the machine Midwife runs on',
      )
    }
    return { path: await this.opts.pickFolder('Back up Midwife into a new or empty folder') }
  }

  listGenericInstalls(): GenericInstall[] {
    return this.genericInstalls.list()
  }

  forgetGenericInstall(bootMac: string): GenericInstall[] {
    return this.genericInstalls.forget(bootMac)
  }

  listHosts(): Host[] {
    return this.hosts.list()
  }

  listHostsPage(o: { afterId: number; limit: number }): HostPage {
    return this.hosts.page(o.afterId, o.limit)
  }

  getHost(id: number): Host {
    return this.hosts.get(id)
  }

  saveHost(input: HostInput): Host {
    return this.hosts.save(input)
  }

  deleteHost(id: number): null {
    return this.hosts.delete(id)
  }

  getBootMaterial(hostId: number, o?: BootMaterialOptions): BootMaterial {
    return this.boot.material(hostId, o)
  }

  /** A download for serve mode; the same files the boot-material screen shows. */
  download(r: DownloadRequest): Download {
    if (r.what === 'dhcp') {
      const file = this.boot.dhcpFile(r.flavour)
      if (file.text === null) throw new ApiCallError('conflict', file.problem ?? 'not available')
      return { fileName: file.fileName, contentType: 'text/plain; charset=utf-8', body: file.text }
    }
    const bundle = this.boot.tftpBundle(r.request)
    return { fileName: bundle.fileName, contentType: 'application/gzip', body: bundle.stream }
  }

  /** Writes the bundle beside the data (owner only: per-MAC files carry tokens); never overwrites. */
  async exportTftpBundle(request: TftpBundleRequest): Promise<ExportedFile> {
    const bundle = this.boot.tftpBundle(request)
    const dir = this.opts.exportDir ?? join(this.opts.dataDir, 'exports')
    const unusable = ownerOnlyFolder(dir)
    if (unusable !== null) {
      bundle.stream.destroy()
      throw new ApiCallError(
        'failed',
        `the TFTP bundle could not be written: cannot use ${dir} as the export folder: ${unusable.reason}`,
      )
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    const path = join(dir, bundle.fileName.replace(/\.tar\.gz$/, `-${stamp}.tar.gz`))
    try {
      await pipeline(bundle.stream, createWriteStream(path, { mode: 0o600, flags: 'wx' }))
    } catch (err) {
      rmSync(path, { force: true })
      throw new ApiCallError(
        'failed',
        `the TFTP bundle could not be written: ${(err as Error).message}`,
      )
    }
    this.store.events.append('boot.bundle_exported', null, { path, request })
    return { path, bytes: statSync(path).size }
  }

  listCheckins(hostId: number): Checkin[] {
    return this.hosts.checkins(hostId)
  }

  planHost(hostId: number): Promise<Plan> {
    return this.runs.plan(hostId)
  }

  approveHost(hostId: number, planId: string): Run {
    return this.runs.approve(hostId, planId)
  }

  trustReported(hostId: number): Host {
    return this.hosts.trustReported(hostId)
  }

  assignDiscovered(discoveredId: number, hostId: number, o: { confirmMacMismatch: boolean }): Host {
    return this.hosts.assignDiscovered(discoveredId, hostId, o.confirmMacMismatch)
  }

  reinstallHost(hostId: number): Host {
    return this.hosts.reinstall(hostId)
  }

  retrySecureBootPath(hostId: number): Host {
    return this.secureBoot.retry(hostId)
  }

  retireHost(hostId: number): Host {
    return this.hosts.retire(hostId)
  }

  listRuns(o: { hostId?: number; batchId?: string; beforeId?: number; limit: number }): RunPage {
    return this.runs.list(o)
  }

  planHosts(hostIds: number[]): Promise<PlanSummaries> {
    return this.runs.planMany(hostIds)
  }

  approveHosts(items: Array<{ hostId: number; planId: string }>): Promise<BulkApproval> {
    return this.runs.approveMany(items)
  }

  latestRuns(): RunHeader[] {
    return this.runs.latest()
  }

  /** Servers waiting for the operator: the desktop app's badge count. */
  needsOperator(): number {
    return this.notify.needsOperator()
  }

  getRunOutput(id: number, afterSeq: number, limit: number): OutputChunk[] {
    return this.runs.output(id, afterSeq, limit)
  }

  cancelRun(id: number): RunHeader {
    return this.runs.cancel(id)
  }

  resumeRun(id: number): RunHeader {
    return this.runs.resume(id)
  }

  cancelRuns(ids: number[]): BulkRuns {
    return this.runs.cancelMany(ids)
  }

  resumeRuns(ids: number[]): BulkRuns {
    return this.runs.resumeMany(ids)
  }

  eventSeq(): number {
    return this.events.current
  }

  eventsSince(seq: number) {
    return this.events.since(seq)
  }

  getRun(id: number): Run {
    return this.runs.get(id)
  }
}

/**
 * The data folder holds the database and the key that opens its secrets:
 * created owner only, and said plainly when it cannot be (a file in the way,
 * no permission) rather than with the system call's code.
 */
function prepareDataDir(dir: string): void {
  const why = ownerOnlyFolder(dir)
  if (why !== null) {
    throw new Error(
      `cannot use ${dir} as the data folder: ${why.reason}; choose another data folder`,
      {
        cause: why.error,
      },
    )
  }
}

/** Creates `dir` (mode 0700) if missing; null when it is usable, or why not in words. */
function ownerOnlyFolder(dir: string): { reason: string; error: unknown } | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    chmodSync(dir, 0o700)
    return null
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    const reason =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'a file is in the way (it, or a folder above it, is not a folder)'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'permission denied'
          : message
    return { reason, error }
  }
}

/**
 * What to tell the operator when secret.key was missing at start (lost, or the
 * database copied without it) and a new one was made: the secrets sealed with
 * the old key cannot be opened. Null when there are none (a first start).
 */
function lostKeyWarning(store: Store, dataDir: string): string | null {
  // A key made just now opens nothing sealed before it; keychain blobs are not its to judge.
  let unreadable = 0
  for (const sealed of store.sealedSecrets()) if (sealedWithKeyFile(sealed)) unreadable++
  if (unreadable === 0) return null
  const n = unreadable === 1 ? '1 stored secret was' : `${unreadable} stored secrets were`
  return (
    `secret.key was missing from ${dataDir}, so Midwife made a new one, but ${n} sealed with ` +
    'the old key (root passwords, deployment tokens, site secrets, licence keys) and cannot be ' +
    'opened. Stop Midwife, put the old secret.key back in its place and start Midwife again. ' +
    'Otherwise, under Site, make a new enrollment key and enter the discovery root password ' +
    'again; under Profile, enter the licence key again if it has one; and for each host, enter ' +
    'its root password again (Hosts, Edit), its own licence key if it has one, and, if it is ' +
    'still to be installed, use Reinstall for a new deployment token'
  )
}

import { mkdirSync, readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { encrypt as cryptPassword } from 'unixcrypt'
import { ApiCallError, type ApiHandlers } from '../contract/api'
import {
  HostInput,
  type BootMaterial,
  type Checkin,
  type Host,
  type Run,
  type Settings,
  type Status,
} from '../contract/schemas'
import { bootMaterial, personalClient, renderKickstart, type BootTemplates } from './boot/material'
import { executeRun, plannedSteps, targetOf, type Connect } from './configure/run'
import { EsxSession } from './configure/ssh'
import { EventBus } from './events'
import { JobQueue } from './jobs/queue'
import { CheckinRejected, interpretCheckin } from './listener/checkin'
import {
  startListener,
  type ListenerHandlers,
  type ListenerLimits,
  type RunningListener,
} from './listener/server'
import { consoleLogger, type Logger } from './log'
import { LocalKeySecretBox, newToken, tokenHash, type SecretBox } from './secrets'
import { Store } from './store'

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
  /** A better-sqlite3 binary for this runtime's ABI, when node_modules holds Node's. */
  sqliteBinding?: string
}

function loadTemplates(dir: string): BootTemplates {
  const read = (p: string) => readFileSync(join(dir, p), 'utf8')
  return {
    kickstart: read('templates/ks.cfg'),
    ipxe: read('templates/ipxe.txt'),
    pxelinux: read('templates/pxelinux.txt'),
    client: read('client/checkin.sh'),
  }
}

/** The first address of this machine other hosts could reach, for a wildcard-bound listener. */
function outwardIpv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

/**
 * The core, wired: store, listener, boot material, configuration runs. The
 * one object both transports call; it knows nothing of Electron or HTTP.
 */
export class App implements ApiHandlers {
  readonly events = new EventBus()
  private listener: RunningListener | null = null
  private listenerError: string | null = null
  private readonly queue: JobQueue

  private constructor(
    readonly store: Store,
    private readonly opts: AppOptions,
    private readonly secrets: SecretBox,
    private readonly templates: BootTemplates,
    private readonly logger: Logger,
  ) {
    this.queue = new JobQueue(opts.concurrency ?? 4, (err) =>
      logger.error(`job crashed: ${(err as Error).message}`),
    )
  }

  static async start(opts: AppOptions): Promise<App> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
    const store = Store.open(join(opts.dataDir, 'midwife.db'), {
      nativeBinding: opts.sqliteBinding,
    })
    const secrets =
      opts.secrets?.(opts.dataDir) ?? new LocalKeySecretBox(join(opts.dataDir, 'secret.key'))
    const logger = opts.logger ?? consoleLogger()
    const app = new App(store, opts, secrets, loadTemplates(opts.resourcesDir), logger)
    const interrupted = store.runs.failInterrupted(
      'interrupted: Midwife stopped while this run was in progress',
    )
    for (const id of interrupted) store.events.append('run.interrupted', `run:${id}`)
    await app.openListener()
    return app
  }

  async stop(): Promise<void> {
    await this.listener?.close()
    this.listener = null
    await this.queue.idle()
    this.store.close()
  }

  /** Resolves when every queued configuration run has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue.idle()
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
    this.events.emit('status', this.getStatus())
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

  private hostForToken(token: string): { host: Host; token: string } | null {
    const host = this.store.hosts.findByTokenHash(tokenHash(token))
    return host ? { host, token } : null
  }

  private listenerHandlers(): ListenerHandlers {
    return {
      kickstart: (token) => {
        const found = this.hostForToken(token)
        return found
          ? renderKickstart(this.templates, this.bootContext(found.host, found.token))
          : null
      },
      personalClient: (token) =>
        this.hostForToken(token)
          ? personalClient(this.templates.client, this.listenerUrl(), token)
          : null,
      client: () => this.templates.client,
      checkin: (token, body, sourceIp) => this.acceptCheckin(token, body, sourceIp),
    }
  }

  /** Validates, matches and commits a check-in. Returns only after SQLite has it. */
  private acceptCheckin(
    token: string,
    body: unknown,
    sourceIp: string,
  ): { id: number; host: string } {
    const found = this.hostForToken(token)
    if (!found) throw new CheckinRejected(401, 'unknown deployment token')
    const { payload, report } = interpretCheckin(body)
    const { token: _omit, ...withoutToken } = payload
    const host = found.host
    const macMatches = report.nics.some((n) => n.mac === host.mac)
    const sourceIpv4 = sourceIp.replace(/^::ffff:/, '')
    const checkin = this.store.transaction(() => {
      const c = this.store.checkins.insert({
        sourceIp: sourceIpv4,
        hostId: host.id,
        macMatches,
        payload: withoutToken,
        report,
      })
      this.store.events.append('checkin.accepted', `checkin:${c.id}`, {
        host: `${host.hostname}.${host.domain}`,
        sourceIp: sourceIpv4,
        macMatches,
      })
      return c
    })
    this.events.emit('checkin', checkin)
    return { id: checkin.id, host: `${host.hostname}.${host.domain}` }
  }

  private bootContext(host: Host, token: string) {
    const sealed = this.store.hosts.secrets(host.id)?.rootPassword
    if (!sealed) throw new ApiCallError('invalid', `host ${host.hostname} has no root password`)
    return {
      host,
      token,
      listenerUrl: this.listenerUrl(),
      rootPasswordHash: cryptPassword(this.secrets.open(sealed)),
      mediaBaseUrl: this.store.settings.get().mediaBaseUrl,
    }
  }

  // ---- the API --------------------------------------------------------------

  getStatus(): Status {
    return {
      version: this.opts.version,
      secretStorage: this.secrets.kind,
      listener: {
        listening: this.listener !== null,
        address: this.listener
          ? `${this.listener.address.address}:${this.listener.address.port}`
          : null,
        advertisedUrl: this.listenerUrl(),
        error: this.listenerError,
        fixedByCommandLine: this.opts.listen !== undefined,
      },
    }
  }

  getSettings(): Settings {
    return this.store.settings.get()
  }

  async saveSettings(settings: Settings): Promise<Settings> {
    const before = this.store.settings.get()
    const moved =
      before.listenerHost !== settings.listenerHost || before.listenerPort !== settings.listenerPort
    if (moved && !this.opts.listen)
      await this.moveListener(settings.listenerHost, settings.listenerPort)
    const saved = this.store.settings.save(settings)
    this.store.events.append('settings.saved', null, saved)
    this.events.emit('status', this.getStatus())
    return saved
  }

  listHosts(): Host[] {
    return this.store.hosts.list()
  }

  saveHost(input: HostInput): Host {
    const { id, rootPassword, ...fields } = HostInput.parse(input)
    const conflict = this.store.hosts.findConflict(fields, id)
    if (conflict) throw new ApiCallError('conflict', conflict)
    const sealedPassword = rootPassword === undefined ? null : this.secrets.seal(rootPassword)
    let host: Host | undefined
    if (id === undefined) {
      if (!sealedPassword)
        throw new ApiCallError('invalid', 'rootPassword: the root password is required')
      const token = newToken()
      host = this.store.hosts.insert(
        fields,
        { rootPassword: sealedPassword, token: this.secrets.seal(token) },
        tokenHash(token),
      )
    } else {
      host = this.store.hosts.update(id, fields, sealedPassword)
      if (!host) throw new ApiCallError('not_found', `host ${id} does not exist`)
    }
    this.store.events.append(
      id === undefined ? 'host.created' : 'host.updated',
      `host:${host.id}`,
      {
        fqdn: `${host.hostname}.${host.domain}`,
        mac: host.mac,
        passwordChanged: sealedPassword !== null,
      },
    )
    this.events.emit('hosts', this.listHosts())
    return host
  }

  deleteHost(id: number): null {
    const host = this.store.hosts.get(id)
    if (!host || !this.store.hosts.delete(id))
      throw new ApiCallError('not_found', `host ${id} does not exist`)
    this.store.events.append('host.deleted', `host:${id}`, {
      fqdn: `${host.hostname}.${host.domain}`,
    })
    this.events.emit('hosts', this.listHosts())
    return null
  }

  getBootMaterial(hostId: number): BootMaterial {
    const host = this.store.hosts.get(hostId)
    const sealed = host && this.store.hosts.secrets(hostId)
    if (!host || !sealed) throw new ApiCallError('not_found', `host ${hostId} does not exist`)
    return bootMaterial(this.templates, this.bootContext(host, this.secrets.open(sealed.token)))
  }

  listCheckins(): Checkin[] {
    return this.store.checkins.list()
  }

  approveCheckin(checkinId: number): Run {
    const checkin = this.store.checkins.get(checkinId)
    if (!checkin) throw new ApiCallError('not_found', `check-in ${checkinId} does not exist`)
    const host = checkin.hostId === null ? undefined : this.store.hosts.get(checkin.hostId)
    if (!host) {
      throw new ApiCallError(
        'invalid',
        'this check-in matches no host definition; nothing to configure',
      )
    }
    const active = this.store.runs.active(checkinId)
    if (active !== undefined) {
      throw new ApiCallError('conflict', `run ${active} for this check-in is still in progress`)
    }
    const run = this.store.transaction(() => {
      const r = this.store.runs.create({
        checkinId,
        hostId: host.id,
        hostName: `${host.hostname}.${host.domain}`,
        target: targetOf(checkin),
        steps: plannedSteps(host),
      })
      this.store.events.append('run.approved', `run:${r.id}`, {
        checkin: checkinId,
        target: r.target,
      })
      return r
    })
    this.events.emit('run', run)
    this.queue.push(async () => {
      await executeRun(
        {
          store: this.store,
          events: this.events,
          secrets: this.secrets,
          logger: this.logger,
          connect: this.opts.connect ?? ((o) => EsxSession.connect(o)),
          connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
          commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
        },
        run.id,
      )
      this.events.emit('checkin', this.store.checkins.get(checkinId) as Checkin)
    })
    return run
  }

  listRuns(): Run[] {
    return this.store.runs.list()
  }

  getRun(id: number): Run {
    const run = this.store.runs.get(id)
    if (!run) throw new ApiCallError('not_found', `run ${id} does not exist`)
    return run
  }
}

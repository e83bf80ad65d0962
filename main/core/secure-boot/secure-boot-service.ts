// The Secure Boot path. With UEFI Secure Boot on, ESXi skips %firstboot, so
// the check-in client never runs and SSH stays off. Once %post reports
// `installed`, Midwife does what %firstboot would have (after Cisco's ESXi
// auto-installer): it polls the installed host's https://<ip>/sdk until its
// vSphere API answers, logs in to it as root, turns TSM-SSH on and starts it, then
// connects over SSH (host key trusted on first use, recorded), reads the
// identity itself and stores that as a check-in of kind secure_boot, judged
// like any first check-in. The host then waits for Approve as usual.
//
// A job per host, in the main process; the listener only starts it. A
// failure leaves the host `installed` with the step and reason written on it
// and audited; the operator retries (after fixing the password, or once the
// host is up). Nothing retries a refused login by itself: ESXi locks root out
// after repeated failures.
import { hostSaid } from '../../catalogue/shell'
import { ApiCallError } from '../../contract/api'
import type { Host, SecureBootPath, SecureBootStep } from '../../contract/schemas'
import type { CheckinService } from '../checkins/checkin-service'
import {
  ConnectError,
  EsxSession,
  OutputTooLarge,
  type ConnectOptions,
  type EsxShell,
} from '../configure/ssh'
import { hostName, toHost } from '../hosts/host-view'
import { CheckinRejected, reportFromOutputs } from '../listener/checkin'
import { escapeControl, Redactor, type Logger } from '../log'
import type { Notifier } from '../notify'
import { openNamed, OTHERWISE, type SecretBox } from '../secrets'
import type { HostRecord, Store } from '../store'
import { enableSshOverVsphere, VsphereError } from '../vsphere/client'
import { notYetWords, waitForHttps, WaitTimeoutError } from '../vsphere/wait'

export interface SecureBootSession extends EsxShell {
  close(): void
  presentedKey: { type: string; fingerprint: string; line: string } | null
}

export interface SecureBootOptions {
  /** The port the host's API answers on: 443 (tests point it at a fake). */
  httpsPort?: number
  /** How long the installed host may take to reboot and answer on /sdk. */
  httpsDeadlineMs?: number
  /** Pause between attempts, on 443 and on SSH. */
  pollIntervalMs?: number
  /** Each vSphere call's own limit. */
  vsphereTimeoutMs?: number
  /** How long SSH may take to answer once StartService returned. */
  sshDeadlineMs?: number
  connectTimeoutMs?: number
  commandTimeoutMs?: number
  connect?: (o: ConnectOptions) => Promise<SecureBootSession>
}

const DEFAULTS = {
  httpsPort: 443,
  // Big servers spend minutes in POST before ESXi even starts booting.
  httpsDeadlineMs: 30 * 60_000,
  pollIntervalMs: 10_000,
  vsphereTimeoutMs: 20_000,
  sshDeadlineMs: 2 * 60_000,
  connectTimeoutMs: 20_000,
  commandTimeoutMs: 60_000,
}

const STEP_WORDS: Record<SecureBootStep, string> = {
  wait_https: 'waiting for its vSphere API to answer',
  vsphere: 'turning SSH on over its vSphere API',
  ssh: 'connecting over SSH',
  identity: 'reading its identity over SSH',
}

/** What the path reads over SSH: the outputs checkin.sh would have posted. */
const IDENTITY_COMMANDS = {
  nicList: 'esxcli network nic list',
  platform: 'esxcli hardware platform get',
  version: 'esxcli system version get',
  ipv4: 'esxcli network ip interface ipv4 get',
  hostname: 'esxcli system hostname get',
} as const

/** Why a path Midwife stopped in the middle of is not started again at the next launch. */
const NO_LONGER_EXPECTED =
  'Midwife stopped during the Secure Boot path, and this host no longer expects Secure Boot, so it was not started again; if the host does use Secure Boot, set that on the host and Retry'

/** A step failed in a way the operator acts on; the message says how. */
class StepFailed extends Error {
  constructor(
    readonly step: SecureBootStep,
    message: string,
  ) {
    super(message)
  }
}

class Stopped extends Error {}

export type SecureBootTrigger = 'installed' | 'retry' | 'resumed'

export class SecureBootService {
  private readonly opts: typeof DEFAULTS & Pick<SecureBootOptions, 'connect'>
  private readonly jobs = new Map<number, { abort: AbortController; done: Promise<void> }>()

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly checkins: CheckinService,
    private readonly notify: Notifier,
    private readonly logger: Logger,
    opts: SecureBootOptions = {},
  ) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined))
    this.opts = { ...DEFAULTS, ...given }
  }

  /**
   * Whether an installed host takes the Secure Boot path: its installer saw
   * Secure Boot on, or could not tell and the host (or else the site) expects it.
   */
  applies(h: HostRecord): boolean {
    const sb = h.install?.secureBoot
    if (h.install?.state !== 'installed' || !h.definition) return false
    if (sb === 'on') return true
    if (sb === 'off') return false
    return h.definition.secureBoot ?? this.store.settings.get().boot.secureBootExpected
  }

  /** %post reported `installed` (the listener calls this): start unless it runs or ran. */
  onInstalled(hostId: number): void {
    const h = this.store.hosts.get(hostId)
    if (!h || h.state !== 'installed' || !this.applies(h) || this.jobs.has(hostId)) return
    // A repeated %post report for an install whose path already began changes nothing.
    if (h.secureBootPath !== null) return
    this.start(h, 'installed')
  }

  /** The operator's Retry, after a failure (or a path that never started). */
  retry(hostId: number): Host {
    const h = this.store.hosts.get(hostId)
    if (!h) throw new ApiCallError('not_found', `host ${hostId} does not exist`)
    const name = hostName(h)
    if (h.state !== 'installed') {
      throw new ApiCallError(
        'conflict',
        `${name} is ${h.state.replace('_', ' ')}; the Secure Boot path runs only for an installed host`,
      )
    }
    if (!this.applies(h)) {
      throw new ApiCallError(
        'conflict',
        `${name} does not take the Secure Boot path: its installer reported Secure Boot ${h.install?.secureBoot ?? 'nothing'} and neither the host nor the site expects it`,
      )
    }
    if (this.jobs.has(hostId)) {
      throw new ApiCallError('conflict', `the Secure Boot path is already running for ${name}`)
    }
    this.start(h, 'retry')
    return toHost(this.store, this.store.hosts.get(hostId) as HostRecord)
  }

  /**
   * At launch: a path that was running when Midwife stopped starts again.
   * Only installed hosts are read: reading all 10,000 of a hall at every
   * launch cost 70 MiB of memory the process kept.
   */
  resume(): void {
    for (const h of this.store.hosts.listIn(['installed'])) {
      const path = h.secureBootPath
      if (path?.status !== 'running') continue
      if (this.applies(h)) this.start(h, 'resumed')
      // Not left running with nothing behind it: the host's card would wait for ever.
      else this.fail(h.id, hostName(h), path, new StepFailed(path.step, NO_LONGER_EXPECTED))
    }
  }

  /** Resolves once no path is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs.values()].map((j) => j.done))
  }

  /** Stops every path (they stay `running` on disk, so the next launch resumes them). */
  async stop(): Promise<void> {
    for (const j of this.jobs.values()) j.abort.abort()
    await this.idle()
  }

  running(hostId: number): boolean {
    return this.jobs.has(hostId)
  }

  private start(h: HostRecord, trigger: SecureBootTrigger): void {
    const install = h.install
    if (!install) return
    const address = install.address ?? install.sourceIp
    const previous = h.secureBootPath
    const path: SecureBootPath = {
      status: 'running',
      step: 'wait_https',
      message: `waiting for its API at https://${address}:${this.opts.httpsPort}/sdk to answer`,
      at: new Date().toISOString(),
      address,
      // A retry for the same install keeps the certificate pinned before.
      certificate: previous?.address === address ? previous.certificate : null,
      attempts: (previous?.attempts ?? 0) + 1,
    }
    const noted = this.store.noteHost(
      h.id,
      'installed',
      `installed with Secure Boot on (%firstboot does not run): Midwife is ${STEP_WORDS.wait_https} at ${address}`,
      'host.secure_boot_started',
      { trigger, attempt: path.attempts, address },
      () => this.store.hosts.setSecureBootPath(h.id, path),
    )
    if (!noted) return
    this.notify.host(h.id)
    this.logger.info(
      `Secure Boot path for ${escapeControl(hostName(h))} started (${trigger}, attempt ${path.attempts}): waiting for ${escapeControl(address)}:${this.opts.httpsPort}`,
    )
    const abort = new AbortController()
    const done = this.run(h.id, install.at, path, abort.signal)
      .catch((err: unknown) => {
        this.logger.error(`Secure Boot path for host ${h.id} crashed: ${(err as Error).message}`)
      })
      .finally(() => this.jobs.delete(h.id))
    this.jobs.set(h.id, { abort, done })
  }

  /** The host as the job left it, unless it moved on (reinstalled, retired): then stop. */
  private current(hostId: number, installAt: string, signal: AbortSignal): HostRecord {
    if (signal.aborted) throw new Stopped()
    const h = this.store.hosts.get(hostId)
    if (!h || h.state !== 'installed' || h.install?.at !== installAt) throw new Stopped()
    return h
  }

  /** Records progress on the host (no state change). */
  private progress(hostId: number, path: SecureBootPath, reason: string, event?: string): void {
    const at = new Date().toISOString()
    Object.assign(path, { at })
    this.store.noteHost(
      hostId,
      'installed',
      reason,
      event ?? 'host.secure_boot_step',
      {
        step: path.step,
        message: path.message,
        ...(path.certificate ? { certificate: path.certificate.sha256 } : {}),
      },
      () => this.store.hosts.setSecureBootPath(hostId, { ...path }),
    )
    this.notify.host(hostId)
  }

  private async run(
    hostId: number,
    installAt: string,
    path: SecureBootPath,
    signal: AbortSignal,
  ): Promise<void> {
    const o = this.opts
    const address = path.address
    let name = `host ${hostId}`
    // The host's own words reach the card, the audit log and the log: a host that prints the
    // root password back (it was just sent to it) must not put it there.
    const redact = new Redactor()
    try {
      const h = this.current(hostId, installAt, signal)
      name = hostName(h)
      const def = h.definition
      if (!def) throw new Stopped()

      // 1. The installed host reboots; /sdk answers SOAP once the proxy and hostd behind it
      // are up. The step message says what it answers meanwhile, when that changes.
      let api
      try {
        api = await waitForHttps({
          address,
          port: o.httpsPort,
          // A retry for the same install is held to the certificate pinned before.
          expectedSha256: path.certificate?.sha256,
          timeoutMs: o.vsphereTimeoutMs,
          deadlineMs: o.httpsDeadlineMs,
          intervalMs: o.pollIntervalMs,
          signal,
          onAttempt: (_attempt, err) => {
            const where = `https://${address}:${o.httpsPort}/sdk`
            const message = `its API at ${where} ${notYetWords(err)}; waiting for ${err.code === 'not-soap' ? 'hostd' : 'the installed host to come up'}`
            if (message === path.message) return
            this.current(hostId, installAt, signal)
            path.message = message
            this.progress(
              hostId,
              path,
              `installed with Secure Boot on (%firstboot does not run): ${message}`,
            )
          },
        })
      } catch (err) {
        if (signal.aborted || err instanceof Stopped) throw new Stopped()
        if (err instanceof WaitTimeoutError) {
          throw new StepFailed(
            'wait_https',
            `${err.message} Retry once the host shows its console screen with this address.`,
          )
        }
        // The host answered, but not as hoped: a certificate other than the one pinned, a fault.
        if (err instanceof VsphereError) throw new StepFailed('vsphere', vsphereAdvice(err))
        throw err
      }
      const seen = api.fingerprint
      this.current(hostId, installAt, signal)
      if (path.certificate === null) {
        path.certificate = {
          sha256: seen,
          pinnedAt: new Date().toISOString(),
          how: 'first_contact',
        }
        path.step = 'vsphere'
        path.message = `its API answers SOAP; certificate ${seen} pinned on first contact (self-signed)`
        this.progress(
          hostId,
          path,
          `installed with Secure Boot on: its API answers at ${address}; Midwife is ${STEP_WORDS.vsphere}`,
          'host.secure_boot_certificate',
        )
      } else {
        path.step = 'vsphere'
        path.message = `its API answers SOAP, with the certificate pinned before, ${path.certificate.sha256}`
        this.progress(
          hostId,
          path,
          `installed with Secure Boot on: its API answers at ${address}; Midwife is ${STEP_WORDS.vsphere}`,
        )
      }

      // 2. vSphere: Login, UpdateServicePolicy(TSM-SSH, on), StartService, on the client that
      // read the service content, so every call is held to the certificate it pinned.
      const sealed = this.store.hosts.secrets(hostId)?.rootPassword
      if (!sealed) {
        throw new StepFailed(
          'vsphere',
          `${name} has no root password stored: set it (the one its kickstart installed), then Retry`,
        )
      }
      const password = openNamed(
        this.secrets,
        sealed,
        `the root password of ${name}`,
        OTHERWISE.rootPassword,
      )
      redact.add(password)
      let enabled
      try {
        enabled = await enableSshOverVsphere(api.client, { userName: 'root', password })
      } catch (err) {
        if (signal.aborted) throw new Stopped()
        if (err instanceof VsphereError) throw new StepFailed('vsphere', vsphereAdvice(err))
        throw err
      }
      this.current(hostId, installAt, signal)
      path.step = 'ssh'
      path.message = `SSH turned on over the vSphere API of ${enabled.about.fullName} (${enabled.calls.join(', ')})`
      this.progress(
        hostId,
        path,
        `installed with Secure Boot on: SSH is on; Midwife is ${STEP_WORDS.ssh} at ${address}`,
        'host.secure_boot_ssh_enabled',
      )

      // 3. SSH: it may take a moment to listen after StartService returns.
      const trusted = h.identity?.sshHostKeys.map((k) => k.fingerprint) ?? []
      const session = await this.connectSsh(
        {
          host: address,
          port: def.sshPort,
          username: def.sshUser,
          password,
          trustedFingerprints: trusted,
          trustOnFirstUse: trusted.length === 0,
          connectTimeoutMs: o.connectTimeoutMs,
          commandTimeoutMs: o.commandTimeoutMs,
        },
        signal,
      )

      // 4. The identity, read as checkin.sh would have posted it.
      try {
        this.current(hostId, installAt, signal)
        const key = session.presentedKey
        if (!key) throw new StepFailed('ssh', `the SSH server at ${address} presented no host key`)
        const outputs: Record<string, string> = {}
        for (const [field, command] of Object.entries(IDENTITY_COMMANDS)) {
          const r = await session.exec(command).catch((err: unknown) => {
            // Said with the command, as a step's failure is: not as an unexpected error.
            if (err instanceof OutputTooLarge) {
              throw new StepFailed('identity', `\`${command}\`: ${err.message}`)
            }
            throw err
          })
          if (r.code !== 0 && field !== 'hostname') {
            throw new StepFailed(
              'identity',
              // Masked before the cut, which could leave the start of a secret unrecognised.
              `\`${command}\` failed on ${address} (exit ${r.code ?? 'none'}): ${redact.apply(hostSaid(r)).slice(0, 300) || 'no output'}`,
            )
          }
          // Masked as read, before anything is parsed from it, stored or JSON-escaped.
          outputs[field] = r.code === 0 ? redact.apply(r.stdout) : ''
        }
        let report
        try {
          report = reportFromOutputs(
            {
              nicList: outputs.nicList ?? '',
              platform: outputs.platform ?? '',
              version: outputs.version ?? '',
              ipv4: outputs.ipv4 ?? '',
              hostname: outputs.hostname || undefined,
            },
            [key.line],
          )
        } catch (err) {
          if (err instanceof CheckinRejected) {
            throw new StepFailed(
              'identity',
              `what ${address} printed does not identify it: ${err.message}`,
            )
          }
          throw err
        }
        const payload = JSON.stringify({
          client: 'midwife-secure-boot/1',
          via: 'secure_boot',
          address,
          certificate: path.certificate.sha256,
          sshHostKey: key,
          outputs,
        })
        const install = h.install
        if (!install) throw new Stopped()
        const recorded = this.checkins.recordSecureBoot(
          hostId,
          install,
          report,
          address,
          payload,
          `checked in through the Secure Boot path: SSH turned on over its vSphere API, host key ${key.fingerprint} trusted on first use`,
        )
        if (!recorded) throw new Stopped()
        this.store.transaction(() => {
          this.store.hosts.setSecureBootPath(hostId, {
            ...path,
            status: 'done',
            step: 'identity',
            message:
              recorded.state === 'checked_in'
                ? `checked in over SSH (check-in #${recorded.checkin.id}): host key ${key.fingerprint} trusted on first use`
                : `read over SSH (check-in #${recorded.checkin.id}), but it does not match what Midwife trusts: see its card`,
            at: new Date().toISOString(),
          })
        })
        this.notify.host(hostId)
        this.logger.info(
          `Secure Boot path for ${escapeControl(name)}: check-in #${recorded.checkin.id} read over SSH; ${recorded.state.replace('_', ' ')}`,
        )
      } finally {
        session.close()
      }
    } catch (err) {
      if (err instanceof Stopped) return
      const failed =
        err instanceof StepFailed
          ? err
          : new StepFailed(path.step, `unexpected error: ${(err as Error).message}`)
      this.fail(hostId, name, path, new StepFailed(failed.step, redact.apply(failed.message)))
    }
  }

  private async connectSsh(o: ConnectOptions, signal: AbortSignal): Promise<SecureBootSession> {
    const connect = this.opts.connect ?? ((c: ConnectOptions) => EsxSession.connect(c))
    const deadline = Date.now() + this.opts.sshDeadlineMs
    const where = `${o.host}:${o.port}`
    for (;;) {
      if (signal.aborted) throw new Stopped()
      try {
        return await connect(o)
      } catch (err) {
        const msg = (err as Error).message
        // Not listening yet is worth waiting for; a refused login or a foreign key is not.
        const transient =
          err instanceof ConnectError && /connection refused|no SSH answer|no route/.test(msg)
        if (!transient) {
          throw new StepFailed(
            'ssh',
            /refused: wrong password/.test(msg)
              ? `${msg}; the vSphere API took the same password, so check the host's SSH user (${o.username}), then Retry`
              : `${msg}; Retry once it is fixed`,
          )
        }
        if (Date.now() >= deadline) {
          throw new StepFailed(
            'ssh',
            `SSH did not answer at ${where} within ${Math.round(this.opts.sshDeadlineMs / 1000)} s after the vSphere API started it (last: ${msg}); check the host's SSH port (${o.port}) and firewall, then Retry`,
          )
        }
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(this.opts.pollIntervalMs, Math.max(0, deadline - Date.now()))),
      )
    }
  }

  private fail(hostId: number, name: string, path: SecureBootPath, err: StepFailed): void {
    const failed: SecureBootPath = {
      ...path,
      status: 'failed',
      step: err.step,
      message: err.message,
      at: new Date().toISOString(),
    }
    const noted = this.store.noteHost(
      hostId,
      'installed',
      `installed, but the Secure Boot path stopped while ${STEP_WORDS[err.step]}: ${err.message}`,
      'host.secure_boot_failed',
      { step: err.step, message: err.message, attempt: path.attempts },
      () => this.store.hosts.setSecureBootPath(hostId, failed),
    )
    if (!noted) return
    this.notify.host(hostId)
    this.logger.warn(
      `Secure Boot path for ${escapeControl(name)} stopped while ${STEP_WORDS[err.step]}: ${escapeControl(err.message)}`,
    )
  }
}

/** A vSphere failure in words, with what to do about it. */
function vsphereAdvice(err: VsphereError): string {
  switch (err.code) {
    case 'invalid-login':
      return `${err.message}. Set the host's root password to the one its kickstart installed, then Retry; Midwife does not retry a refused login by itself (ESXi locks root out after repeated failures)`
    case 'certificate-mismatch':
      return err.message
    case 'connection-refused':
    case 'connection-failed':
    case 'timeout':
    case 'not-soap':
      return `${err.message}; Retry once the host is up`
    default:
      return `${err.message}; Retry, and if it fails again look at the host's console`
  }
}

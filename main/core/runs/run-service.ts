import { ApiCallError } from '../../contract/api'
import type { Plan, Run } from '../../contract/schemas'
import { executeRun, plannedSteps, type Connect } from '../configure/run'
import { EsxSession } from '../configure/ssh'
import { approveGate, hostName } from '../hosts/host-view'
import { JobQueue } from '../jobs/queue'
import type { Logger } from '../log'
import type { Notifier } from '../notify'
import type { SecretBox } from '../secrets'
import type { Store } from '../store'
import { openSpec, publicSpec } from '../hosts/spec'
import { makePlan, type MadePlan } from './planner'
import type { RunSnapshot } from './snapshot'

/** How long a plan may wait for approval before the host must be read again. */
export const PLAN_LIFETIME_MS = 15 * 60_000

export interface RunOptions {
  /** How long a host waits for Midwife at its new management address before rolling back. */
  moveDeadlineMs?: number
  connect?: Connect
  connectTimeoutMs?: number
  commandTimeoutMs?: number
  concurrency?: number
}

/** Approval and configuration runs: a run belongs to a host and executes what was approved. */
export class RunService {
  private readonly queue: JobQueue

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly notify: Notifier,
    private readonly logger: Logger,
    private readonly opts: RunOptions,
  ) {
    this.queue = new JobQueue(opts.concurrency ?? 4, (err) =>
      logger.error(`job crashed: ${(err as Error).message}`),
    )
  }

  private readonly open = (stored: Record<string, unknown>) => openSpec(this.secrets, stored)

  private get connect(): Connect {
    return this.opts.connect ?? ((o) => EsxSession.connect(o))
  }

  /**
   * Runs left in progress by a Midwife that stopped are interrupted, not
   * failed: their hosts say so, with the step they stopped in.
   */
  recoverInterrupted(): void {
    const interrupted = this.store.runs.markInterrupted(
      'Midwife stopped while this run was in progress',
    )
    for (const r of interrupted) {
      this.store.events.append('run.interrupted', `run:${r.runId}`, { step: r.step })
      if (r.hostId === null) continue
      const host = this.store.hosts.get(r.hostId)
      if (host && (host.state === 'approved' || host.state === 'configuring')) {
        this.store.moveHost(
          r.hostId,
          'interrupted',
          r.step
            ? `Midwife stopped during run ${r.runId}, in step "${r.step}"`
            : `Midwife stopped before run ${r.runId} started`,
          { run: r.runId, step: r.step },
        )
      }
    }
  }

  idle(): Promise<void> {
    return this.queue.idle()
  }

  list(): Run[] {
    return this.store.runs.list()
  }

  get(id: number): Run {
    const run = this.store.runs.get(id)
    if (!run) throw new ApiCallError('not_found', `run ${id} does not exist`)
    return run
  }

  /** Plans waiting for approval, by id; a plan older than PLAN_LIFETIME_MS must be made again. */
  private readonly plans = new Map<string, MadePlan & { specStamp: string; at: number }>()

  /** What a host's plan depends on: its spec and the site profile, as stored. */
  private specStamp(hostId: number): string {
    const h = this.store.hosts.get(hostId)
    return JSON.stringify([h?.definition, h?.identity, this.store.settings.profile().spec])
  }

  private gated(hostId: number) {
    const host = this.store.hosts.get(hostId)
    if (!host) throw new ApiCallError('not_found', `host ${hostId} does not exist`)
    const gate = approveGate(host)
    const def = host.definition
    const identity = host.identity
    if (!gate.allowed || !def || !identity?.managementIp) {
      throw new ApiCallError('conflict', `cannot approve ${hostName(host)}: ${gate.reason}`)
    }
    const sealedPassword = this.store.hosts.secrets(hostId)?.rootPassword
    if (!sealedPassword) {
      throw new ApiCallError(
        'conflict',
        `cannot approve ${hostName(host)}: no root password stored`,
      )
    }
    return {
      host,
      def,
      identity: { ...identity, managementIp: identity.managementIp },
      sealedPassword,
    }
  }

  /**
   * Reads the host over SSH, with its bound identity, and works out what a
   * run would change. Nothing is written; the plan waits for approval.
   */
  async plan(hostId: number): Promise<Plan> {
    const { host, sealedPassword } = this.gated(hostId)
    for (const [id, p] of this.plans) {
      if (p.plan.hostId === hostId || Date.now() - p.at > PLAN_LIFETIME_MS) this.plans.delete(id)
    }
    let made: MadePlan
    try {
      made = await makePlan({
        host,
        name: hostName(host),
        profile: this.store.settings.profile().spec,
        open: this.open,
        password: this.secrets.open(sealedPassword),
        connect: this.connect,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
        commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
      })
    } catch (err) {
      throw new ApiCallError('failed', `cannot plan ${hostName(host)}: ${(err as Error).message}`)
    }
    this.plans.set(made.plan.id, { ...made, specStamp: this.specStamp(hostId), at: Date.now() })
    this.store.events.append('host.planned', `host:${hostId}`, {
      plan: made.plan.id,
      writes: made.plan.writes,
    })
    return made.plan
  }

  /**
   * Approves a plan: refused unless the host's state allows it and the plan
   * is still what the host and its spec are. Freezes the spec and the bound
   * identity into the run (the audit entry records them), then queues it.
   */
  approve(hostId: number, planId: string): Run {
    const { host, def, identity, sealedPassword } = this.gated(hostId)
    const made = this.plans.get(planId)
    if (!made || made.plan.hostId !== hostId) {
      throw new ApiCallError('conflict', `no plan ${planId} for ${hostName(host)}: plan it again`)
    }
    if (Date.now() - made.at > PLAN_LIFETIME_MS) {
      this.plans.delete(planId)
      throw new ApiCallError('conflict', `the plan for ${hostName(host)} is too old: plan it again`)
    }
    if (made.specStamp !== this.specStamp(hostId)) {
      throw new ApiCallError(
        'conflict',
        `${hostName(host)}'s settings or identity changed after this plan was made: plan it again`,
      )
    }
    if (made.plan.blocked) {
      throw new ApiCallError('conflict', `cannot approve ${hostName(host)}: ${made.plan.blocked}`)
    }
    const snapshot: RunSnapshot = {
      host: {
        name: hostName(host),
        hostname: def.hostname,
        domain: def.domain,
        sshUser: def.sshUser,
        sshPort: def.sshPort,
      },
      identity: {
        address: identity.managementIp,
        fingerprints: identity.sshHostKeys.map((k) => k.fingerprint),
        checkinId: identity.checkinId,
      },
      settings: made.settings,
      planId,
    }
    const run = this.store.transaction(() => {
      const r = this.store.runs.create({
        checkinId: identity.checkinId,
        hostId,
        hostName: snapshot.host.name,
        target: identity.managementIp,
        snapshot,
        sealedPassword,
        plan: made.plan.items,
        steps: plannedSteps(snapshot),
      })
      this.store.moveHost(hostId, 'approved', `approved by the operator (run ${r.id})`, {
        run: r.id,
        plan: planId,
        snapshot: {
          ...snapshot,
          settings: publicSpec(Object.fromEntries(snapshot.settings.map((x) => [x.key, x.value])))
            .spec,
        },
      })
      return r
    })
    this.plans.delete(planId)
    this.notify.run(run.id)
    this.notify.host(hostId)
    this.queue.push(() => this.execute(run.id, hostId))
    return run
  }

  private async execute(runId: number, hostId: number): Promise<void> {
    await executeRun(
      {
        store: this.store,
        changed: (id) => this.notify.run(id),
        secrets: this.secrets,
        open: this.open,
        logger: this.logger,
        connect: this.connect,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
        commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
        moveDeadlineMs: this.opts.moveDeadlineMs,
        hostMoved: (state, reason) => {
          this.store.moveHost(hostId, state, reason, { run: runId })
          this.notify.host(hostId)
        },
        addressMoved: (address) => {
          this.store.transaction(() => {
            const h = this.store.hosts.get(hostId)
            if (h?.identity) {
              this.store.hosts.setIdentity(hostId, { ...h.identity, managementIp: address })
            }
            this.store.events.append('host.address_moved', `host:${hostId}`, {
              run: runId,
              address,
            })
          })
          this.notify.host(hostId)
        },
        passwordChanged: (password) => {
          this.store.transaction(() => {
            this.store.hosts.setRootPassword(hostId, this.secrets.seal(password))
            this.store.events.append('host.password_rotated', `host:${hostId}`, { run: runId })
          })
        },
      },
      runId,
    )
  }
}

import { ApiCallError } from '../../contract/api'
import { randomBytes } from 'node:crypto'
import type {
  BulkApproval,
  BulkRuns,
  HostPlanSummary,
  OutputChunk,
  Plan,
  PlanSummaries,
  Run,
  RunHeader,
  RunPage,
} from '../../contract/schemas'
import { executeRun, plannedSteps, type Connect } from '../configure/run'
import type { EventBus } from '../events'
import { ConnectError, EsxSession } from '../configure/ssh'
import { lastHeard } from '../clock'
import { approveGate, hostName } from '../hosts/host-view'
import { noteChangedDuringRun } from '../hosts/outdated'
import { JobQueue } from '../jobs/queue'
import { escapeControl, type Logger } from '../log'
import type { Notifier } from '../notify'
import { openNamed, OTHERWISE, type SecretBox } from '../secrets'
import type { Store } from '../store'
import { openSpec, publicSpec } from '../hosts/spec'
import { makePlan, type MadePlan } from './planner'
import { RunEvents } from './run-events'
import type { RunSnapshot } from './snapshot'

/**
 * SSH connections opened at once. A key exchange is the CPU-heaviest moment
 * of a run; 200 runs opening theirs together kept the event loop busy long
 * enough to delay a check-in. Commands, which mostly wait on the host, are
 * not limited: every run still executes at once.
 */
const HANDSHAKES_AT_ONCE = 16

/** Approvals between two turns of the event loop in a bulk approval. */
const APPROVALS_PER_TURN = 8

/** How long a plan may wait for approval before the host must be read again. */
export const PLAN_LIFETIME_MS = 15 * 60_000

export interface RunOptions {
  /** How long a host waits for Midwife at its new management address before rolling back. */
  moveDeadlineMs?: number
  connect?: Connect
  connectTimeoutMs?: number
  commandTimeoutMs?: number
  /** Runs at once; by default the site setting (itself 200 by default). */
  concurrency?: number
  /** SSH connections opened at once; HANDSHAKES_AT_ONCE by default. */
  handshakes?: number
}

/** Approval and configuration runs: a run belongs to a host and executes what was approved. */
export class RunService {
  private readonly queue: JobQueue
  /** SSH connections being opened (key exchange, host key, login): see HANDSHAKES_AT_ONCE. */
  private readonly handshakes: JobQueue
  private readonly events: RunEvents
  /** Each queued or running run's cancel switch. */
  private readonly controllers = new Map<number, AbortController>()

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly notify: Notifier,
    bus: EventBus,
    private readonly logger: Logger,
    private readonly opts: RunOptions,
  ) {
    this.events = new RunEvents(bus)
    this.queue = new JobQueue(opts.concurrency ?? store.settings.get().runConcurrency, (err) =>
      logger.error(`job crashed: ${(err as Error).message}`),
    )
    this.handshakes = new JobQueue(opts.handshakes ?? HANDSHAKES_AT_ONCE, (err) =>
      logger.error(`connection job crashed: ${(err as Error).message}`),
    )
  }

  /** The site setting changed: more or fewer runs at once, from now on. */
  setConcurrency(n: number): void {
    if (this.opts.concurrency === undefined) this.queue.setConcurrency(n)
  }

  private header(id: number): RunHeader {
    const h = this.store.runs.header(id)
    if (!h) throw new ApiCallError('not_found', `run ${id} does not exist`)
    return h
  }

  private announce(id: number): void {
    this.events.run(id, () => this.header(id))
  }

  private readonly open = (stored: Record<string, unknown>) => openSpec(this.secrets, stored)

  /**
   * The site's secrets and the host's token, opened: none is a setting of the spec, yet a custom
   * step's line may carry one (a token in a URL), and a plan or a run shows that line. One that
   * cannot be opened is left out: it cannot be in a line either.
   */
  private otherSecrets(hostId: number): string[] {
    const sealed = [
      this.store.settings.secret('enrollment_key')?.sealed,
      this.store.settings.secret('discovery_root_password')?.sealed,
      this.store.hosts.secrets(hostId)?.token,
    ]
    return sealed.flatMap((b) => {
      if (!b) return []
      try {
        return [this.secrets.open(b)]
      } catch {
        return []
      }
    })
  }

  /** Opens a session, waiting for a handshake slot first. */
  private get connect(): Connect {
    const open: Connect = this.opts.connect ?? ((o) => EsxSession.connect(o))
    return (o) =>
      new Promise((resolve, reject) => {
        this.handshakes.push(() => open(o).then(resolve, reject))
      })
  }

  /**
   * Runs left in progress by a Midwife that stopped are interrupted, not
   * failed: their hosts say so, with the step they stopped in and when
   * Midwife was last heard from (the entries are written now, when it is
   * noticed; it stopped some time after that).
   */
  recoverInterrupted(): void {
    const interrupted = this.store.runs.markInterrupted()
    for (const r of interrupted) {
      this.store.events.append('run.interrupted', `run:${r.runId}`, {
        step: r.step,
        title: r.stepTitle,
        lastSeen: r.lastSeen,
      })
      if (r.hostId === null) continue
      const host = this.store.hosts.get(r.hostId)
      if (host && (host.state === 'approved' || host.state === 'configuring')) {
        const heard = lastHeard(r.lastSeen, new Date().toISOString())
        this.store.moveHost(
          r.hostId,
          'interrupted',
          r.step
            ? `Midwife stopped during run ${r.runId}, in step "${r.stepTitle ?? r.step}" (${heard})`
            : `Midwife stopped before run ${r.runId} started (${heard})`,
          { run: r.runId, step: r.step },
        )
      }
    }
    for (const h of this.store.runs.heldWithoutRun()) {
      this.store.moveHost(
        h.hostId,
        'interrupted',
        h.runId === null
          ? 'Midwife stopped before its run was recorded: approve it again'
          : `Midwife stopped as run ${h.runId} ended (${h.runState}), before the host's state was recorded: approve it again to check it`,
        { run: h.runId },
      )
    }
  }

  idle(): Promise<void> {
    return this.queue.idle()
  }

  list(o: { hostId?: number; batchId?: string; beforeId?: number; limit: number }): RunPage {
    return this.store.runs.list(o)
  }

  get(id: number): Run {
    const run = this.store.runs.get(id)
    if (!run) throw new ApiCallError('not_found', `run ${id} does not exist`)
    return run
  }

  output(id: number, afterSeq: number, limit: number): OutputChunk[] {
    this.header(id)
    return this.store.runs.output(id, afterSeq, limit)
  }

  /**
   * Cancels a run. A queued one ends at once and its host goes back to
   * checked in; a running one stops at the next command boundary, and its
   * output keeps what was applied.
   */
  cancel(id: number): RunHeader {
    const run = this.header(id)
    if (run.state !== 'queued' && run.state !== 'running') {
      throw new ApiCallError('conflict', `run ${id} is ${run.state}, nothing to cancel`)
    }
    const controller = this.controllers.get(id)
    if (!controller && run.state === 'running') return this.cancelStopped(run)
    this.store.events.append('run.cancel_asked', `run:${id}`, {})
    controller?.abort()
    if (run.state === 'queued') {
      this.store.transaction(() => {
        for (const s of this.store.runs.steps(id)) {
          if (s.state === 'pending') this.store.runs.finishStep(s.id, 'cancelled', null)
        }
        this.store.runs.finish(id, 'cancelled', 'cancelled by the operator before it started')
        if (run.hostId !== null && this.store.hosts.get(run.hostId)?.state === 'approved') {
          this.store.moveHost(
            run.hostId,
            'checked_in',
            `run ${id} was cancelled before it started`,
            {
              run: id,
            },
          )
        }
      })
      if (run.hostId !== null) this.notify.host(run.hostId)
      this.announce(id)
      this.ended(id)
    }
    return this.header(id)
  }

  /**
   * A run that shows as running but that nothing executes (its job stopped and
   * its end could not be recorded then): cancelling it records the end now.
   */
  private cancelStopped(run: RunHeader): RunHeader {
    const id = run.id
    this.store.transaction(() => {
      this.store.events.append('run.cancel_asked', `run:${id}`, {})
      this.endStopped(id, run.hostId, {
        state: 'cancelled',
        error:
          'cancelled by the operator after Midwife stopped it (its progress could not be recorded); what ran before is kept in its output',
        stepError: 'Midwife stopped during this step (its progress could not be recorded)',
        hostReason: `run ${id} was cancelled after Midwife stopped it`,
      })
    })
    if (run.hostId !== null) this.notify.host(run.hostId)
    this.announce(id)
    this.ended(id)
    return this.header(id)
  }

  /**
   * Records the end of a run nothing executes any more, in the caller's transaction: its
   * steps and itself end as `state`, the audit says its end was not recorded when it
   * stopped, and its host, still held by it, fails.
   */
  private endStopped(
    runId: number,
    hostId: number | null,
    o: { state: 'failed' | 'cancelled'; error: string; stepError: string; hostReason: string },
  ): void {
    this.store.runs.endStopped(runId, o.state, o.error, o.stepError)
    this.store.events.append(`run.${o.state}`, `run:${runId}`, {
      ...(o.state === 'failed' ? { error: o.error } : {}),
      recorded: false,
    })
    const host = hostId === null ? undefined : this.store.hosts.get(hostId)
    if (host && (host.state === 'approved' || host.state === 'configuring')) {
      this.store.moveHost(host.id, 'failed', o.hostReason, { run: runId })
    }
  }

  /**
   * Runs a failed, interrupted or cancelled run again from its first step not
   * done, with the snapshot it was approved with. Read -> diff makes that
   * safe: a setting applied before the stop plans nothing the second time.
   */
  resume(id: number): RunHeader {
    const run = this.header(id)
    if (run.state !== 'failed' && run.state !== 'interrupted' && run.state !== 'cancelled') {
      throw new ApiCallError('conflict', `run ${id} is ${run.state}, nothing to resume`)
    }
    const hostId = run.hostId
    if (hostId === null) throw new ApiCallError('conflict', `run ${id}'s host was deleted`)
    const host = this.store.hosts.get(hostId)
    if (!host) throw new ApiCallError('conflict', `run ${id}'s host was deleted`)
    if (run.supersededAt !== null) {
      throw new ApiCallError(
        'conflict',
        `run ${id} configured the installation before ${hostName(host)} was re-armed for a reinstall: approve a new plan instead`,
      )
    }
    const refused = run.retryRefused
    if (refused !== null) {
      throw new ApiCallError(
        'conflict',
        `run ${id} cannot be retried: Retry uses the values approved with it, so it would fail the same way (${refused})`,
      )
    }
    if (this.store.runs.currentFor(hostId) !== id) {
      throw new ApiCallError(
        'conflict',
        `run ${id} is not ${hostName(host)}'s latest run: approve a new plan instead`,
      )
    }
    try {
      this.store.transaction(() => {
        this.store.runs.requeue(id)
        this.store.moveHost(hostId, 'approved', `run ${id} resumed by the operator`, { run: id })
      })
    } catch (err) {
      throw new ApiCallError('conflict', `cannot resume run ${id}: ${(err as Error).message}`)
    }
    this.notify.host(hostId)
    this.announce(id)
    this.enqueue(id, hostId)
    return this.header(id)
  }

  cancelMany(ids: number[]): BulkRuns {
    return this.each(ids, (id) => this.cancel(id))
  }

  resumeMany(ids: number[]): BulkRuns {
    return this.each(ids, (id) => this.resume(id))
  }

  /**
   * One action on each run, as its single call does (and audits): a refusal
   * is named and the others go on. Every id must exist first, so a wrong one
   * changes nothing.
   */
  private each(ids: number[], act: (id: number) => RunHeader): BulkRuns {
    const unique = [...new Set(ids)]
    const missing = unique.filter((id) => this.store.runs.header(id) === undefined)
    if (missing.length > 0) {
      const named = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '')
      throw new ApiCallError(
        'not_found',
        `${missing.length === 1 ? `run ${named} does` : `runs ${named} do`} not exist; nothing was changed`,
      )
    }
    const out: BulkRuns = { runs: [], refused: [] }
    for (const id of unique) {
      try {
        out.runs.push(act(id))
      } catch (err) {
        const h = this.store.runs.header(id)
        out.refused.push({
          runId: id,
          hostId: h?.hostId ?? null,
          name: h?.hostName ?? `run ${id}`,
          message: (err as Error).message,
        })
      }
    }
    return out
  }

  /** A run ended: a failure and a finished batch are worth a notification. */
  private ended(runId: number): void {
    const h = this.store.runs.header(runId)
    if (!h) return
    if (h.state === 'failed' && h.hostId !== null) this.notify.runFailed(h.hostId, h.id, h.error)
    if (h.batchId !== null && h.state !== 'queued' && h.state !== 'running') {
      this.notify.batchDone(h.batchId)
    }
  }

  /**
   * A run whose job threw (its progress could not be written: a full disk, a
   * read-only database) stopped where it was. It is recorded as failed, with
   * the reason, so its host is not left configuring behind a run that shows
   * as running; Resume continues it from that step. If that cannot be written
   * either, Cancel ends it once Midwife can write again (a restart marks it
   * interrupted).
   */
  private stopped(runId: number, hostId: number, err: unknown): void {
    const why = escapeControl((err as Error).message)
    this.logger.error(`run ${runId} stopped: its progress could not be recorded: ${why}`)
    try {
      this.store.transaction(() =>
        this.endStopped(runId, hostId, {
          state: 'failed',
          error: `Midwife could not record this run's progress (${why}) and stopped it; Resume continues it from its first step not done`,
          stepError: `Midwife could not record this step's progress (${why})`,
          hostReason: `run ${runId} stopped: Midwife could not record its progress (${why})`,
        }),
      )
    } catch (again) {
      this.logger.error(
        `run ${runId} still shows as running: its end could not be recorded either (${escapeControl((again as Error).message)}); cancel it once Midwife can write again`,
      )
      return
    }
    this.notify.host(hostId)
    this.announce(runId)
  }

  private enqueue(runId: number, hostId: number): void {
    const controller = new AbortController()
    this.controllers.set(runId, controller)
    this.queue.push(async () => {
      try {
        // Cancelled while it waited: nothing to do.
        if (this.store.runs.header(runId)?.state !== 'queued') return
        await this.execute(runId, hostId, controller.signal)
      } catch (err) {
        this.stopped(runId, hostId, err)
      } finally {
        this.controllers.delete(runId)
        this.ended(runId)
      }
    })
  }

  /** Plans waiting for approval, by id; a plan older than PLAN_LIFETIME_MS must be made again. */
  private readonly plans = new Map<string, MadePlan & { specStamp: string; at: number }>()

  /** What a host's plan depends on: its spec and the site profile, as stored. */
  private specStamp(hostId: number): string {
    const h = this.store.hosts.get(hostId)
    return JSON.stringify([h?.definition, h?.identity, this.store.settings.profile().spec])
  }

  private gated(hostId: number, verb: 'plan' | 'approve') {
    const host = this.store.hosts.get(hostId)
    if (!host) throw new ApiCallError('not_found', `host ${hostId} does not exist`)
    const gate = approveGate(host)
    const def = host.definition
    const identity = host.identity
    if (!gate.allowed || !def || !identity?.managementIp) {
      throw new GateClosed(verb, hostName(host), gate.reason)
    }
    const sealedPassword = this.store.hosts.secrets(hostId)?.rootPassword
    if (!sealedPassword) {
      throw new ApiCallError(
        'conflict',
        `cannot ${verb} ${hostName(host)}: no root password stored`,
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
    const { host, sealedPassword } = this.gated(hostId, 'plan')
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
        password: openNamed(
          this.secrets,
          sealedPassword,
          `the root password of ${hostName(host)}`,
          OTHERWISE.rootPassword,
        ),
        alsoMask: this.otherSecrets(hostId),
        connect: this.connect,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
        commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
      })
    } catch (err) {
      // A refused login or a host key not bound to the host is worth a trace: audited and logged.
      const reason =
        err instanceof ConnectError && err.refused
          ? `${err.message}: SSH is off on the host (ESXi turns it off at install, and the ` +
            "kickstart's %firstboot or the Secure Boot path turns it on), or it listens on " +
            'another port (Hosts, Edit: SSH port)'
          : (err as Error).message
      this.store.events.append('host.plan_refused', `host:${hostId}`, { reason })
      this.logger.warn(
        `plan for ${escapeControl(hostName(host))} refused: ${escapeControl(reason)}`,
      )
      throw new ApiCallError('failed', `cannot plan ${hostName(host)}: ${reason}`)
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
  approve(hostId: number, planId: string, batchId: string | null = null): Run {
    const { host, def, identity, sealedPassword } = this.gated(hostId, 'approve')
    const made = this.plans.get(planId)
    if (!made || made.plan.hostId !== hostId) {
      // Planning a host drops its older plans: another window (or this one) planned it since.
      throw new ApiCallError(
        'conflict',
        `the plan you reviewed for ${hostName(host)} is no longer current: it was planned again since (here or in another window); review its newest plan`,
      )
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
        batchId,
      })
      this.store.moveHost(hostId, 'approved', `approved by the operator (run ${r.id})`, {
        run: r.id,
        plan: planId,
        ...(batchId ? { batch: batchId } : {}),
        snapshot: {
          ...snapshot,
          settings: publicSpec(Object.fromEntries(snapshot.settings.map((x) => [x.key, x.value])))
            .spec,
        },
      })
      return r
    })
    this.plans.delete(planId)
    this.announce(run.id)
    this.notify.host(hostId)
    this.enqueue(run.id, hostId)
    return run
  }

  /**
   * Plans several hosts, at most the run concurrency at once, and sums the
   * plans up. A host that cannot be planned is listed with the reason.
   */
  async planMany(hostIds: number[]): Promise<PlanSummaries> {
    const ids = [...new Set(hostIds)]
    const out = new Array<HostPlanSummary>(ids.length)
    const plans = new Array<Plan | null>(ids.length).fill(null)
    let next = 0
    const worker = async () => {
      while (next < ids.length) {
        const i = next++
        const id = ids[i] as number
        const record = this.store.hosts.get(id)
        const name = record ? hostName(record) : `host ${id}`
        try {
          const p = await this.plan(id)
          plans[i] = p
          const changing = p.items.filter((x) => x.status === 'change')
          out[i] = {
            hostId: id,
            name: p.hostName,
            planId: p.id,
            address: p.address,
            changes: changing.length,
            writes: p.writes,
            unsupported: p.items.filter((x) => x.status === 'unsupported').length,
            blocked: p.blocked,
            problem: null,
            changing: changing.map((x) => x.title),
          }
        } catch (err) {
          // A closed gate's sentence as the Approve button shows it; any other refusal in words.
          const message =
            err instanceof GateClosed
              ? err.reason
              : (err as Error).message.replace(/^cannot (plan|approve) [^:]*: /, '')
          out[i] = {
            hostId: id,
            name,
            planId: null,
            address: record?.identity?.managementIp ?? null,
            changes: 0,
            writes: 0,
            unsupported: 0,
            blocked: null,
            problem: message,
            changing: [],
          }
        }
      }
    }
    const width = Math.max(1, Math.min(ids.length, this.store.settings.get().runConcurrency))
    await Promise.all(Array.from({ length: width }, worker))
    const settings = new Map<string, PlanSummaries['settings'][number]>()
    for (const p of plans) {
      for (const item of p?.items ?? []) {
        const s = settings.get(item.key) ?? {
          key: item.key,
          title: item.title,
          change: 0,
          same: 0,
          skipped: 0,
          unsupported: 0,
        }
        // A site value left out on this release is counted as that, not as already right.
        s[item.status]++
        settings.set(item.key, s)
      }
    }
    const cannot = out.filter((h) => h.planId === null || h.blocked !== null)
    return {
      hosts: out,
      settings: [...settings.values()],
      totals: {
        changes: out.filter((h) => h.planId && !h.blocked && h.changes > 0).length,
        nothing: out.filter((h) => h.planId && !h.blocked && h.changes === 0).length,
        cannot: cannot.length,
      },
    }
  }

  /**
   * Approves several plans as one batch; what cannot be approved any more is
   * named, not fatal. Each approval is its own
   * transaction, and the loop lets the event loop turn every few hosts:
   * 200 approvals in one go held it for over 100 ms, long enough to delay
   * the check-ins of a rack booting at the same time.
   */
  async approveMany(items: Array<{ hostId: number; planId: string }>): Promise<BulkApproval> {
    const batchId = `batch-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
    const runs: RunHeader[] = []
    const refused: BulkApproval['refused'] = []
    for (const [i, { hostId, planId }] of items.entries()) {
      if (i > 0 && i % APPROVALS_PER_TURN === 0) await new Promise((r) => setImmediate(r))
      try {
        runs.push(this.header(this.approve(hostId, planId, batchId).id))
      } catch (err) {
        const record = this.store.hosts.get(hostId)
        refused.push({
          hostId,
          name: record ? hostName(record) : `host ${hostId}`,
          message: (err as Error).message,
        })
      }
    }
    if (runs.length > 0) {
      this.store.events.append('batch.approved', `batch:${batchId}`, {
        runs: runs.map((r) => r.id),
        refused: refused.map((r) => r.hostId),
      })
    }
    return { batchId: runs.length > 0 ? batchId : null, runs, refused }
  }

  latest(): RunHeader[] {
    return this.store.runs.currentPerHost()
  }

  private async execute(runId: number, hostId: number, signal: AbortSignal): Promise<void> {
    await executeRun(
      {
        store: this.store,
        events: this.events,
        signal,
        secrets: this.secrets,
        open: this.open,
        alsoMask: this.otherSecrets(hostId),
        logger: this.logger,
        connect: this.connect,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
        commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
        moveDeadlineMs: this.opts.moveDeadlineMs,
        hostMoved: (state, reason) => {
          this.store.moveHost(hostId, state, reason, { run: runId })
          if (state === 'configured') noteChangedDuringRun(this.store, hostId)
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
              from: h?.identity?.managementIp ?? null,
              address,
            })
          })
          this.notify.host(hostId)
        },
        current: () => ({
          address: this.store.hosts.get(hostId)?.identity?.managementIp ?? null,
          sealedPassword: this.store.hosts.secrets(hostId)?.rootPassword ?? null,
        }),
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

/** A host whose state does not allow planning or approving it; `reason` is the gate's own sentence. */
class GateClosed extends ApiCallError {
  constructor(
    verb: 'plan' | 'approve',
    name: string,
    readonly reason: string,
  ) {
    // The reason is a sentence beside a button; here it continues one.
    super(
      'conflict',
      `cannot ${verb} ${name}: ${reason.replace(/^[A-Z](?![A-Z])/, (c) => c.toLowerCase())}`,
    )
  }
}

import { ApiCallError } from '../../contract/api'
import type { Run } from '../../contract/schemas'
import { executeRun, plannedSteps, type Connect } from '../configure/run'
import { EsxSession } from '../configure/ssh'
import { approveGate, hostName } from '../hosts/host-view'
import { JobQueue } from '../jobs/queue'
import type { Logger } from '../log'
import type { Notifier } from '../notify'
import type { SecretBox } from '../secrets'
import type { Store } from '../store'
import type { RunSnapshot } from './snapshot'

export interface RunOptions {
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

  /**
   * Approves a host: refused unless its state allows it. Freezes its settings
   * and bound identity into the run (the audit entry records that snapshot),
   * then queues it.
   */
  approve(hostId: number): Run {
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
    const snapshot: RunSnapshot = {
      host: {
        name: hostName(host),
        hostname: def.hostname,
        domain: def.domain,
        dnsServers: def.dnsServers,
        ntpServers: def.ntpServers,
        sshUser: def.sshUser,
        sshPort: def.sshPort,
      },
      identity: {
        address: identity.managementIp,
        fingerprints: identity.sshHostKeys.map((k) => k.fingerprint),
        checkinId: identity.checkinId,
      },
    }
    const run = this.store.transaction(() => {
      const r = this.store.runs.create({
        checkinId: identity.checkinId,
        hostId,
        hostName: snapshot.host.name,
        target: identity.managementIp ?? '',
        snapshot,
        sealedPassword,
        steps: plannedSteps(snapshot),
      })
      this.store.moveHost(hostId, 'approved', `approved by the operator (run ${r.id})`, {
        run: r.id,
        snapshot,
      })
      return r
    })
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
        logger: this.logger,
        connect: this.opts.connect ?? ((o) => EsxSession.connect(o)),
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
        commandTimeoutMs: this.opts.commandTimeoutMs ?? 60_000,
        hostMoved: (state, reason) => {
          this.store.moveHost(hostId, state, reason, { run: runId })
          this.notify.host(hostId)
        },
      },
      runId,
    )
  }
}

import { secretTexts, settingByKey, settingTitle } from '../../catalogue/registry'
import type { PlanContext } from '../../catalogue/types'
import type { RunHeader, StepDelta } from '../../contract/schemas'
import { escapeControl, Redactor, type Logger } from '../log'
import { hostVersion } from '../runs/planner'
import type { RunEvents } from '../runs/run-events'
import { RunSnapshot } from '../runs/snapshot'
import { openNamed, OTHERWISE, type SecretBox } from '../secrets'
import type { Store } from '../store'
import { applySetting, CachedReader } from './apply'
import {
  describeNetwork,
  moveManagement,
  MoveRefused,
  moveTarget,
  readManagement,
} from './move-management'
import { boundedMatch } from './pattern-budget'
import { ConnectError, type ConnectOptions, type EsxShell } from './ssh'

export type Connect = (o: ConnectOptions) => Promise<EsxShell & { close(): void }>

export interface RunDeps {
  store: Store
  /** Where the run's changes go out, coalesced, so screens follow it live. */
  events: RunEvents
  /** Aborted to cancel: the run stops at the next command boundary. */
  signal?: AbortSignal
  secrets: SecretBox
  /** Opens a stored spec value's secrets, for this run only. */
  open: (stored: Record<string, unknown>) => Record<string, unknown>
  /** Secrets other than the spec's (the site's, the host's token), masked as the spec's are. */
  alsoMask?: readonly string[]
  logger: Logger
  connect: Connect
  connectTimeoutMs: number
  commandTimeoutMs: number
  /** Moves the run's host through its lifecycle (configuring, then configured or failed). */
  hostMoved?: (state: 'configuring' | 'configured' | 'failed', reason: string) => void
  /**
   * The host's root password changed and Midwife has logged in with the new
   * one: keep it (sealed) as the host's password from now on.
   */
  passwordChanged?: (password: string) => void
  /**
   * The run moved the host's management address on purpose (and verified it
   * there with the same host key): the host is bound to the new address.
   */
  addressMoved?: (address: string) => void
  /**
   * The host as it is now: its bound address and its stored root password. A resumed attempt
   * logs in with these, because an earlier attempt's own move or password rotation (each
   * audited) changed them; the host keys it trusts stay the approval's.
   */
  current?: () => { address: string | null; sealedPassword: Buffer | null }
  /** How long the host waits for Midwife at a new management address before it rolls back. */
  moveDeadlineMs?: number
}

export const CONNECT_STEP = { key: 'connect', title: 'Connect over SSH and check the host key' }

/** The steps a run of this snapshot will have, in order: connect, then each setting. */
export function plannedSteps(snapshot: RunSnapshot): Array<{ key: string; title: string }> {
  return [
    CONNECT_STEP,
    ...snapshot.settings.map((s) => ({
      key: s.key,
      title: settingTitle(s.key),
    })),
  ]
}

/**
 * Executes one approved run from its snapshot: every step is persisted before
 * and after it runs, and every change is published, so the UI and the
 * database always agree on what happened. Stops at the first failed step.
 * Reads are shared across steps (one listing serves several settings) until a
 * write makes them stale.
 */
export async function executeRun(deps: RunDeps, runId: number): Promise<RunHeader> {
  const { store, events } = deps
  const header = store.runs.header(runId)
  const approved = store.runs.approved(runId)
  if (!header || !approved) throw new Error(`run ${runId} does not exist`)
  const redact = new Redactor()
  const runChanged = () => events.run(runId, () => store.runs.header(runId) as RunHeader)
  const stepChanged = (stepId: number) =>
    events.step(stepId, () => store.runs.step(stepId) as StepDelta)

  // The run and its host move together: a stop between them would leave one behind.
  store.transaction(() => {
    store.runs.markRunning(runId)
    store.events.append(header.attempts > 1 ? 'run.resumed' : 'run.started', `run:${runId}`, {
      target: header.target,
      attempt: header.attempts,
    })
    deps.hostMoved?.('configuring', `run ${runId} started`)
  })
  runChanged()

  // A resumed run skips what is done (a new attempt always connects again).
  const steps = store.runs.steps(runId)
  let session: (EsxShell & { close(): void }) | undefined
  let reader: CachedReader | undefined
  let ctx: PlanContext | undefined
  let failure: string | null = null
  let cancelled = false
  /** Where a cancel stopped the run, for its one audit entry. */
  let stoppedAt: Record<string, unknown> = {}
  let moved = false

  const finishRest = (from: number, state: 'skipped' | 'cancelled') => {
    // As they are now: `steps` holds them as they were when this attempt began.
    for (const s of store.runs.steps(runId).slice(from)) {
      if (s.state === 'done') continue
      store.runs.finishStep(s.id, state, null)
      stepChanged(s.id)
    }
  }

  // The plan as approved: each step says where what it runs differs from it.
  const approvedPlan = store.runs.get(runId)?.plan ?? []
  try {
    const parsed = RunSnapshot.safeParse(approved.snapshot)
    const snapshot = parsed.success ? parsed.data : null
    const values = snapshot
      ? deps.open(Object.fromEntries(snapshot.settings.map((s) => [s.key, s.value])))
      : {}
    // Any step may print a secret of another (a custom step's check reading the licence), and
    // a secret's own step runs no command that carries it when the host already has it.
    for (const text of secretTexts(Object.entries(values))) redact.add(text)
    for (const s of deps.alsoMask ?? []) redact.addQuoted(s)
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as StepDelta
      if (step.state === 'done' && step.key !== 'connect') continue
      if (deps.signal?.aborted) throw new Cancelled(step)
      store.runs.startStep(step.id)
      stepChanged(step.id)
      const out = (text: string) => {
        const clean = redact.apply(text)
        const seq = store.runs.appendOutput(runId, step.id, clean)
        events.chunk({ runId, stepId: step.id, firstSeq: seq, seq, text: clean })
      }
      if (header.attempts > 1 && step.key === 'connect') {
        out(`attempt ${header.attempts}: resuming from the first step not done\n`)
      }
      try {
        if (!snapshot) throw new Error('this run has no approved snapshot; plan and approve again')
        if (step.key === 'connect') {
          const now = header.attempts > 1 ? deps.current?.() : undefined
          const sealed = now?.sealedPassword ?? approved.sealedPassword
          if (!sealed) throw new Error('the approval holds no root password')
          const password = openNamed(
            deps.secrets,
            sealed,
            'the root password this run was approved with',
            `${OTHERWISE.rootPassword}, then plan and approve again`,
          )
          redact.add(password)
          const { host, identity } = snapshot
          const address = now?.address ?? identity.address
          if (address !== identity.address) {
            out(`the host was moved to ${address} since its approval (at ${identity.address})\n`)
          }
          out(`ssh ${host.sshUser}@${address}:${host.sshPort} (keyboard-interactive)\n`)
          out(`trusted host keys: ${identity.fingerprints.join(', ')}\n`)
          session = cancellable(await connectTo(deps, snapshot, address, password), deps.signal)
          out('connected; the host key is one bound to this host\n')
          reader = new CachedReader(logged(session, out), null)
          const version = await hostVersion(reader)
          out(`ESXi ${version ?? 'version unknown'}\n`)
          ctx = {
            hostname: host.hostname,
            domain: host.domain,
            address,
            version,
            loginPassword: password,
            match: boundedMatch,
          }
        } else {
          const setting = settingByKey(step.key)
          if (!setting) throw new Error(`this Midwife does not know the setting "${step.key}"`)
          if (!session || !reader || !ctx)
            throw new Error(`${step.key} cannot run without a session`)
          if (setting.connection === 'moves' && !moved) {
            // The management address, gateway and VLAN change together, in-band:
            // a detached script on the host changes them and rolls back unless
            // Midwife confirms from the new address.
            moved = true
            const from = await readManagement(logged(session, out))
            const cidr = values.mgmtAddress as string | undefined
            const to = moveTarget(from, values)
            // A DHCP address is made static only with a change: an address in the spec, or a
            // gateway or VLAN that differs (the move pins the address it has, so Midwife can
            // find the host again). Otherwise the plan showed nothing, and nothing moves.
            if (
              from.address === to.address &&
              from.prefix === to.prefix &&
              from.gateway === to.gateway &&
              from.vlan === to.vlan &&
              (!from.dhcp || cidr === undefined)
            ) {
              out(`management network already ${describeNetwork(from)}\n`)
            } else {
              const target = snapshot
              const login = ctx.loginPassword ?? ''
              session = await moveManagement({
                connect: (address) => connectTo(deps, target, address, login),
                from,
                to,
                deadlineMs: deps.moveDeadlineMs ?? 90_000,
                out,
                session,
              })
              ctx.address = to.address
              reader = new CachedReader(logged(session, out), ctx.version)
              if (to.address !== from.address) deps.addressMoved?.(to.address)
            }
          }
          const shell = logged(session, out)
          // Reads stay shared across steps. A secret setting's reads are not
          // copied into the output: `license --show` prints the key.
          reader = new CachedReader(setting.secret ? session : shell, ctx.version, reader)
          const { address } = ctx
          const login = ctx.loginPassword ?? ''
          const result = await applySetting(
            shell,
            reader,
            setting,
            values[step.key],
            ctx,
            out,
            redact,
            approvedPlan.find((item) => item.key === step.key),
          ).catch(async (err: unknown) => {
            // A setting that ends SSH may take this session with it (whether stopping sshd
            // ends open sessions is not known for ESXi). Then the proof that SSH is off is
            // that a new connection to the host is refused; anything else is the failure.
            if (setting.connection !== 'ends') throw err
            const refusal = await refusedSsh(deps, snapshot, address, login)
            if (refusal === null) throw err
            out(
              `the session ended as SSH stopped (${(err as Error).message}); ${refusal}: SSH is off\n`,
            )
            return { writes: 0, before: null, after: null, relogin: false, notAsPlanned: null }
          })
          if (result.notAsPlanned) {
            store.events.append('run.step_not_as_planned', `run:${runId}`, {
              step: step.key,
              title: step.title,
              ...result.notAsPlanned,
            })
          }
          if (result.relogin && ctx.loginPassword) {
            // ESXi took the new password (its command exited 0): the old one no longer works,
            // so the new one is kept before anything else can fail. Kept only after a new
            // login, a blip at that login left Midwife with a password the host refuses, and
            // every Retry a failed root login towards ESXi's lockout.
            const next = ctx.loginPassword
            deps.passwordChanged?.(next)
            out('the host took the new root password; Midwife keeps it from now on\n')
            out('logging in again with the new root password\n')
            session.close()
            try {
              session = await connectTo(deps, snapshot, ctx.address, next)
            } catch (err) {
              throw new Error(
                `the host took the new root password and Midwife keeps it, but logging in again with it failed: ${(err as Error).message}. Retry when the host answers; if it still takes only the old password, set that one under Hosts, Edit, Root password`,
                { cause: err },
              )
            }
            reader = new CachedReader(logged(session, out), ctx.version)
            out('logged in with the new root password\n')
          }
        }
        store.runs.finishStep(step.id, 'done', null)
        stepChanged(step.id)
      } catch (err) {
        if (err instanceof Cancelled || deps.signal?.aborted) {
          cancelled = true
          failure = `cancelled by the operator in step "${step.title}"; what ran before is kept in its output`
          out('cancelled before the next command\n')
          store.runs.finishStep(step.id, 'cancelled', failure)
          stepChanged(step.id)
          finishRest(i + 1, 'cancelled')
          stoppedAt = { step: step.key, title: step.title }
          break
        }
        failure = redact.apply((err as Error).message)
        store.runs.finishStep(step.id, 'failed', failure)
        stepChanged(step.id)
        finishRest(i + 1, 'skipped')
        store.events.append('run.step_failed', `run:${runId}`, {
          step: step.key,
          title: step.title,
          error: failure,
          // Retry reuses the approved values: it is refused for a failure they cannot get past.
          ...(err instanceof MoveRefused ? { replan: true } : {}),
        })
        break
      }
    }
  } catch (err) {
    // Cancelled between steps: the one it was about to start did not.
    if (!(err instanceof Cancelled)) throw err
    cancelled = true
    failure = err.before
      ? `cancelled by the operator before step "${err.before.title}"; what ran before is kept in its output`
      : 'cancelled by the operator before the next step'
    if (err.before) stoppedAt = { before: { step: err.before.key, title: err.before.title } }
    finishRest(0, 'cancelled')
  } finally {
    session?.close()
  }

  const state = failure === null ? 'done' : cancelled ? 'cancelled' : 'failed'
  // One transaction: a Midwife stopped in between left the run ended and its host configuring.
  store.transaction(() => {
    store.runs.finish(runId, state, failure)
    store.events.append(`run.${state}`, `run:${runId}`, { ...stoppedAt, error: failure })
    deps.hostMoved?.(
      failure === null ? 'configured' : 'failed',
      failure === null
        ? `run ${runId}: every setting applied and verified`
        : `run ${runId}: ${failure}`,
    )
  })
  deps.logger.info(
    `run ${runId} on ${escapeControl(header.target)}: ${failure === null ? 'done' : `${state}: ${escapeControl(failure)}`}`,
  )
  runChanged()
  events.flush()
  return store.runs.header(runId) as RunHeader
}

/**
 * Why a new SSH login to the run's host is refused (nothing listens there), or null when it is
 * not: it logs in, or fails in another way (a timeout proves nothing).
 */
async function refusedSsh(
  deps: RunDeps,
  snapshot: RunSnapshot,
  address: string,
  password: string,
): Promise<string | null> {
  try {
    const probe = await connectTo(deps, snapshot, address, password)
    probe.close()
    return null
  } catch (err) {
    return err instanceof ConnectError && err.refused
      ? `a new SSH connection to ${address}:${snapshot.host.sshPort} is refused`
      : null
  }
}

/**
 * Logs in to the run's host at `address` as approved: its SSH port and user, trusting only the
 * host keys bound to it.
 */
function connectTo(deps: RunDeps, snapshot: RunSnapshot, address: string, password: string) {
  return deps.connect({
    host: address,
    port: snapshot.host.sshPort,
    username: snapshot.host.sshUser,
    password,
    trustedFingerprints: snapshot.identity.fingerprints,
    connectTimeoutMs: deps.connectTimeoutMs,
    commandTimeoutMs: deps.commandTimeoutMs,
  })
}

/** Thrown at a command boundary once the run was cancelled. */
export class Cancelled extends Error {
  /** The step it was about to start, when the cancel came between steps. */
  constructor(readonly before?: { key: string; title: string }) {
    super('cancelled by the operator')
  }
}

/** A session that refuses the next command once `signal` is aborted: cancel at a command boundary. */
function cancellable<S extends EsxShell & { close(): void }>(s: S, signal?: AbortSignal): S {
  if (!signal) return s
  return Object.assign(Object.create(s) as S, {
    exec(command: string) {
      if (signal.aborted) return Promise.reject(new Cancelled())
      return s.exec(command)
    },
    close: () => s.close(),
  })
}

/** Wraps a shell so every command and what it printed lands in the step output. */
function logged(sh: EsxShell, out: (text: string) => void): EsxShell {
  return {
    async exec(command) {
      out(`$ ${command}\n`)
      const r = await sh.exec(command)
      const text = [r.stdout, r.stderr].filter((s) => s.trim() !== '').join('')
      if (text) out(text.endsWith('\n') ? text : `${text}\n`)
      if (r.code !== 0) out(`(exit ${r.code ?? 'none'})\n`)
      return r
    },
  }
}

import type { Checkin, Host, Run } from '../../contract/schemas'
import type { EventBus } from '../events'
import { escapeControl, Redactor, type Logger } from '../log'
import type { SecretBox } from '../secrets'
import type { Store } from '../store'
import { run as runCommand, settingsFor, type Setting } from './settings'
import type { ConnectOptions, EsxShell } from './ssh'

export type Connect = (o: ConnectOptions) => Promise<EsxShell & { close(): void }>

export interface RunDeps {
  store: Store
  events: EventBus
  secrets: SecretBox
  logger: Logger
  connect: Connect
  connectTimeoutMs: number
  commandTimeoutMs: number
}

const CONNECT_STEP = { key: 'connect', title: 'Connect over SSH and check the host key' }

/** The steps a run for this host will have, in order. */
export function plannedSteps(host: Host): Array<{ key: string; title: string }> {
  return [CONNECT_STEP, ...settingsFor(host).map((s) => ({ key: s.key, title: s.title }))]
}

/** Where Midwife connects: the management address the host reported, else where it called from. */
export function targetOf(checkin: Checkin): string {
  return checkin.managementIp ?? checkin.sourceIp
}

/**
 * Executes one approved run: every step is persisted before and after it
 * runs, and every change is published, so the UI and the database always
 * agree on what happened. Stops at the first failed step.
 */
export async function executeRun(deps: RunDeps, runId: number): Promise<Run> {
  const { store, events } = deps
  const publish = () => {
    const run = store.runs.get(runId) as Run
    events.emit('run', run)
    return run
  }
  const run = store.runs.get(runId)
  if (!run) throw new Error(`run ${runId} does not exist`)
  const checkin = store.checkins.get(run.checkinId)
  const host = run.hostId === null ? undefined : store.hosts.get(run.hostId)
  const redact = new Redactor()

  store.runs.markRunning(runId)
  store.events.append('run.started', `run:${runId}`, { target: run.target })
  publish()

  const steps = [...run.steps]
  let session: (EsxShell & { close(): void }) | undefined
  let failure: string | null = null

  const finishRest = (from: number) => {
    for (const s of steps.slice(from)) store.runs.finishStep(s.id, 'skipped', null)
  }

  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i] as Run['steps'][number]
      store.runs.startStep(step.id)
      publish()
      const out = (text: string) => {
        store.runs.appendOutput(step.id, redact.apply(text))
        publish()
      }
      try {
        if (step.key === CONNECT_STEP.key) {
          if (!checkin || !host)
            throw new Error('the host definition or check-in for this run was deleted')
          const sealed = store.hosts.secrets(host.id)?.rootPassword
          if (!sealed) throw new Error(`host ${host.hostname} has no root password stored`)
          const password = deps.secrets.open(sealed)
          redact.add(password)
          out(`ssh ${host.sshUser}@${run.target}:${host.sshPort} (keyboard-interactive)\n`)
          out(`trusted host keys: ${checkin.sshHostKeys.map((k) => k.fingerprint).join(', ')}\n`)
          session = await deps.connect({
            host: run.target,
            port: host.sshPort,
            username: host.sshUser,
            password,
            trustedFingerprints: checkin.sshHostKeys.map((k) => k.fingerprint),
            connectTimeoutMs: deps.connectTimeoutMs,
            commandTimeoutMs: deps.commandTimeoutMs,
          })
          out('connected; host key matches the check-in\n')
        } else {
          const setting = host && settingsFor(host).find((s) => s.key === step.key)
          if (!setting || !session) throw new Error(`step ${step.key} cannot run without a session`)
          await applySetting(logged(session, out), setting, out)
        }
        store.runs.finishStep(step.id, 'done', null)
        publish()
      } catch (err) {
        failure = redact.apply((err as Error).message)
        store.runs.finishStep(step.id, 'failed', failure)
        finishRest(i + 1)
        store.events.append('run.step_failed', `run:${runId}`, { step: step.key, error: failure })
        break
      }
    }
  } finally {
    session?.close()
  }

  store.runs.finish(runId, failure === null ? 'done' : 'failed', failure)
  store.events.append(failure === null ? 'run.done' : 'run.failed', `run:${runId}`, {
    error: failure,
  })
  deps.logger.info(
    `run ${runId} on ${escapeControl(run.target)}: ${failure === null ? 'done' : `failed: ${escapeControl(failure)}`}`,
  )
  return publish()
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

/** read -> compare -> apply what differs -> read back and verify. */
export async function applySetting<T>(
  sh: EsxShell,
  setting: Setting<T>,
  out: (text: string) => void,
): Promise<void> {
  const current = await setting.read(sh)
  if (setting.same(current, setting.desired)) {
    out(`already ${setting.show(current)}; nothing to change\n`)
    return
  }
  out(`current: ${setting.show(current)}; wanted: ${setting.show(setting.desired)}\n`)
  for (const words of setting.plan(current, setting.desired)) {
    await runCommand(sh, words)
  }
  const after = await setting.read(sh)
  if (!setting.same(after, setting.desired)) {
    throw new Error(
      `verification failed: read back ${setting.show(after)}, wanted ${setting.show(setting.desired)}`,
    )
  }
  out(`verified: ${setting.show(after)}\n`)
}

// The run engine for a rack: cancel at a command boundary, resume and retry
// from the first step not done without applying anything twice, bounded
// concurrency, events as deltas a reconnecting screen can catch up on, and
// never a whole run in an event.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, dispatch, type Api } from '../../main/contract/api'
import type { App } from '../../main/core/app'
import { EsxSession, OutputTooLarge } from '../../main/core/configure/ssh'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { oneNicMachine } from '../esxi-sim/state'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approve, approveAndWait, checkIn } from '../support/flow'

const cleanup: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function app(opts: Parameters<typeof startTestApp>[0] = {}): Promise<TestApp> {
  const t = await startTestApp(opts)
  cleanup.push(() => t.close())
  return t
}

/** A defined, checked-in host on its own simulated server. */
async function server(a: App, n = 1): Promise<{ esx: SimHost; ssh: SimSshServer; hostId: number }> {
  const esx = await createSimHost(
    oneNicMachine(`00:50:56:aa:0${n}:01`, `0x25 0x${n}`, `VMware-serial-${n}`),
  )
  cleanup.push(() => esx.close())
  const ssh = await esx.startSsh(sampleHost.rootPassword)
  const host = a.saveHost({
    ...sampleHost,
    hostname: `esx0${n}`,
    mac: `00:50:56:aa:0${n}:01`,
    sshPort: ssh.port,
  })
  await checkIn(a, esx, host)
  return { esx, ssh, hostId: host.id }
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('cancel', () => {
  it('stops at the next command boundary and keeps what was applied', async () => {
    const t = await app()
    const { esx, hostId } = await server(t.app)
    const plan = await t.app.planHost(hostId)
    esx.update((s) =>
      s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 1_500, slowOnly: true }),
    )
    const run = t.app.approveHost(hostId, plan.id)
    await until('the DNS step', () => t.app.getRun(run.id).steps[2]?.state === 'running')
    const mark = esx.logMark()
    t.app.cancelRun(run.id)
    await t.app.idle()
    const ended = t.app.getRun(run.id)
    expect(ended.state).toBe('cancelled')
    expect(ended.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'cancelled'],
      ['ntp', 'cancelled'],
    ])
    expect(ended.steps[1]?.output).toContain('verified: esx01.lab.local')
    expect(ended.error).toMatch(/^cancelled by the operator in step "DNS servers"/)
    // The read in flight finished; nothing was written after the cancel.
    expect(esx.writesSince(mark)).toEqual([])
    expect(t.app.getHost(hostId).state).toBe('failed')
    // The audit trail says it once, with the step.
    expect(auditOf(t.app, hostId, run.id).filter((x) => x.endsWith('as cancelled'))).toEqual([
      'the run stopped in step "DNS servers", as cancelled',
    ])
  })

  it('stopped between steps, says once which step it did not start', async () => {
    const t = await app()
    const { esx, hostId } = await server(t.app)
    // DNS already right: its one read is the step's last command, and the cancel lands after it.
    esx.update((s) => (s.dns.servers = [...sampleHost.spec.dns]))
    const plan = await t.app.planHost(hostId)
    esx.update((s) =>
      s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 1_500, slowOnly: true }),
    )
    const run = t.app.approveHost(hostId, plan.id)
    await until('the DNS step', () => t.app.getRun(run.id).steps[2]?.state === 'running')
    t.app.cancelRun(run.id)
    await t.app.idle()
    const ended = t.app.getRun(run.id)
    expect(ended.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'done'],
      ['ntp', 'cancelled'],
    ])
    expect(ended.error).toBe(
      'cancelled by the operator before step "NTP"; what ran before is kept in its output',
    )
    expect(auditOf(t.app, hostId, run.id).filter((x) => x.endsWith('as cancelled'))).toEqual([
      'the run stopped before step "NTP", as cancelled',
    ])
  })

  it('ends a queued run at once, and its host goes back to checked in', async () => {
    const t = await app({ concurrency: 1 })
    const a = await server(t.app, 1)
    const b = await server(t.app, 2)
    const untouched = b.esx.logMark()
    a.esx.update((s) =>
      s.faults.push({ match: 'esxcli system hostname get', delayMs: 1_000, slowOnly: true }),
    )
    const first = await approve(t.app, a.hostId)
    const second = await approve(t.app, b.hostId)
    expect(t.app.getRun(second.id).state).toBe('queued')
    expect(t.app.cancelRun(second.id)).toMatchObject({ state: 'cancelled' })
    expect(t.app.getHost(b.hostId).state).toBe('checked_in')
    await t.app.idle()
    expect(t.app.getRun(first.id).state).toBe('done')
    expect(t.app.getRun(second.id).steps.every((s) => s.state === 'cancelled')).toBe(true)
    expect(b.esx.writesSince(untouched)).toEqual([])
  })
})

describe('resume', () => {
  it('retries from the failed step, applying nothing twice', async () => {
    const t = await app()
    const { esx, hostId } = await server(t.app)
    // NTP names must resolve on ESXi; this host resolves none yet.
    esx.update((s) => (s.resolvableNames = []))
    const failed = await approveAndWait(t.app, hostId)
    expect(failed.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'failed'])
    esx.update((s) => (s.resolvableNames = null))
    t.app.resumeRun(failed.id)
    await t.app.idle()
    const run = t.app.getRun(failed.id)
    expect(run).toMatchObject({ state: 'done', attempts: 2, error: null })
    expect(run.steps.every((s) => s.state === 'done')).toBe(true)
    expect(t.app.getHost(hostId).state).toBe('configured')
    const writes = esx.writesSince(0)
    expect(writes.filter((w) => w.startsWith('esxcli system hostname set'))).toHaveLength(1)
    expect(writes.filter((w) => w.includes('dns server add'))).toHaveLength(2)
    expect(esx.state().ntp.servers).toEqual(sampleHost.spec.ntp.servers)
  })

  it('refuses a run that is done, or not the host’s latest', async () => {
    const t = await app()
    const { hostId } = await server(t.app)
    const done = await approveAndWait(t.app, hostId)
    expect(() => t.app.resumeRun(done.id)).toThrow(`run ${done.id} is done, nothing to resume`)
  })
})

/** The app through the contract, as either transport calls it: arguments validated. */
function client(a: App): Api {
  return createClient((name, args) => dispatch(a, name, args))
}

/** What the audit log says about one run, in words. */
function auditOf(a: App, hostId: number, runId: number): string[] {
  return a
    .hostAudit(hostId)
    .filter((e) => e.subject === `run:${runId}` || (e.data as { run?: number }).run === runId)
    .map((e) => e.summary)
}

describe('a run whose progress cannot be written', () => {
  /** A DNS step that takes 1.5 s, so the database can be made to refuse writes during it. */
  async function inDns(t: TestApp) {
    const { esx, hostId } = await server(t.app)
    const plan = await t.app.planHost(hostId)
    esx.update((s) =>
      s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 1_500, slowOnly: true }),
    )
    const run = t.app.approveHost(hostId, plan.id)
    await until('the DNS step', () => t.app.getRun(run.id).steps[2]?.state === 'running')
    return { esx, hostId, run }
  }

  it('is recorded as failed with the reason, and Resume continues it', async () => {
    const t = await app()
    const { esx, hostId, run } = await inDns(t)
    // Recording that the next step started refuses, as SQLite does on a full disk.
    const db = new Database(join(t.dataDir, 'midwife.db'))
    cleanup.push(() => {
      db.close()
    })
    db.exec(`CREATE TRIGGER full BEFORE UPDATE ON run_steps WHEN NEW.state = 'running'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
    await t.app.idle()
    db.exec('DROP TRIGGER full')

    const stopped = t.app.getRun(run.id)
    expect(stopped.state).toBe('failed')
    expect(stopped.error).toBe(
      "Midwife could not record this run's progress (database or disk is full) and stopped it; Resume continues it from its first step not done",
    )
    expect(stopped.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'done'],
      ['ntp', 'skipped'],
    ])
    const host = t.app.getHost(hostId)
    expect(host.state).toBe('failed')
    expect(host.stateReason).toBe(
      `run ${run.id} stopped: Midwife could not record its progress (database or disk is full)`,
    )
    expect(t.logger.lines).toContain(
      `error run ${run.id} stopped: its progress could not be recorded: database or disk is full`,
    )

    esx.update((s) => (s.faults = []))
    t.app.resumeRun(run.id)
    await t.app.idle()
    expect(t.app.getRun(run.id).state).toBe('done')
    expect(t.app.getHost(hostId).state).toBe('configured')
  })

  it('when not even its end can be written, still shows running, and Cancel ends it once it can', async () => {
    const t = await app()
    const { hostId, run } = await inDns(t)
    // Another connection holds the write lock: every write of the run waits, then fails.
    const db = new Database(join(t.dataDir, 'midwife.db'))
    cleanup.push(() => {
      db.close()
    })
    db.exec('BEGIN IMMEDIATE')
    await t.app.idle()
    db.exec('COMMIT')
    expect(t.app.getRun(run.id).state).toBe('running')
    expect(t.logger.lines.at(-1)).toBe(
      `error run ${run.id} still shows as running: its end could not be recorded either (database is locked); cancel it once Midwife can write again`,
    )

    t.app.cancelRun(run.id)
    const ended = t.app.getRun(run.id)
    expect(ended.state).toBe('cancelled')
    expect(ended.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'cancelled'],
      ['ntp', 'cancelled'],
    ])
    expect(t.app.getHost(hostId).state).toBe('failed')
    expect(t.app.getHost(hostId).approve.allowed).toBe(true)
  })
})

describe('the plan a run keeps', () => {
  it('is the plan the operator approved, item by item, with secrets masked', async () => {
    const t = await app()
    const rotated = 'Rotated-pw-42x'
    t.app.saveProfile({ spec: { rootPassword: rotated } })
    const { hostId } = await server(t.app)
    const plan = await t.app.planHost(hostId)
    const run = t.app.approveHost(hostId, plan.id)
    await t.app.idle()
    const kept = (await client(t.app).getRun(run.id)).plan
    expect(kept).toEqual(plan.items)
    expect(kept.find((i) => i.key === 'rootPassword')).toMatchObject({
      status: 'change',
      wanted: '(secret)',
    })
    for (const secret of [rotated, sampleHost.rootPassword]) {
      expect(JSON.stringify(kept)).not.toContain(secret)
    }
  })
})

describe('a rotated root password', () => {
  it('is kept once the host takes it, even when the login after it fails, so Retry logs in with it', async () => {
    const t = await app()
    const rotated = 'Rotated-pw-42x'
    t.app.saveProfile({ spec: { rootPassword: rotated } })
    const { esx, ssh, hostId } = await server(t.app)
    // The host takes the new password, then stops answering SSH before Midwife logs in again.
    esx.update((s) =>
      s.faults.push({ match: 'esxcli system account set', delayMs: 2_000, slowOnly: true }),
    )
    const run = await approve(t.app, hostId)
    await until('the password change', () =>
      esx.state().log.some((l) => l.startsWith('esxcli system account set')),
    )
    esx.update((s) => (s.services.ssh.running = false))
    await t.app.idle()
    const failed = t.app.getRun(run.id)
    expect(failed.state).toBe('failed')
    expect(failed.error).toMatch(
      /the host took the new root password and Midwife keeps it, but logging in again with it failed: cannot reach 127\.0\.0\.1:\d+: connection refused\. Retry when the host answers/,
    )
    expect(failed.error).not.toContain(rotated)
    expect(auditOf(t.app, hostId, run.id)).toContain(
      `the host took the new root password set by run ${run.id}; Midwife keeps it`,
    )

    // SSH back: Retry logs in with the new password at once, and has nothing left to change.
    esx.update((s) => {
      s.services.ssh.running = true
      s.faults = []
    })
    await ssh.waitForAddress('127.0.0.1')
    t.app.resumeRun(run.id)
    await t.app.idle()
    expect(t.app.getRun(run.id)).toMatchObject({ state: 'done', error: null })
    expect(esx.state().log.filter((l) => l.startsWith('esxcli system account set'))).toHaveLength(1)
  })
})

describe('a host that prints without end', () => {
  // 256 KiB of one line over a 64 KiB limit: past it without gigabytes.
  const flood = (match: string) => ({ match, stdout: `${'x'.repeat(1023)}\n`, repeat: 256 })
  const limit = 64 * 1024

  it('has one command stopped past the output limit, its channel closed, and the session still usable', async () => {
    const esx = await createSimHost()
    cleanup.push(() => esx.close())
    const ssh = await esx.startSsh(sampleHost.rootPassword)
    esx.update((s) => s.faults.push(flood('esxcli network ip dns server list')))
    const session = await EsxSession.connect({
      host: ssh.host,
      port: ssh.port,
      username: 'root',
      password: sampleHost.rootPassword,
      trustedFingerprints: [],
      trustOnFirstUse: true,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 30_000,
      outputLimitBytes: limit,
    })
    cleanup.push(() => session.close())
    const said = session.exec('esxcli network ip dns server list')
    await expect(said).rejects.toBeInstanceOf(OutputTooLarge)
    await expect(said).rejects.toThrow(
      /^127\.0\.0\.1:\d+ printed more than 64 KiB for one command; Midwife stopped reading and closed it/,
    )
    const r = await session.exec('esxcli system version get')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Version:')
  })

  it('refuses the plan in words naming the command and the limit, and changes nothing', async () => {
    const t = await app({ connect: (o) => EsxSession.connect({ ...o, outputLimitBytes: limit }) })
    const { esx, hostId } = await server(t.app)
    esx.update((s) => s.faults.push(flood('esxcli network ip dns server list')))
    const mark = esx.logMark()
    const refused = approve(t.app, hostId)
    await expect(refused).rejects.toThrow(
      /^cannot plan esx01\.lab\.local: DNS servers: `esxcli network ip dns server list`: 127\.0\.0\.1:\d+ printed more than 64 KiB for one command; Midwife stopped reading and closed it/,
    )
    await expect(refused).rejects.not.toThrow(/xxxx/)
    expect(esx.writesSince(mark)).toEqual([])
  })
})

describe('bulk resume and cancel', () => {
  it('resumes every run it can in one call, names the one it cannot, and audits each', async () => {
    const t = await app()
    const api = client(t.app)
    const a = await server(t.app, 1)
    const b = await server(t.app, 2)
    const c = await server(t.app, 3)
    // NTP names must resolve on ESXi; a and b resolve none yet, so their runs fail.
    for (const s of [a, b]) s.esx.update((st) => (st.resolvableNames = []))
    const failedA = await approveAndWait(t.app, a.hostId)
    const failedB = await approveAndWait(t.app, b.hostId)
    const done = await approveAndWait(t.app, c.hostId)
    expect([failedA.state, failedB.state, done.state]).toEqual(['failed', 'failed', 'done'])
    for (const s of [a, b]) s.esx.update((st) => (st.resolvableNames = null))
    const before = t.app.verifyAudit().entries

    // Bad input is refused whole: nothing resumes, nothing is written.
    await expect(api.resumeRuns([failedA.id, 999])).rejects.toThrow(
      'run 999 does not exist; nothing was changed',
    )
    await expect(api.resumeRuns([])).rejects.toThrow('select a run')
    await expect(api.resumeRuns(Array.from({ length: 10_001 }, (_, i) => i + 1))).rejects.toThrow(
      'at most 10,000 runs at once',
    )
    await expect(api.resumeRuns([0])).rejects.toMatchObject({ code: 'invalid' })
    expect(t.app.getRun(failedA.id).state).toBe('failed')
    expect(t.app.verifyAudit().entries).toBe(before)

    const out = await api.resumeRuns([failedA.id, done.id, failedB.id, failedA.id])
    // The queue may have started the first already.
    expect(out.runs.map((r) => [r.id, r.state === 'failed', r.attempts])).toEqual([
      [failedA.id, false, 2],
      [failedB.id, false, 2],
    ])
    expect(out.refused.map((r) => [r.runId, r.hostId, r.name, r.message])).toEqual([
      [done.id, c.hostId, 'esx03.lab.local', `run ${done.id} is done, nothing to resume`],
    ])
    await t.app.idle()
    for (const [run, s] of [
      [failedA, a],
      [failedB, b],
    ] as const) {
      expect(t.app.getRun(run.id)).toMatchObject({ state: 'done', attempts: 2 })
      expect(t.app.getHost(s.hostId).state).toBe('configured')
      const said = auditOf(t.app, s.hostId, run.id)
      expect(said.filter((x) => x.endsWith(`run ${run.id} resumed by the operator`))).toHaveLength(
        1,
      )
      expect(said.filter((x) => x.startsWith('Midwife resumed the run'))).toHaveLength(1)
    }
    expect(auditOf(t.app, c.hostId, done.id).join('\n')).not.toContain('resumed')
    expect(t.app.verifyAudit()).toMatchObject({ ok: true })
  })

  it('cancels a running and a queued run in one call, and refuses a finished one', async () => {
    const t = await app({ concurrency: 1 })
    const api = client(t.app)
    const a = await server(t.app, 1)
    const b = await server(t.app, 2)
    const finished = await approveAndWait(t.app, a.hostId)
    a.esx.update((s) =>
      s.faults.push({ match: 'esxcli system hostname get', delayMs: 1_500, slowOnly: true }),
    )
    const running = await approve(t.app, a.hostId)
    const queued = await approve(t.app, b.hostId)
    await until('the run to start', () => t.app.getRun(running.id).state === 'running')
    const untouched = b.esx.logMark()

    await expect(api.cancelRuns([running.id, 12345, 23456])).rejects.toThrow(
      'runs 12345, 23456 do not exist; nothing was changed',
    )
    expect(t.app.getRun(queued.id).state).toBe('queued')

    const out = await api.cancelRuns([finished.id, running.id, queued.id])
    expect(out.runs.map((r) => [r.id, r.state])).toEqual([
      [running.id, 'running'],
      [queued.id, 'cancelled'],
    ])
    expect(out.refused.map((r) => [r.runId, r.hostId, r.name, r.message])).toEqual([
      [finished.id, a.hostId, 'esx01.lab.local', `run ${finished.id} is done, nothing to cancel`],
    ])
    await t.app.idle()
    expect(t.app.getRun(running.id).state).toBe('cancelled')
    expect(t.app.getHost(b.hostId).state).toBe('checked_in')
    expect(b.esx.writesSince(untouched)).toEqual([])
    for (const [hostId, runId] of [
      [a.hostId, running.id],
      [b.hostId, queued.id],
    ]) {
      const said = auditOf(t.app, hostId as number, runId as number)
      expect(said.filter((x) => x === 'the operator cancelled the run')).toHaveLength(1)
    }
    expect(auditOf(t.app, a.hostId, finished.id)).not.toContain('the operator cancelled the run')
  })
})

describe('fan-out', () => {
  it('runs at most the configured number at once', async () => {
    const t = await app()
    await t.app.saveSettings({ ...t.app.getSettings(), runConcurrency: 2 })
    const servers = await Promise.all([1, 2, 3, 4].map((n) => server(t.app, n)))
    for (const s of servers) {
      s.esx.update((st) =>
        st.faults.push({ match: 'esxcli system hostname get', delayMs: 300, slowOnly: true }),
      )
    }
    let running = 0
    let most = 0
    t.app.events.subscribe((event, payload) => {
      if (event !== 'run.changed') return
      const state = (payload as { state: string }).state
      if (state === 'running') running++
      if (['done', 'failed', 'cancelled'].includes(state)) running--
      most = Math.max(most, running)
    })
    for (const s of servers) await approve(t.app, s.hostId)
    await t.app.idle()
    expect(most).toBeLessThanOrEqual(2)
    expect(most).toBeGreaterThan(0)
    for (const s of servers) expect(t.app.getHost(s.hostId).state).toBe('configured')
  })

  it('opens at most the configured number of SSH connections at once; every run still goes', async () => {
    let opening = 0
    let most = 0
    const t = await app({
      handshakes: 2,
      connect: async (o) => {
        opening++
        most = Math.max(most, opening)
        try {
          // A slow key exchange, so the connections would overlap if allowed to.
          await new Promise((r) => setTimeout(r, 150))
          return await EsxSession.connect(o)
        } finally {
          opening--
        }
      },
    })
    const servers = await Promise.all([1, 2, 3, 4, 5].map((n) => server(t.app, n)))
    for (const s of servers) await approve(t.app, s.hostId)
    await t.app.idle()
    expect(most).toBe(2)
    for (const s of servers) expect(t.app.getHost(s.hostId).state).toBe('configured')
  })
})

describe('events', () => {
  it('are deltas that never carry a whole run, and a reconnecting screen catches up from a number', async () => {
    const t = await app()
    const { hostId } = await server(t.app)
    const seen: Array<{ event: string; payload: unknown; seq: number }> = []
    const stop = t.app.events.subscribe((event, payload, seq) => seen.push({ event, payload, seq }))
    const start = t.app.events.lastSeq
    const run = await approveAndWait(t.app, hostId)
    stop()
    for (const e of seen) {
      expect(JSON.stringify(e.payload), e.event).not.toContain('"steps"')
      expect(e.payload, e.event).not.toHaveProperty('plan')
    }
    // A screen that dropped right after `start` asks for what it missed: every
    // run event, and the host once, at its newest event, as it is now.
    const missed = t.app.eventsSince(start)
    expect(missed.complete).toBe(true)
    const lastHostEvent = seen.filter((e) => e.event === 'host.changed').at(-1)
    expect(lastHostEvent).toBeDefined()
    expect(missed.events.map((e) => [e.seq, e.event])).toEqual(
      seen
        .filter((e) => e.event !== 'host.changed' || e === lastHostEvent)
        .map((e) => [e.seq, e.event]),
    )
    expect(missed.events.find((e) => e.event === 'host.changed')?.payload).toEqual(
      t.app.getHost(hostId),
    )
    const text = missed.events
      .filter((e) => e.event === 'run.output')
      .map((e) => (e.payload as { text: string }).text)
      .join('')
    expect(text).toBe(run.steps.map((s) => s.output).join(''))
    // Too far back is said plainly: load everything again.
    expect(t.app.eventsSince(t.app.events.lastSeq + 5).complete).toBe(false)
  })

  it('page through runs and fetch output from a sequence number', async () => {
    const t = await app()
    const { hostId } = await server(t.app)
    const first = await approveAndWait(t.app, hostId)
    const second = await approveAndWait(t.app, hostId)
    const page = t.app.listRuns({ hostId, limit: 1 })
    expect(page).toMatchObject({ more: true, runs: [{ id: second.id }] })
    expect(t.app.listRuns({ hostId, limit: 1, beforeId: second.id }).runs[0]?.id).toBe(first.id)
    const all = t.app.getRunOutput(second.id, 0, 10_000)
    const tail = t.app.getRunOutput(second.id, all[2]?.seq ?? 0, 10_000)
    expect(tail).toEqual(all.slice(3))
  })
})

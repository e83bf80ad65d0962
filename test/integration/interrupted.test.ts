// Midwife killed with SIGKILL in the middle of a run (no handler runs, no
// cleanup): started again on the same data folder, the run and its host say
// "interrupted", not "failed", with the step it stopped in, the output it had
// so far, and when Midwife was last heard from (not when it started again).
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { clockTime } from '../../main/core/clock'
import { sampleHost, tempDir } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { clientScript } from '../support/flow'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

const cleanup: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

function stop(p: ServeProcess) {
  return async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM')
      await p.exited
    }
  }
}

/** A serve process with a run hanging in its DNS step (the host's DNS read takes a minute). */
async function runHangingInDns() {
  const started = await approvedRun(true)
  const { first, run } = started
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await first.api.getRun(run.id)
    if (r.steps.find((s) => s.key === 'dns')?.state === 'running') break
    if (Date.now() > deadline) throw new Error(`the run never reached DNS: ${JSON.stringify(r)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return started
}

/** A serve process with a host checked in and approved; its DNS read hangs for a minute if `hang`. */
async function approvedRun(hang: boolean) {
  const data = tempDir('killed')
  cleanup.push(() => data.remove())
  const esx: SimHost = await createSimHost()
  cleanup.push(() => esx.close())
  const ssh = await esx.startSsh(sampleHost.rootPassword)

  const first = await startServeProcess(data.path)
  cleanup.push(stop(first))
  const host = await first.api.saveHost({
    ...sampleHost,
    mac: esx.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  const { listener } = await first.api.getStatus()
  const checkin = await esx.sh([clientScript], {
    MIDWIFE_URL: listener.advertisedUrl,
    MIDWIFE_TOKEN: /\/ks\/([^/]+)\.cfg$/.exec(
      (await first.api.getBootMaterial(host.id)).kickstartUrl,
    )?.[1] as string,
  })
  expect(checkin.code).toBe(0)
  const plan = await first.api.planHost(host.id)
  if (hang) {
    esx.update((s) =>
      s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 60_000 }),
    )
  }
  const run = await first.api.approveHost(host.id, plan.id)
  return { data, esx, first, host, run }
}

describe('Ctrl+C during a run', () => {
  it('waits for the run and says so; a second Ctrl+C stops at once, and the run is interrupted', async () => {
    const { data, first, host, run } = await runHangingInDns()
    first.child.kill('SIGINT')
    const said = Date.now() + 10_000
    while (!first.output().includes('Stopping: waiting')) {
      if (Date.now() > said) throw new Error(`no word about waiting: ${first.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(first.output()).toContain(
      `Stopping: waiting for run ${run.id} on ${host.name} to finish, so no host is left half configured. Press Ctrl+C again to stop now (the run shows as interrupted, and Resume continues it).`,
    )
    // Still waiting: the run hangs for a minute.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(first.child.exitCode).toBeNull()
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(130)
    expect(first.output()).toContain('Stopped without waiting')

    const second = await startServeProcess(data.path)
    cleanup.push(stop(second))
    expect((await second.api.getRun(run.id)).state).toBe('interrupted')
    expect((await second.api.getHost(host.id)).state).toBe('interrupted')
  })
})

describe('kill -9 during a run', () => {
  it('leaves the host interrupted, with the step it stopped in and when it was last heard from', async () => {
    const { data, esx, first, host, run } = await runHangingInDns()
    const killedAt = new Date().toISOString()
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startServeProcess(data.path)
    cleanup.push(stop(second))
    const r = await second.api.getRun(run.id)
    expect(r.state).toBe('interrupted')
    // It ended when Midwife was last heard from (the DNS read it was waiting on), not when
    // Midwife started again: the run's and the step's times say how long it really ran.
    const dns = r.steps.find((s) => s.key === 'dns')
    const lastSeen = r.finishedAt as string
    expect(lastSeen <= killedAt, `${lastSeen} is after the kill at ${killedAt}`).toBe(true)
    expect(lastSeen >= (dns?.startedAt as string)).toBe(true)
    expect(dns?.finishedAt).toBe(lastSeen)
    const heard = `last heard from at ${clockTime(lastSeen)}`
    expect(r.error).toBe(`Midwife stopped during this run (${heard}, in step "DNS servers")`)
    expect(dns?.error).toBe(`Midwife stopped during this step (${heard})`)

    const after = await second.api.getHost(host.id)
    expect(after.state).toBe('interrupted')
    expect(after.stateReason).toBe(
      `Midwife stopped during run ${run.id}, in step "DNS servers" (${heard})`,
    )
    expect(after.approve.allowed).toBe(true)
    // The audit trail names the step as the screens do, never by its key.
    const said = (await second.api.hostAudit(host.id)).map((e) => e.summary)
    expect(said).toContain(`Midwife stopped during the run (${heard}, in step "DNS servers")`)
    expect(r.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'interrupted'],
      ['ntp', 'pending'],
    ])
    expect(r.steps.find((s) => s.key === 'dns')?.output).toContain(
      '$ esxcli network ip dns server list',
    )

    // Resumed: from the step it stopped in, and nothing is applied twice.
    esx.update((s) => (s.faults = []))
    const resumed = await second.api.resumeRun(run.id)
    expect(resumed.attempts).toBe(2)
    expect(['queued', 'running']).toContain(resumed.state)
    const until = Date.now() + 30_000
    let final = await second.api.getRun(run.id)
    while (final.state === 'queued' || final.state === 'running') {
      if (Date.now() > until)
        throw new Error(`the resumed run did not end: ${JSON.stringify(final)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      final = await second.api.getRun(run.id)
    }
    expect(final.error).toBeNull()
    expect(final.steps.map((s) => [s.key, s.state])).toEqual([
      ['connect', 'done'],
      ['hostname', 'done'],
      ['dns', 'done'],
      ['ntp', 'done'],
    ])
    expect((await second.api.getHost(host.id)).state).toBe('configured')
    const writes = esx.writesSince(0)
    expect(writes.length).toBeGreaterThan(0)
    expect(new Set(writes).size, `a write ran twice: ${writes.join(' | ')}`).toBe(writes.length)
    expect(writes.filter((w) => w.startsWith('esxcli system hostname set'))).toHaveLength(1)
    // The report's approval of this run is the one with its plan, not the resume's.
    const report = JSON.parse((await second.api.hostReport(host.id, 'json')).content) as {
      approvals: Array<{ runId: number; planId: string | null }>
    }
    expect(report.approvals.filter((a) => a.runId === run.id)).toEqual([
      expect.objectContaining({ planId: expect.any(String) as string }),
    ])
  })
})

describe('kill -9 as a run ends', () => {
  it('leaves no host configuring with no run: one whose end was not recorded is interrupted', async () => {
    const { data, first, host, run } = await approvedRun(false)
    const until = Date.now() + 60_000
    while ((await first.api.getRun(run.id)).state !== 'done') {
      if (Date.now() > until) throw new Error(`the run did not end: ${first.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect((await first.api.getHost(host.id)).state).toBe('configured')
    first.child.kill('SIGKILL')
    await first.exited
    // What a kill between the run's end and its host's move left before they were one
    // transaction (a data folder from that build): the run done, its host still configuring.
    const db = new Database(join(data.path, 'midwife.db'))
    db.prepare("UPDATE hosts SET state = 'configuring' WHERE id = ?").run(host.id)
    db.close()

    const second = await startServeProcess(data.path)
    cleanup.push(stop(second))
    expect((await second.api.getRun(run.id)).state).toBe('done')
    const after = await second.api.getHost(host.id)
    expect(after.state).toBe('interrupted')
    expect(after.stateReason).toBe(
      `Midwife stopped as run ${run.id} ended (done), before the host's state was recorded: approve it again to check it`,
    )
    expect(after.approve.allowed).toBe(true)
  })
})

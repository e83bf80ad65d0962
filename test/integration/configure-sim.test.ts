// Approve -> configure over a real SSH session against the in-process ssh2
// simulator of ESXi 8 (keyboard-interactive only, RSA/ECDSA host keys), whose
// state the shims and the check-in client share.
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Run } from '../../main/contract/schemas'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { generateHostKeys } from '../esxi-sim/shims'
import { rmSync } from 'node:fs'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approve, approveAndWait, checkIn } from '../support/flow'

let t: TestApp | undefined
let esx: SimHost | undefined

afterEach(async () => {
  await t?.close()
  await esx?.close()
  t = esx = undefined
})

async function setup(opts: { password?: string; app?: Parameters<typeof startTestApp>[0] } = {}) {
  t = await startTestApp(opts.app)
  esx = await createSimHost({ dns: { servers: ['10.0.0.3', '8.8.8.8'], search: [] } })
  const ssh = await esx.startSsh(opts.password ?? sampleHost.rootPassword)
  const host = t.app.saveHost({
    ...sampleHost,
    mac: esx.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  const checkinId = await checkIn(t.app, esx, host)
  return { t, esx, ssh, host, checkinId, logBefore: esx.state().log.length }
}

const states = (run: Run) => Object.fromEntries(run.steps.map((s) => [s.key, s.state]))

describe('configuration over SSH (ssh2 simulator)', () => {
  it('sets hostname, DNS and NTP, verifying each by reading it back, and streams every step', async () => {
    const { t, esx, host } = await setup()
    const seen: Array<{ event: string; payload: Record<string, unknown> }> = []
    t.app.events.subscribe((event, payload) => seen.push({ event, payload: payload }))

    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    expect(run.state).toBe('done')
    expect(states(run)).toEqual({ connect: 'done', hostname: 'done', dns: 'done', ntp: 'done' })

    const sim = esx.state()
    expect([sim.hostname, sim.domain]).toEqual(['esx01', 'lab.local'])
    expect(sim.dns.servers).toEqual(['10.0.0.2', '10.0.0.3'])
    expect(sim.ntp).toEqual({ enabled: true, servers: ['0.pool.ntp.org', '10.0.0.5'] })
    expect(sim.firewall.rulesets.ntpClient).toBe(true)

    const hostname = run.steps.find((s) => s.key === 'hostname')
    expect(hostname?.output).toContain('current: localhost; wanted: esx01.lab.local')
    expect(hostname?.output).toContain(
      '$ esxcli system hostname set --host=esx01 --domain=lab.local',
    )
    expect(hostname?.output).toContain('verified: esx01.lab.local')
    // [10.0.0.3, 8.8.8.8] cannot become [10.0.0.2, 10.0.0.3] by appending: rebuilt in order.
    expect(run.steps.find((s) => s.key === 'dns')?.output).toContain(
      '$ esxcli network ip dns server remove --all',
    )

    // Live, as deltas: step states and output chunks that add up to the stored output,
    // and the run's header last; never a whole run.
    const of = (name: string) => seen.filter((e) => e.event === name).map((e) => e.payload)
    const stepStates = new Map(of('run.step').map((d) => [d.key, d.state]))
    expect(Object.fromEntries(stepStates)).toEqual(states(run))
    for (const step of run.steps) {
      const text = of('run.output')
        .filter((c) => c.stepId === step.id)
        .map((c) => c.text as string)
        .join('')
      expect(text, step.key).toBe(step.output)
    }
    expect(of('run.changed').at(-1)).toMatchObject({ id: run.id, state: 'done' })
    for (const e of seen) expect(e.payload, e.event).not.toHaveProperty('steps')
  })

  it('changes nothing on a second run: every value is already right', async () => {
    const { t, esx, host } = await setup()
    await approveAndWait(t.app, host.id)
    const before = esx.state().log.length
    const again = await approveAndWait(t.app, host.id)
    expect(again.state).toBe('done')
    for (const key of ['hostname', 'dns', 'ntp']) {
      expect(again.steps.find((s) => s.key === key)?.output, key).toMatch(
        /^already .*; nothing to change$/m,
      )
    }
    const commands = esx.state().log.slice(before)
    expect(commands.filter((c) => / (set|add|remove) /.test(c))).toEqual([])
  })

  it('keeps the root password out of step output, events, the audit log and the app log', async () => {
    const { t, host } = await setup()
    const events: string[] = []
    t.app.events.subscribe((e, p) => events.push(JSON.stringify(p)))
    const run = await approveAndWait(t.app, host.id)
    const db = new Database(join(t.dataDir, 'midwife.db'), { readonly: true })
    const everything = [
      JSON.stringify(run),
      ...events,
      ...t.logger.lines,
      JSON.stringify(db.prepare('SELECT * FROM events').all()),
      JSON.stringify(db.prepare('SELECT * FROM run_steps').all()),
      JSON.stringify(db.prepare('SELECT payload, report FROM checkins').all()),
    ].join('\n')
    db.close()
    expect(everything).not.toContain(sampleHost.rootPassword)
  })

  it('fails cleanly on a wrong password: not even the plan is made, nothing runs', async () => {
    const { t, esx, host, logBefore } = await setup({ password: 'the-real-one' })
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /^cannot plan esx01\.lab\.local: SSH login as root@127\.0\.0\.1:\d+ was refused: wrong password or user \(keyboard-interactive\)\. Set the host's root password under Hosts, Edit; ESXi locks root out after repeated failed logins$/,
    )
    // Audited, as each refused login counts on the host.
    expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContainEqual(
      expect.stringMatching(
        /^Midwife could not plan it: SSH login as root@.* was refused: wrong password/,
      ),
    )
    expect(t.app.listRuns({ limit: 200 }).runs).toEqual([])
    expect(esx.state().log.length).toBe(logBefore)
    expect(esx.state().hostname).toBe('localhost')
  })

  it('refuses a host key the check-in did not report: nothing runs on the host', async () => {
    const { t, esx, ssh, host, logBefore } = await setup()
    // The machine answering SSH is not the one that checked in: new host keys.
    await ssh.close()
    rmSync(esx.keyDir, { recursive: true })
    generateHostKeys(esx.keyDir)
    const impostor: SimSshServer = await esx.startSsh(sampleHost.rootPassword)
    t.app.saveHost({
      ...sampleHost,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: impostor.port,
    })

    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /^cannot plan esx01\.lab\.local: the SSH host key presented by 127\.0\.0\.1:\d+ \(SHA256:[\w+/]+\) is not one bound to this host \(SHA256:.+\); refusing to log in\. If the server was reinstalled, run its check-in again \(or use Reinstall\) so Midwife compares what it reports; otherwise another machine answers at this address$/,
    )
    expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContainEqual(
      expect.stringMatching(/^Midwife could not plan it: the SSH host key presented by /),
    )
    expect(t.app.listRuns({ limit: 200 }).runs).toEqual([])
    expect(esx.state().log.length).toBe(logBefore)
  })

  it('reports a failing esxcli command with what the host said, and stops there', async () => {
    const { t, esx, host } = await setup()
    // NTP names must resolve on ESXi; this host resolves none.
    esx.update((s) => (s.resolvableNames = []))
    const run = await approveAndWait(t.app, host.id)
    expect(states(run)).toEqual({ connect: 'done', hostname: 'done', dns: 'done', ntp: 'failed' })
    expect(run.error).toMatch(
      /^`esxcli system ntp set -s 0\.pool\.ntp\.org -s 10\.0\.0\.5` failed \(exit 1\): .*0\.pool\.ntp\.org/,
    )
    expect(esx.state().ntp.servers).toEqual([])
  })

  it('leaves a run of the installation before a reinstall in history, not current and not resumable', async () => {
    const { t, esx, host } = await setup()
    esx.update((s) => (s.resolvableNames = []))
    const failed = await approveAndWait(t.app, host.id)
    expect(failed.state).toBe('failed')
    expect(t.app.getHost(host.id).lastRunId).toBe(failed.id)

    t.app.reinstallHost(host.id)
    const rearmed = t.app.getHost(host.id)
    expect(rearmed.state).toBe('defined')
    // The table's Run column and the bulk Resume follow the current run: there is none.
    expect(rearmed.lastRunId).toBeNull()
    expect(t.app.latestRuns().map((r) => r.id)).not.toContain(failed.id)
    expect(() => t.app.resumeRun(failed.id)).toThrow(
      `run ${failed.id} configured the installation before esx01.lab.local was re-armed for a reinstall: approve a new plan instead`,
    )
    // Still in the host's history, marked.
    const [old] = t.app.listRuns({ hostId: host.id, limit: 10 }).runs
    expect(old?.id).toBe(failed.id)
    expect(old?.supersededAt).not.toBeNull()

    // The new installation checks in and is configured: that run is current.
    esx.update((s) => (s.resolvableNames = null))
    await checkIn(t.app, esx, host)
    const next = await approveAndWait(t.app, host.id)
    expect(next.state).toBe('done')
    expect(t.app.getHost(host.id).lastRunId).toBe(next.id)
    expect(t.app.latestRuns().find((r) => r.hostId === host.id)?.id).toBe(next.id)
  })

  it('says so, in the step and the audit, where the host changed between the plan and the run', async () => {
    const { t, esx, host } = await setup()
    const plan = await t.app.planHost(host.id)
    expect(plan.items.find((i) => i.key === 'dns')?.status).toBe('change')
    // Someone sets the DNS servers by hand before the plan is approved.
    esx.update((s) => (s.dns.servers = ['10.0.0.2', '10.0.0.3']))
    const run = t.app.approveHost(host.id, plan.id)
    await t.app.idle()
    const done = t.app.getRun(run.id)
    expect(done.state).toBe('done')
    const dns = done.steps.find((s) => s.key === 'dns')?.output ?? ''
    expect(dns).toMatch(
      /^not as planned: the plan read 10\.0\.0\.3, 8\.8\.8\.8 here and planned `esxcli network ip dns server remove --all`, .*; the host now reads 10\.0\.0\.2, 10\.0\.0\.3, so Midwife does what it needs now\n/m,
    )
    expect(dns).toContain('already 10.0.0.2, 10.0.0.3; nothing to change')
    // A step as planned says nothing of the kind.
    expect(done.steps.find((s) => s.key === 'hostname')?.output).not.toContain('not as planned')
    expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContainEqual(
      expect.stringMatching(
        /^step "DNS servers" did not run as planned, as the host had changed since its plan: planned esxcli network ip dns server remove --all, .*; ran nothing$/,
      ),
    )
  })

  it('times out a command that does not answer', async () => {
    const { t, esx, host } = await setup({ app: { commandTimeoutMs: 800 } })
    const plan = await t.app.planHost(host.id)
    esx.update((s) => s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 5000 }))
    t.app.approveHost(host.id, plan.id)
    await t.app.idle()
    const run = t.app.getRun(t.app.listRuns({ limit: 1 }).runs[0]?.id as number)
    expect(states(run)).toMatchObject({ hostname: 'done', dns: 'failed', ntp: 'skipped' })
    expect(run.error).toMatch(
      /^`esxcli network ip dns server list`: 127\.0\.0\.1:\d+ gave no answer within 0\.8 s, so the command may have run; check the host answers, then Retry: Midwife reads the host again before it changes anything$/,
    )
  })

  it('says the SSH session ended, not that the command failed, when the connection goes under it', async () => {
    const { t, esx, host } = await setup({ app: {} })
    esx.update((s) => {
      s.quirks.sshStopSessions = 'reset'
      s.faults.push({ match: 'esxcli network ip dns server add', delayMs: 2_000, slowOnly: true })
    })
    const run = await approve(t.app, host.id)
    const deadline = Date.now() + 20_000
    while (!esx.state().log.some((l) => l.startsWith('esxcli network ip dns server add'))) {
      if (Date.now() > deadline) throw new Error('the DNS step never ran')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    esx.update((s) => (s.services.ssh.running = false))
    await t.app.idle()
    const ended = t.app.getRun(run.id)
    expect(states(ended)).toMatchObject({ hostname: 'done', dns: 'failed', ntp: 'skipped' })
    expect(ended.error).toMatch(
      /^`esxcli network ip dns server add --server=10\.0\.0\.2`: the SSH session to 127\.0\.0\.1:\d+ ended while the command ran.*, so it may have run; check the host answers, then Retry/,
    )
  })

  it('says so when the host cannot be reached', async () => {
    const { t, ssh, host } = await setup()
    await ssh.close()
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /^cannot plan esx01\.lab\.local: cannot reach 127\.0\.0\.1:\d+: connection refused: SSH is off on the host \(ESXi turns it off at install, .*\), or it listens on another port \(Hosts, Edit: SSH port\)$/,
    )
  })

  it('names the setting and where its value comes from when the host cannot take it', async () => {
    const { t, esx, host, logBefore } = await setup()
    // The site profile's vSwitch wants an uplink this host does not have.
    t.app.saveProfile({
      spec: { vswitches: [{ name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic7'], standby: [] }] },
    })
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      'cannot plan esx01.lab.local: Standard vSwitches (site profile): vmnic7 is not a physical NIC on this host (it has vmnic0, vmnic1); change it in the site profile, or give this host its own on the Hosts step',
    )
    expect(
      esx
        .state()
        .log.slice(logBefore)
        .filter((c) => / (set|add|remove) /.test(c)),
    ).toEqual([])
  })

  it('refuses to start a second run while one is in progress', async () => {
    const { t, host } = await setup()
    await approve(t.app, host.id)
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /cannot plan esx01\.lab\.local: a run is in progress/,
    )
    await t.app.idle()
  })
})

// A configured host whose wanted values change afterwards (the site profile, or its own
// definition) stays configured, as verified then, and says what changed and what to do,
// until a run applies it.
describe('a configured host whose values change afterwards', () => {
  it('says a configured host is behind its profile or definition, until its next run', async () => {
    const { t, ssh, host } = await setup()
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    const configured = t.app.getHost(host.id)
    expect(configured.state).toBe('configured')

    expect(configured.waiting).toEqual([])
    // A profile value the host does not override.
    t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason:
        'configured by its last run; the site profile has changed DNS search domains since: approve it again to apply it',
      waiting: [{ key: 'dnsSearch', title: 'DNS search domains' }],
    })
    // The list says it too, for every table.
    expect(
      t.app
        .listHosts()
        .find((h) => h.id === host.id)
        ?.waiting.map((w) => w.key),
    ).toEqual(['dnsSearch'])
    // Its own definition.
    const { rootPassword: _kept, ...noPassword } = sampleHost
    t.app.saveHost({
      ...noPassword,
      id: host.id,
      mac: configured.definition?.mac as string,
      sshPort: ssh.port,
      spec: { ...sampleHost.spec, dns: ['10.0.0.2'] },
    })
    // The profile's change still waits too: the note names both.
    expect(t.app.getHost(host.id).stateReason).toBe(
      'configured by its last run; its definition has changed DNS servers since, and DNS search domains before: approve it again to apply them',
    )
    expect(t.app.getHost(host.id).waiting.map((w) => w.key)).toEqual(['dns', 'dnsSearch'])
    expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContain(
      'its wanted values changed since its last run (its definition: DNS servers): it stays configured as verified then',
    )
    // A change that is no change says nothing.
    const before = t.app.getHost(host.id).stateReason
    t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })
    expect(t.app.getHost(host.id).stateReason).toBe(before)

    // Its own DNS servers back as the run applied them: only the profile's change waits.
    t.app.saveHost({
      ...noPassword,
      id: host.id,
      mac: configured.definition?.mac as string,
      sshPort: ssh.port,
    })
    expect(t.app.getHost(host.id)).toMatchObject({
      stateReason:
        'configured by its last run; its definition has changed DNS servers back to what it applied; DNS search domains changed before: approve it again to apply it',
      waiting: [{ key: 'dnsSearch', title: 'DNS search domains' }],
    })
    // And the profile's too: nothing waits, and the note says so.
    t.app.saveProfile({ spec: {} })
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason:
        'configured by its last run; the site profile has changed DNS search domains back to what it applied: nothing waits for approval',
      waiting: [],
    })
    expect(t.app.hostAudit(host.id).map((e) => e.summary)).toContain(
      'its wanted values are again what its last run applied (the site profile: DNS search domains back)',
    )

    // A CSV import that changes it is noted like a form: its DNS servers, from the file.
    const csv = t.app.exportHostsCsv().content
    const imported = csv.replace(
      /10\.0\.0\.2([ ;,]+)10\.0\.0\.3/,
      (_, sep: string) => `10.0.0.9${sep}10.0.0.3`,
    )
    expect(imported).not.toBe(csv)
    const preview = t.app.previewCsvImport(imported)
    t.app.importCsv(imported, { confirm: true, digest: preview.digest })
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason:
        'configured by its last run; its definition has changed DNS servers since: approve it again to apply it',
      waiting: [{ key: 'dns', title: 'DNS servers' }],
    })
    t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })

    // Its next run applies them, and the host is simply configured again.
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    expect(t.app.getHost(host.id).stateReason).toMatch(/every setting applied and verified$/)
  })

  it('saves a profile and the notes on the hosts it leaves behind together, or neither', async () => {
    const { t, host } = await setup()
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    const before = t.app.getProfile()
    const reason = t.app.getHost(host.id).stateReason
    // The database refuses the note on the configured host, as it would on a full disk.
    const db = new Database(join(t.dataDir, 'midwife.db'))
    db.exec(`CREATE TRIGGER full BEFORE INSERT ON events WHEN NEW.type = 'host.outdated'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
    expect(() => t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } })).toThrow(
      'database or disk is full',
    )
    db.exec('DROP TRIGGER full')
    db.close()
    // Told it failed, the operator finds the profile as it was, not saved behind the error.
    expect(t.app.getProfile()).toEqual(before)
    expect(t.app.getHost(host.id)).toMatchObject({ stateReason: reason, waiting: [] })
  })

  it('takes a secret typed again as it is for no change: in the profile and in its own definition', async () => {
    const LICENCE = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    const OTHER = 'ZZ12C-3DE45-F6G7H-8JK9L-0MN1P'
    const { t, ssh, host } = await setup()
    t.app.saveProfile({ spec: { licence: LICENCE } })
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    const configured = t.app.getHost(host.id)
    const sealed = t.app.store.settings.profile().spec.licence

    // The same key typed again (in lower case: the setting reads it in capitals).
    expect(t.app.previewProfile({ spec: { licence: LICENCE.toLowerCase() } }).changes).toEqual([])
    t.app.saveProfile({ spec: { licence: LICENCE.toLowerCase() } })
    expect(t.app.store.settings.profile().spec.licence).toEqual(sealed)
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason: configured.stateReason,
      waiting: [],
    })
    // Another key is a change.
    expect(t.app.previewProfile({ spec: { licence: OTHER } }).changes).toEqual([
      { hostId: host.id, name: host.name, keys: ['licence'] },
    ])

    // Its own key: applied by a run, then typed again in the host form.
    const { rootPassword: _kept, ...noPassword } = sampleHost
    const own = {
      ...noPassword,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: ssh.port,
      spec: { ...sampleHost.spec, licence: OTHER },
    }
    t.app.saveHost(own)
    expect(t.app.getHost(host.id).waiting.map((w) => w.key)).toEqual(['licence'])
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    const reconfigured = t.app.getHost(host.id)
    t.app.saveHost(own)
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason: reconfigured.stateReason,
      waiting: [],
    })

    // Comparing them opened nothing into the audit trail or the log.
    const trail = JSON.stringify(t.app.store.events.list(10_000))
    for (const key of [LICENCE, OTHER]) {
      expect(trail).not.toContain(key)
      expect(t.logger.lines.join('\n')).not.toContain(key)
    }
  })

  it('says so when its definition was saved during the run: the run applied what was approved', async () => {
    const { t, esx, ssh, host } = await setup()
    // The DNS step waits a moment, so the edit lands while the run is in progress.
    esx.update((s) =>
      s.faults.push({ match: 'esxcli network ip dns server list', delayMs: 800, slowOnly: true }),
    )
    const run = await approve(t.app, host.id)
    const { rootPassword: _kept, ...noPassword } = sampleHost
    const edited = t.app.saveHost({
      ...noPassword,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: ssh.port,
      spec: { ...sampleHost.spec, dns: ['10.0.0.9'] },
    })
    expect(['approved', 'configuring']).toContain(edited.state)
    await t.app.idle()
    expect(t.app.getRun(run.id).state).toBe('done')
    expect(esx.state().dns.servers).toEqual(['10.0.0.2', '10.0.0.3'])
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'configured',
      stateReason:
        'configured by its last run; a change saved during the run has changed DNS servers since: approve it again to apply it',
      waiting: [{ key: 'dns', title: 'DNS servers' }],
    })
  })

  it('says what a failed run would not use: an edit after it waits for approval, not for Retry', async () => {
    const { t, esx, ssh, host } = await setup()
    // NTP names must resolve on ESXi; this host resolves none yet.
    esx.update((s) => (s.resolvableNames = []))
    const failed = await approveAndWait(t.app, host.id)
    expect(failed.state).toBe('failed')
    expect(t.app.getHost(host.id).waiting).toEqual([])
    const { rootPassword: _kept, ...noPassword } = sampleHost
    t.app.saveHost({
      ...noPassword,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: ssh.port,
      spec: { ...sampleHost.spec, ntp: { servers: ['10.0.0.5'], enabled: true } },
    })
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'failed',
      waiting: [{ key: 'ntp', title: 'NTP' }],
    })
  })
})

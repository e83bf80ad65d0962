// The settings whose effect reaches the SSH login itself, over a real SSH session to the ssh2
// simulator (keyboard-interactive, real BusyBox ash for shell syntax): a rotated root password
// must be the one the next login takes, custom steps run their lines under ash with values inert,
// and turning SSH off leaves nothing listening.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { customSteps } from '../../main/catalogue/settings/custom-steps'
import { rootPassword } from '../../main/catalogue/settings/root-password'
import { sshOffAfterRun } from '../../main/catalogue/settings/ssh-off-after-run'
import type { AnySetting, PlanContext } from '../../main/catalogue/types'
import { applySetting, CachedReader, planSetting } from '../../main/core/configure/apply'
import { EsxSession } from '../../main/core/configure/ssh'
import { parsePublicKeyLine } from '../../main/core/esxi/ssh-keys'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import type { HostInput, ProfileInput } from '../../main/contract/schemas'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import type { SimOverrides } from '../esxi-sim/state'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

const OLD = 'Old-pass-77x'
const NEW = 'Vq7-tb2Lw!9k'

let esx: SimHost | undefined
const sessions: EsxSession[] = []
const apps: TestApp[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close()
  for (const t of apps.splice(0)) await t.close()
  await esx?.close()
  esx = undefined
})

/**
 * A Midwife whose site profile is `profile`, with one simulated host (SSH at sampleHost's
 * password) defined with `spec` added to sampleHost's, and checked in.
 */
async function checkedIn(
  o: { sim?: SimOverrides; profile?: ProfileInput['spec']; spec?: HostInput['spec'] } = {},
) {
  const t = await startTestApp()
  apps.push(t)
  const e = await createSimHost(o.sim)
  esx = e
  const ssh = await e.startSsh(sampleHost.rootPassword)
  if (o.profile) t.app.saveProfile({ spec: o.profile })
  const host = t.app.saveHost({
    ...sampleHost,
    spec: { ...sampleHost.spec, ...o.spec },
    mac: e.state().nics[0]?.mac as string,
    sshPort: ssh.port,
  })
  await checkIn(t.app, e, host)
  return { t, esx: e, ssh, host }
}

async function start(): Promise<{ esx: SimHost; ssh: SimSshServer }> {
  esx = await createSimHost()
  return { esx, ssh: await esx.startSsh(OLD) }
}

async function login(e: SimHost, ssh: SimSshServer, password: string): Promise<EsxSession> {
  const session = await EsxSession.connect({
    host: ssh.host,
    port: ssh.port,
    username: 'root',
    password,
    trustedFingerprints: [e.hostKeys.ecdsa, e.hostKeys.rsa].map(
      (k) => parsePublicKeyLine(k.publicLine).fingerprint,
    ),
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 20_000,
  })
  sessions.push(session)
  return session
}

function apply(session: EsxSession, setting: AnySetting, raw: unknown, ctx: PlanContext) {
  const out: string[] = []
  const result = applySetting(
    session,
    new CachedReader(session, ctx.version),
    setting,
    setting.value.parse(raw),
    ctx,
    (t) => out.push(t),
  )
  return { result, out }
}

const context = (e: SimHost, extra: Partial<PlanContext> = {}): PlanContext => ({
  hostname: 'esx01',
  domain: 'lab.local',
  address: '127.0.0.1',
  version: e.state().version.version,
  ...extra,
})

describe('catalogue settings over SSH', () => {
  it('logs in with keyboard-interactive only, never wasting an attempt on the password method ESXi does not offer', async () => {
    const { esx, ssh } = await start()
    await login(esx, ssh, OLD)
    expect(ssh.authAttempts()).toEqual(['none', 'keyboard-interactive'])
    // A wrong password: one keyboard-interactive try, then no other method.
    await expect(login(esx, ssh, 'Wrong-pw-7x')).rejects.toThrow(/refused: wrong password/)
    expect(ssh.authAttempts()).toEqual([
      'none',
      'keyboard-interactive',
      'none',
      'keyboard-interactive',
    ])
  })

  it('logs in when a refused attempt names no method to go on with (esxi.md does not say)', async () => {
    esx = await createSimHost()
    const ssh = await esx.startSsh(OLD, { listMethods: false })
    const session = await login(esx, ssh, OLD)
    expect((await session.exec('esxcli system hostname get')).code).toBe(0)
    // Still never the password method the server did not offer, and one try only.
    expect(ssh.authAttempts()).toEqual(['none', 'keyboard-interactive'])
    await expect(login(esx, ssh, 'Wrong-pw-7x')).rejects.toThrow(/refused: wrong password/)
    expect(ssh.authAttempts().slice(2)).toEqual(['none', 'keyboard-interactive'])
  })

  it('rotates the root password: the next login takes the new one, not the old one, and a re-run plans nothing', async () => {
    const { esx, ssh } = await start()
    const ctx = context(esx, { loginPassword: OLD })
    const { result, out } = apply(await login(esx, ssh, OLD), rootPassword, NEW, ctx)
    expect(await result).toMatchObject({ relogin: true })
    expect(out.join('')).not.toContain(NEW)
    expect(ctx.loginPassword).toBe(NEW)

    // What the run engine does on `relogin`: log in with the new password before forgetting the old.
    await expect(login(esx, ssh, OLD)).rejects.toThrow(/refused: wrong password/)
    const again = await login(esx, ssh, ctx.loginPassword as string)
    const plan = await planSetting(
      new CachedReader(again, ctx.version),
      rootPassword,
      NEW,
      context(esx, { loginPassword: NEW }),
    )
    expect(plan.changes).toEqual([])
  })

  it('runs custom step lines under ash with shell syntax, values staying inert', async () => {
    const { esx, ssh } = await start()
    // Redirections and builtins only: ESXi's PATH has no touch.
    const hostname = "x'$(echo >pwned)`echo >pwned2`"
    const step = {
      name: 'Logs per host',
      lines: [
        'esxcli system syslog config set --logdir=/scratch/log/${hostname} && esxcli system syslog reload',
      ],
      check: "esxcli system syslog config get | grep 'Local Log Output:'",
      expect: '/scratch/log/${hostname}$',
    }
    const ctx = context(esx, { hostname })
    const session = await login(esx, ssh, OLD)
    const mark = esx.logMark()
    await apply(session, customSteps, [step], ctx).result
    expect(esx.state().syslog.logDir).toBe(`/scratch/log/${hostname}`)
    expect(esx.writesSince(mark)).toEqual([
      `esxcli system syslog config set --logdir=/scratch/log/${hostname}`,
      'esxcli system syslog reload',
    ])
    expect(existsSync(join(esx.dir, 'pwned'))).toBe(false)
    expect(existsSync(join(esx.dir, 'pwned2'))).toBe(false)

    const second = esx.logMark()
    expect(await apply(session, customSteps, [step], ctx).result).toMatchObject({ writes: 0 })
    expect(esx.writesSince(second)).toEqual([])
  })

  it.each(['keep', 'reset'] as const)(
    'a run that turns SSH off ends done whether stopping sshd keeps open sessions or not (%s)',
    async (sshStopSessions) => {
      const { t, esx, ssh, host } = await checkedIn({
        sim: { quirks: { sshStopSessions } },
        profile: { sshOffAfterRun: true },
      })
      const run = await approveAndWait(t.app, host.id)
      expect(run.error).toBeNull()
      expect(run.state).toBe('done')
      expect(esx.state().services.ssh).toEqual({ enabled: false, running: false })
      const said = run.steps.find((x) => x.key === 'sshOffAfterRun')?.output ?? ''
      if (sshStopSessions === 'keep') expect(said).toContain('verified: SSH off')
      else
        expect(said).toMatch(
          new RegExp(
            `the session ended as SSH stopped \\(.*\\); a new SSH connection to ${ssh.host}:${ssh.port} is refused: SSH is off`,
          ),
        )
    },
  )

  it('resumes a run that rotated the root password and then failed, logging in with the new one', async () => {
    const { t, esx, host } = await checkedIn({
      profile: { rootPassword: NEW, sshOffAfterRun: true },
    })
    // The step after the rotation fails: the host now takes only the new password.
    esx.update((s) =>
      s.faults.push({ match: 'vim-cmd hostsvc/disable_ssh', stdout: 'busy', code: 1 }),
    )
    const failed = await approveAndWait(t.app, host.id)
    expect(failed.state).toBe('failed')
    expect(failed.steps.find((x) => x.key === 'rootPassword')?.state).toBe('done')
    expect(esx.state().rootPassword).toBe(NEW)

    esx.update((s) => (s.faults = []))
    t.app.resumeRun(failed.id)
    await t.app.idle()
    const resumed = t.app.getRun(failed.id)
    expect(resumed.error).toBeNull()
    expect(resumed.state).toBe('done')
    expect(esx.state().services.ssh.running).toBe(false)
  })

  it('masks a licence key the host prints back in another case, wherever the failure is told', async () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    const { t, esx, host } = await checkedIn({ spec: { licence: key } })
    // esxi.md gives no words for a refused key: this host quotes it, in its own case.
    esx.update((s) =>
      s.faults.push({
        match: 'vim-cmd vimsvc/license --set',
        stdout: `Error: license key ${key.toLowerCase()} is not valid for this product\n`,
        code: 1,
      }),
    )
    const failed = await approveAndWait(t.app, host.id)
    expect(failed.state).toBe('failed')
    expect(failed.error).toBe(
      '`vim-cmd vimsvc/license --set ********` failed (exit 1): Error: license key ******** is not valid for this product',
    )
    const told = [
      JSON.stringify(failed),
      JSON.stringify(t.app.getHost(host.id)),
      JSON.stringify(t.app.hostAudit(host.id)),
      t.logger.lines.join('\n'),
    ].join('\n')
    expect(told.toUpperCase()).not.toContain(key)
  })

  it('masks the licence key in any step that prints it, also when the licence step has nothing to change', async () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    // The host already holds the key, so the licence step runs no command that carries it.
    const { t, esx, host } = await checkedIn({
      sim: { licenseKey: key },
      spec: { licence: key },
      profile: {
        customSteps: [
          {
            name: 'Licence assigned',
            lines: ['vim-cmd vimsvc/license --show'],
            check: 'vim-cmd vimsvc/license --show',
            expect: '^\\s*serial:',
          },
          {
            name: 'CEIP off, licence shown',
            lines: ['esxcli system settings advanced set -o /UserVars/HostClientCEIPOptIn -i 2'],
            check:
              'vim-cmd vimsvc/license --show; esxcli system settings advanced list -o /UserVars/HostClientCEIPOptIn',
            expect: '^\\s*Int Value: 2$',
          },
        ],
      },
    })
    // A check that does not match yet: the plan shows what it printed.
    esx.update((s) => (s.advanced['/UserVars/HostClientCEIPOptIn'] = 0))
    const plan = await t.app.planHost(host.id)
    expect(plan.items.find((i) => i.key === 'customSteps')?.current).toContain('serial: ********')
    expect(JSON.stringify(plan)).not.toContain(key)
    const run = await approveAndWait(t.app, host.id)
    expect(run.state).toBe('done')
    const custom = run.steps.find((x) => x.key === 'customSteps')
    expect(custom?.output).toContain("$ sh -c 'vim-cmd vimsvc/license --show'")
    expect(custom?.output).toContain('serial: ********')
    const told = [
      JSON.stringify(run),
      JSON.stringify(t.app.hostAudit(host.id)),
      t.app.hostReport(host.id, 'html').content,
      t.logger.lines.join('\n'),
    ].join('\n')
    expect(told).not.toContain(key)
  })

  it('masks the secrets of the spec written into a custom step: in the plan, the run, the audit and the report', async () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    // The operator wrote the licence key and the new root password into a step's text: no
    // command of the step marks them as secret, yet they are the spec's secrets.
    const { t, esx, host } = await checkedIn({
      spec: { licence: key },
      profile: {
        rootPassword: NEW,
        customSteps: [
          {
            name: 'Welcome names the licence',
            lines: [
              `test -n '${NEW}' && esxcli system settings advanced set -o /UserVars/HostClientWelcomeMessage -s 'licence ${key.toLowerCase()}'`,
            ],
            check: 'esxcli system settings advanced list -o /UserVars/HostClientWelcomeMessage',
            expect: `String Value: licence ${key.toLowerCase()}$`,
          },
        ],
      },
    })
    const plan = await t.app.planHost(host.id)
    const custom = plan.items.find((i) => i.key === 'customSteps')
    expect(custom?.changes[0]?.commands).toEqual([
      "sh -c 'test -n '\\''********'\\'' && esxcli system settings advanced set -o /UserVars/HostClientWelcomeMessage -s '\\''licence ********'\\'''",
    ])
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    expect(esx.state().advanced['/UserVars/HostClientWelcomeMessage']).toBe(
      `licence ${key.toLowerCase()}`,
    )
    const audit = t.app.hostAudit(host.id)
    // Masked alike in the plan and the run, the step's commands are as approved.
    expect(JSON.stringify(audit)).not.toContain('run.step_not_as_planned')
    const told = [
      JSON.stringify(plan),
      JSON.stringify(run),
      JSON.stringify(audit),
      t.app.hostReport(host.id, 'html').content,
      t.logger.lines.join('\n'),
    ].join('\n')
    expect(told.toUpperCase()).not.toContain(key)
    expect(told).not.toContain(NEW)
  })

  it("masks the site's enrollment key and the host's token written into a custom step, as the spec's secrets", async () => {
    const { t, host } = await checkedIn()
    const key = /PBKEY=(\S+)/.exec(t.app.getDiscoveryMaterial().bootOptions)?.[1] as string
    expect(key).toBeTruthy()
    const token = hostToken(t.app, host.id)
    t.app.saveProfile({
      spec: {
        customSteps: [
          {
            name: 'CEIP off, with the lines the operator pasted',
            lines: [
              `test -n '${key}' && test -n ${token} && esxcli system settings advanced set -o /UserVars/HostClientCEIPOptIn -i 2`,
            ],
            check: 'esxcli system settings advanced list -o /UserVars/HostClientCEIPOptIn',
            expect: '^\\s*Int Value: 2$',
          },
        ],
      },
    })
    const plan = await t.app.planHost(host.id)
    expect(plan.items.find((i) => i.key === 'customSteps')?.changes[0]?.commands[0]).toContain(
      "test -n '\\''********'\\'' && test -n ******** && esxcli",
    )
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    const audit = t.app.hostAudit(host.id)
    expect(JSON.stringify(audit)).not.toContain('run.step_not_as_planned')
    const told = [JSON.stringify(plan), JSON.stringify(run), t.logger.lines.join('\n')].join('\n')
    expect(told).not.toContain(key)
    expect(told).not.toContain(token)
  })

  it('masks a secret before a long check output is cut for the plan, so no piece of it is left', async () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    const welcome = '/UserVars/HostClientWelcomeMessage'
    const { t, esx, host } = await checkedIn({
      spec: { licence: key },
      profile: {
        customSteps: [
          {
            name: 'Welcome',
            lines: ['true'],
            check: `esxcli system settings advanced list -o ${welcome}`,
            expect: 'String Value: hello$',
          },
        ],
      },
    })
    // The key over and over: one of them is where the plan cuts the check's output.
    esx.update((s) => (s.advanced[welcome] = `xx${key.repeat(30)}`))
    const plan = await t.app.planHost(host.id)
    const current = plan.items.find((i) => i.key === 'customSteps')?.current ?? ''
    expect(current).toContain('String Value: xx********')
    expect(current).toMatch(/\.\.\."/)
    expect(current.toUpperCase()).not.toContain(key.slice(0, 5))
    // The run cuts it the same way where the step's check still does not match.
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toMatch(/^verification failed: read back Welcome: check printed /)
    const told = [JSON.stringify(run), JSON.stringify(t.app.hostAudit(host.id))].join('\n')
    expect(told.toUpperCase()).not.toContain(key.slice(0, 5))
  })

  it('masks a secret of the spec quoted in another setting’s value, in what the plan wants and the run sets', async () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    const message = `Licensed with ${key.toLowerCase()}`
    const { t, esx, host } = await checkedIn({
      spec: { licence: key },
      profile: { advanced: [{ path: '/UserVars/HostClientWelcomeMessage', value: message }] },
    })
    const plan = await t.app.planHost(host.id)
    expect(plan.items.find((i) => i.key === 'advanced')?.wanted).toBe(
      '/UserVars/HostClientWelcomeMessage = "Licensed with ********"',
    )
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    expect(esx.state().advanced['/UserVars/HostClientWelcomeMessage']).toBe(message)
    const told = [JSON.stringify(plan), JSON.stringify(run), t.logger.lines.join('\n')].join('\n')
    expect(told.toUpperCase()).not.toContain(key)
  })

  it("stops a custom step's pattern that backtracks without end, so the plan is refused instead of Midwife stalling", async () => {
    const welcome = '/UserVars/HostClientWelcomeMessage'
    const { t, esx, host } = await checkedIn({
      profile: {
        customSteps: [
          {
            name: 'Welcome of a',
            lines: ['true'],
            check: `esxcli system settings advanced list -o ${welcome}`,
            // Not refused by its shape; 2^40 ways to fail on the line that ends in !.
            expect: '^   String Value: (a|a)*$',
          },
        ],
      },
    })
    esx.update((s) => (s.advanced[welcome] = `${'a'.repeat(40)}!`))
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /Custom steps \(site profile\): custom step Welcome of a: .* was stopped after 2 s matching \d+ characters of the check's output/,
    )
  })

  it('turns SSH off last: verified in the open session, and a new login finds nothing listening', async () => {
    const { esx, ssh } = await start()
    const session = await login(esx, ssh, OLD)
    await apply(session, sshOffAfterRun, true, context(esx)).result
    expect(esx.state().services.ssh).toEqual({ enabled: false, running: false })
    await ssh.waitForAddress(null)
    await expect(login(esx, ssh, OLD)).rejects.toThrow(/cannot reach|connection refused/)
  })
})

// The Secure Boot path end to end: a host whose %firstboot never runs. The
// real %post section runs under the simulated host's BusyBox and reports
// `installed` (Secure Boot on) to the real listener; Midwife then polls the
// host's /sdk until it answers SOAP (the in-process HTTPS fake, at the host's
// own 127.0.x.y address), logs in, turns TSM-SSH on (which starts the simulated
// host's sshd), connects over real SSH trusting the presented host key on
// first use, reads the identity and moves the host to checked_in. Real
// SQLite, real HTTP, real TLS, real SSH.
import Database from 'better-sqlite3'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import type { SecureBootOptions } from '../../main/core/secure-boot/secure-boot-service'
import { App } from '../../main/core/app'
import { EsxSession } from '../../main/core/configure/ssh'
import { postSection, sectionScript } from '../../main/core/boot/install-callbacks'
import { parsePublicKeyLine } from '../../main/core/esxi/ssh-keys'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import {
  freePort,
  hostToken,
  repoRoot,
  sampleHost,
  startTestApp,
  type TestApp,
} from '../support/app'
import { createSimHost, managementNetwork, type SimHost } from '../support/esxi-host'
import { approveAndWait } from '../support/flow'
import { startFakeVsphere, type FakeVsphere } from '../support/vsphere-fake'

const ADDRESS = '127.0.31.10'
const PASSWORD = sampleHost.rootPassword

let t: TestApp | undefined
let esx: SimHost | undefined
let fake: FakeVsphere | undefined

afterEach(async () => {
  await t?.close()
  await fake?.close()
  await esx?.close()
  t = esx = fake = undefined
})

/**
 * An installed host with Secure Boot on, its SSH service off (as after an
 * install whose %firstboot was skipped): its sshd starts when the service does.
 */
async function installedHost(): Promise<{ esx: SimHost; ssh: SimSshServer }> {
  esx = await createSimHost(managementNetwork(ADDRESS, '255.255.255.0'))
  const ssh = await esx.startSsh(PASSWORD)
  esx.update((s) => {
    s.services.ssh = { enabled: false, running: false }
  })
  await ssh.waitForAddress(null)
  return { esx, ssh }
}

/** The simulated host defined in `app`: its first NIC's MAC, its SSH port. */
function simHostOn(
  app: App,
  host: SimHost,
  ssh: SimSshServer,
  fields: { secureBoot?: boolean } = {},
) {
  return app.saveHost({
    ...sampleHost,
    mac: host.state().nics[0]?.mac as string,
    sshPort: ssh.port,
    ...fields,
  })
}

async function start(secureBoot: SecureBootOptions) {
  t = await startTestApp({
    secureBoot: {
      pollIntervalMs: 50,
      httpsDeadlineMs: 20_000,
      sshDeadlineMs: 10_000,
      connectTimeoutMs: 5_000,
      ...secureBoot,
    },
  })
  return t
}

/**
 * Runs the kickstart's real %post on the host, with secureBoot.py printing Enabled
 * (or, with `tool` false, without one: the installer cannot tell, and reports unknown).
 */
async function reportInstalled(app: TestApp, host: Host, sim: SimHost, tool = true): Promise<void> {
  const path = join(sim.dir, 'secureBoot.py')
  writeFileSync(path, '#!/bin/busybox sh\n[ "$1" = -s ] && echo Enabled\n')
  chmodSync(path, 0o755)
  const port = Number(new URL(app.listenerUrl).port)
  const section = postSection({
    listener: { address: '127.0.0.1', port },
    token: hostToken(app.app, host.id),
    attempts: 1,
    retrySeconds: 0,
  })
  const file = join(sim.dir, 'post.sh')
  writeFileSync(file, sectionScript(section))
  const run = await sim.sh([file], { MIDWIFE_SECUREBOOT_TOOL: tool ? path : '/nonexistent' })
  expect(run.stdout).toContain('midwife: reported installed')
}

/** Waits until the path started for the host (it is deferred past the report's answer), then ended. */
async function settled(app: TestApp, id: number): Promise<Host> {
  for (let i = 0; i < 200 && app.app.getHost(id).secureBootPath === null; i++) {
    await new Promise((r) => setTimeout(r, 10))
  }
  await app.app.secureBootIdle()
  return app.app.getHost(id)
}

function events(app: TestApp, id: number) {
  return app.app.hostAudit(id).map((e) => e.type)
}

/** The step messages the path showed on the host's card, in order. */
function stepMessages(app: TestApp, id: number): string[] {
  return app.app
    .hostAudit(id)
    .filter((e) => e.type === 'host.secure_boot_step')
    .map((e) => String((e.data as { message: unknown }).message))
}

describe('the Secure Boot path', () => {
  it('takes an installed host to checked_in: 443, vSphere login, SSH on, identity over SSH', async () => {
    const { esx, ssh } = await installedHost()
    fake = await startFakeVsphere({ password: PASSWORD, host: ADDRESS, statePath: esx.statePath })
    const t = await start({ httpsPort: fake.port })
    const host = simHostOn(t.app, esx, ssh)
    expect(esx.state().services.ssh.running).toBe(false)

    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)

    expect(fake.calls).toEqual([
      'RetrieveServiceContent',
      'Login',
      'UpdateServicePolicy',
      'StartService',
    ])
    expect(esx.state().services.ssh).toEqual({ enabled: true, running: true })
    expect(after.state).toBe('checked_in')
    expect(after.stateReason).toContain('checked in through the Secure Boot path')
    expect(after.secureBootPath).toMatchObject({
      status: 'done',
      address: ADDRESS,
      attempts: 1,
      certificate: { sha256: fake.fingerprint, how: 'first_contact' },
    })
    // The synthesized check-in is evidence of its own kind, read over SSH.
    const checkin = after.lastCheckin
    expect(checkin).toMatchObject({
      kind: 'secure_boot',
      sourceIp: ADDRESS,
      managementIp: ADDRESS,
      serial: esx.state().platform.serialNumber,
      esxiVersion: '8.0.2',
    })
    // Bound by trust on first use of the key SSH presented: one of the host's own keys.
    const own = [esx.hostKeys.ecdsa, esx.hostKeys.rsa].map(
      (k) => parsePublicKeyLine(k.publicLine).fingerprint,
    )
    expect(after.identity?.how).toBe('secure_boot')
    expect(after.identity?.checkinId).toBe(checkin?.id)
    expect(after.identity?.managementIp).toBe(ADDRESS)
    expect(after.identity?.sshHostKeys).toHaveLength(1)
    expect(own).toContain(after.identity?.sshHostKeys[0]?.fingerprint)
    expect(after.approve.allowed).toBe(true)

    const types = events(t, host.id)
    for (const e of [
      'host.secure_boot_started',
      'host.secure_boot_certificate',
      'host.secure_boot_ssh_enabled',
    ]) {
      expect(types).toContain(e)
    }
    const audit = JSON.stringify(t.app.hostAudit(host.id))
    expect(audit).toContain(fake.fingerprint)
    expect(audit).not.toContain(PASSWORD)
    expect(t.logger.lines.join('\n')).not.toContain(PASSWORD)

    // And the operator approves as usual: the run connects with the bound key.
    const run = await approveAndWait(t.app, host.id)
    expect(run.state).toBe('done')
    expect(esx.state().hostname).toBe('esx01')
  })

  it('waits while hostd starts behind the proxy (503s), saying so, and drives a host that keeps no session', async () => {
    const { esx, ssh } = await installedHost()
    fake = await startFakeVsphere({
      password: PASSWORD,
      host: ADDRESS,
      statePath: esx.statePath,
      startingUp: ['503', '503', '503'],
      setsCookie: false,
      keepsSessions: false,
    })
    const t = await start({ httpsPort: fake.port })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)

    expect(after.state).toBe('checked_in')
    expect(after.secureBootPath).toMatchObject({
      status: 'done',
      attempts: 1,
      certificate: { sha256: fake.fingerprint, how: 'first_contact' },
    })
    expect(fake.calls).toEqual([
      'RetrieveServiceContent',
      'Login',
      'UpdateServicePolicy',
      'StartService',
    ])
    // What the card said while it waited: once for the three 503s.
    expect(stepMessages(t, host.id)).toEqual([
      `its API at https://${ADDRESS}:${fake.port}/sdk answered HTTP 503; waiting for hostd`,
    ])
    expect(events(t, host.id)).toContain('host.secure_boot_certificate')
    expect(events(t, host.id)).not.toContain('host.secure_boot_failed')
  })

  it('moves the host to needs_attention when the server reached over SSH is not the one %post described', async () => {
    const { esx, ssh } = await installedHost()
    const port = await freePort()
    const t = await start({ httpsPort: port, httpsDeadlineMs: 60_000 })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    // While Midwife waits for 443, another machine comes up at the installed host's address.
    esx.update((s) => {
      s.platform.serialNumber = 'VMware-OTHER-MACHINE'
    })
    fake = await startFakeVsphere({
      password: PASSWORD,
      host: ADDRESS,
      statePath: esx.statePath,
      port,
    })
    const after = await settled(t, host.id)

    expect(after.state).toBe('needs_attention')
    expect(after.attention).toMatchObject({ reason: 'identity_changed' })
    expect(after.attention?.message).toContain('another machine may hold that address')
    expect(after.attention?.differences).toEqual([
      expect.objectContaining({ field: 'serial', reported: 'VMware-OTHER-MACHINE' }),
    ])
    expect(after.attention?.checkinId).toBe(after.lastCheckin?.id)
    expect(after.lastCheckin?.kind).toBe('secure_boot')
    expect(after.identity).toBeNull()
    expect(after.secureBootPath?.status).toBe('done')
    expect(after.approve.allowed).toBe(false)
  })

  it('stops at the login with a wrong password: InvalidLogin, nothing else sent, host stays installed', async () => {
    const { esx, ssh } = await installedHost()
    // hostd starts a moment after the proxy: waiting for it is no reason to repeat the login.
    fake = await startFakeVsphere({
      password: PASSWORD,
      host: ADDRESS,
      statePath: esx.statePath,
      startingUp: ['503'],
    })
    const t = await start({ httpsPort: fake.port })
    const wrong = 'Wrong-Passw0rd!9'
    const defined = {
      ...sampleHost,
      mac: esx.state().nics[0]?.mac as string,
      sshPort: ssh.port,
    }
    const host = t.app.saveHost({ ...defined, rootPassword: wrong })
    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)

    expect(fake.calls).toEqual(['RetrieveServiceContent', 'Login'])
    expect(esx.state().services.ssh).toEqual({ enabled: false, running: false })
    expect(after.state).toBe('installed')
    expect(after.stateReason).toContain('the Secure Boot path stopped while turning SSH on')
    expect(after.stateReason).toContain('InvalidLogin')
    expect(after.secureBootPath).toMatchObject({ status: 'failed', step: 'vsphere' })
    expect(after.secureBootPath?.message).toContain('then Retry')
    expect(after.lastCheckin).toBeNull()
    expect(after.identity).toBeNull()
    expect(events(t, host.id)).toContain('host.secure_boot_failed')
    for (const secret of [wrong, PASSWORD, hostToken(t.app, host.id)]) {
      expect(JSON.stringify(t.app.hostAudit(host.id))).not.toContain(secret)
      expect(t.logger.lines.join('\n')).not.toContain(secret)
      expect(after.stateReason).not.toContain(secret)
    }
    expect(t.logger.lines.join('\n')).toContain('Secure Boot path for esx01.lab.local stopped')

    // The operator sets the password the host really has and retries: the certificate
    // pinned on first contact is kept, and this time the path goes through.
    t.app.saveHost({ id: host.id, ...defined, rootPassword: PASSWORD })
    const retried = t.app.retrySecureBootPath(host.id)
    expect(retried.secureBootPath).toMatchObject({
      status: 'running',
      attempts: 2,
      certificate: { sha256: fake.fingerprint },
    })
    expect(() => t.app.retrySecureBootPath(host.id)).toThrow('already running')
    const done = await settled(t, host.id)
    expect(done.state).toBe('checked_in')
    expect(done.secureBootPath).toMatchObject({ status: 'done', attempts: 2 })
    expect(fake.calls.filter((c) => c === 'Login')).toHaveLength(2)
  })

  it('masks the password where the host quotes it in a Login fault: reason, card, audit and log', async () => {
    const { esx, ssh } = await installedHost()
    // esxi.md gives no fault text: a host that quotes its arguments echoes the password.
    fake = await startFakeVsphere({
      password: PASSWORD,
      host: ADDRESS,
      statePath: esx.statePath,
      loginFault: {
        type: 'InvalidArgument',
        message: (sent) => `A specified parameter was not correct: password "${sent}"`,
      },
    })
    const t = await start({ httpsPort: fake.port })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)

    expect(fake.calls).toEqual(['RetrieveServiceContent', 'Login'])
    expect(after.secureBootPath).toMatchObject({ status: 'failed', step: 'vsphere' })
    expect(after.stateReason).toContain(
      'Login failed on the host: InvalidArgument: A specified parameter was not correct: password "********"',
    )
    const audit = JSON.stringify(t.app.hostAudit(host.id))
    expect(audit).toContain('password \\"********\\"')
    for (const shown of [JSON.stringify(after), audit, t.logger.lines.join('\n')]) {
      expect(shown).not.toContain(PASSWORD)
      expect(shown).not.toContain(JSON.stringify(PASSWORD).slice(1, -1))
    }
  })

  /** The path run on a host whose platform read fails, printing `stdout`; where it settles. */
  async function identityFails(stdout: string, loginWarning?: 'banner' | 'stdout' | 'stderr') {
    const { esx, ssh } = await installedHost()
    esx.update((s) => {
      if (loginWarning) s.quirks.loginWarning = loginWarning
      s.faults.push({ match: 'esxcli hardware platform get', stdout, code: 1 })
    })
    fake = await startFakeVsphere({ password: PASSWORD, host: ADDRESS, statePath: esx.statePath })
    const t = await start({ httpsPort: fake.port })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    return { t, host, after: await settled(t, host.id) }
  }

  // Where the warning that commands are logged goes is unconfirmed: the error is what is quoted.
  it.each(['banner', 'stdout', 'stderr'] as const)(
    'masks the password where the host prints it back over SSH while it is read (login warning: %s)',
    async (loginWarning) => {
      const { t, host, after } = await identityFails(
        `Error: cannot read the platform (session of root:${PASSWORD})\n`,
        loginWarning,
      )

      expect(after.secureBootPath).toMatchObject({ status: 'failed', step: 'identity' })
      expect(after.secureBootPath?.message).toMatch(
        /`esxcli hardware platform get` failed on \S+ \(exit 1\): Error: cannot read the platform \(session of root:\*{8}\)$/,
      )
      for (const shown of [
        JSON.stringify(after),
        JSON.stringify(t.app.hostAudit(host.id)),
        t.logger.lines.join('\n'),
      ]) {
        expect(shown).not.toContain(PASSWORD)
        expect(shown).not.toContain(JSON.stringify(PASSWORD).slice(1, -1))
      }
    },
  )

  it('fails the identity step naming the command when the host prints past the output limit', async () => {
    const { esx, ssh } = await installedHost()
    // 256 KiB of one line over a 64 KiB limit, from a read the kickstart's %post does not make.
    esx.update((s) =>
      s.faults.push({
        match: 'esxcli system version get',
        stdout: `${'x'.repeat(1023)}\n`,
        repeat: 256,
      }),
    )
    fake = await startFakeVsphere({ password: PASSWORD, host: ADDRESS, statePath: esx.statePath })
    const t = await start({
      httpsPort: fake.port,
      connect: (o) => EsxSession.connect({ ...o, outputLimitBytes: 64 * 1024 }),
    })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)
    expect(after.secureBootPath).toMatchObject({ status: 'failed', step: 'identity' })
    expect(after.secureBootPath?.message).toMatch(
      /^`esxcli system version get`: \S+ printed more than 64 KiB for one command; Midwife stopped reading and closed it/,
    )
    expect(after.state).not.toBe('checked_in')
  })

  it('masks the password before a long failure message is cut, so no piece of it is left', async () => {
    // "Error: cannot read the platform (" is 33 characters: the password starts at 295 and
    // runs past 300, where the message is cut.
    const { t, host, after } = await identityFails(
      `Error: cannot read the platform (${'x'.repeat(262)}${PASSWORD})\n`,
    )
    expect(after.secureBootPath).toMatchObject({ status: 'failed', step: 'identity' })
    expect(after.secureBootPath?.message).toMatch(new RegExp(`x{262}\\*{5}$`))
    for (const shown of [
      JSON.stringify(after),
      JSON.stringify(t.app.hostAudit(host.id)),
      t.logger.lines.join('\n'),
    ]) {
      expect(shown).not.toContain(PASSWORD.slice(0, 5))
    }
  })

  it('keeps the password out of the check-in it stores when the host prints it in its identity', async () => {
    const { esx, ssh } = await installedHost()
    // Printed, yet the command succeeds: the check-in keeps what it printed, masked.
    esx.update((s) => (s.platform.vendorName = `VMware, Inc. (root:${PASSWORD})`))
    fake = await startFakeVsphere({ password: PASSWORD, host: ADDRESS, statePath: esx.statePath })
    const t = await start({ httpsPort: fake.port })
    const host = simHostOn(t.app, esx, ssh)
    await reportInstalled(t, host, esx)
    const after = await settled(t, host.id)
    expect(after.state).toBe('checked_in')
    const db = new Database(join(t.dataDir, 'midwife.db'), { readonly: true })
    const stored = db.prepare('SELECT * FROM checkins').all()
    db.close()
    expect(stored).toHaveLength(1)
    expect(JSON.stringify(stored)).toContain('root:********')
    expect(JSON.stringify(after)).toContain('root:********')
    for (const shown of [JSON.stringify(stored), JSON.stringify(after)]) {
      for (const form of [PASSWORD, JSON.stringify(PASSWORD).slice(1, -1)]) {
        expect(shown).not.toContain(form)
        expect(shown).not.toContain(JSON.stringify(form).slice(1, -1))
      }
    }
  })

  it('gives up when nothing answers on 443 by the deadline, and says so', async () => {
    const { esx, ssh } = await installedHost()
    const port = await freePort()
    const t = await start({ httpsPort: port, httpsDeadlineMs: 600 })
    // The installer cannot tell (no secureBoot.py): the host's definition expects Secure Boot.
    const host = simHostOn(t.app, esx, ssh, { secureBoot: true })
    await reportInstalled(t, host, esx, false)
    const after = await settled(t, host.id)
    expect(after.install?.secureBoot).toBe('unknown')

    expect(after.state).toBe('installed')
    expect(after.secureBootPath).toMatchObject({
      status: 'failed',
      step: 'wait_https',
      certificate: null,
    })
    expect(after.stateReason).toContain(`https://${ADDRESS}:${port}/sdk did not answer within`)
    expect(after.stateReason).toContain('(last: refused the connection)')
    expect(after.stateReason).toContain('Retry once the host')
    expect(stepMessages(t, host.id)).toEqual([
      `its API at https://${ADDRESS}:${port}/sdk refused the connection; waiting for the installed host to come up`,
    ])
    expect(events(t, host.id)).toContain('host.secure_boot_failed')
    expect(esx.state().services.ssh.running).toBe(false)
  })

  it('starts again at the next launch when Midwife stopped in the middle of it', async () => {
    const { esx, ssh } = await installedHost()
    // First launch: the host's API is not up yet, and Midwife is stopped while it waits.
    const first = await start({ httpsPort: await freePort(), httpsDeadlineMs: 60_000 })
    const host = simHostOn(first.app, esx, ssh)
    await reportInstalled(first, host, esx)
    for (let i = 0; i < 200 && first.app.getHost(host.id).secureBootPath === null; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    await first.app.stop()

    fake = await startFakeVsphere({ password: PASSWORD, host: ADDRESS, statePath: esx.statePath })
    const again = await App.start({
      dataDir: first.dataDir,
      resourcesDir: join(repoRoot, 'resources'),
      version: 'test',
      logger: first.logger,
      listen: { host: '127.0.0.1', port: 0 },
      secureBoot: { httpsPort: fake.port, pollIntervalMs: 50, sshDeadlineMs: 10_000 },
    })
    try {
      await again.secureBootIdle()
      const after = again.getHost(host.id)
      expect(after.state).toBe('checked_in')
      expect(after.secureBootPath).toMatchObject({ status: 'done', attempts: 2 })
      const started = again
        .hostAudit(host.id)
        .filter((e) => e.type === 'host.secure_boot_started')
        .map((e) => (e.data as { trigger: string }).trigger)
      expect(started).toEqual(['installed', 'resumed'])
    } finally {
      await again.stop()
    }
  })

  it('stopped in the middle, and no longer expected at the next launch, says it stopped rather than running for ever', async () => {
    const { esx, ssh } = await installedHost()
    const first = await start({ httpsPort: await freePort(), httpsDeadlineMs: 60_000 })
    const fields = {
      ...sampleHost,
      mac: esx.state().nics[0]?.mac as string,
      sshPort: ssh.port,
      secureBoot: true,
    }
    const host = first.app.saveHost(fields)
    // The installer cannot tell; the host expects Secure Boot, so the path starts.
    await reportInstalled(first, host, esx, false)
    for (let i = 0; i < 200 && first.app.getHost(host.id).secureBootPath === null; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(first.app.getHost(host.id).secureBootPath?.status).toBe('running')
    // While it waits, the operator says this host does not use Secure Boot; then Midwife stops.
    first.app.saveHost({ ...fields, id: host.id, rootPassword: undefined, secureBoot: false })
    await first.app.stop()

    const again = await App.start({
      dataDir: first.dataDir,
      resourcesDir: join(repoRoot, 'resources'),
      version: 'test',
      logger: first.logger,
      listen: { host: '127.0.0.1', port: 0 },
      secureBoot: { httpsPort: await freePort(), pollIntervalMs: 50 },
    })
    try {
      await again.secureBootIdle()
      const after = again.getHost(host.id)
      expect(after.state).toBe('installed')
      expect(after.secureBootPath).toMatchObject({
        status: 'failed',
        message:
          'Midwife stopped during the Secure Boot path, and this host no longer expects Secure Boot, so it was not started again; if the host does use Secure Boot, set that on the host and Retry',
      })
    } finally {
      await again.stop()
    }
  })

  it('does not start when the installer cannot tell and nothing expects Secure Boot; a retry says why', async () => {
    const { esx, ssh } = await installedHost()
    const t = await start({ httpsPort: await freePort() })
    const host = simHostOn(t.app, esx, ssh)
    expect(() => t.app.retrySecureBootPath(host.id)).toThrow(
      'the Secure Boot path runs only for an installed host',
    )
    expect(() => t.app.retrySecureBootPath(9999)).toThrow('host 9999 does not exist')
    // %post without secureBoot.py reports unknown; neither host nor site expects it.
    const port = Number(new URL(t.listenerUrl).port)
    const file = join(esx.dir, 'post.sh')
    writeFileSync(
      file,
      sectionScript(
        postSection({
          listener: { address: '127.0.0.1', port },
          token: hostToken(t.app, host.id),
          attempts: 1,
        }),
      ),
    )
    await esx.sh([file])
    await new Promise((r) => setTimeout(r, 50))
    const after = t.app.getHost(host.id)
    expect(after.state).toBe('installed')
    expect(after.secureBootPath).toBeNull()
    expect(() => t.app.retrySecureBootPath(host.id)).toThrow('does not take the Secure Boot path')
    expect(events(t, host.id)).not.toContain('host.secure_boot_started')
  })
})

// The security, services, advanced and custom-step settings against the in-memory simulator:
// what each plans when the host is already right, partly right or wrong, every refusal, and that
// no secret reaches a plan, an output line or an error.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkOrder, SETTINGS } from '../../main/catalogue/registry'
import { advanced, optionPath } from '../../main/catalogue/settings/advanced'
import { customSteps } from '../../main/catalogue/settings/custom-steps'
import { licence, licenceSerial } from '../../main/catalogue/settings/licence'
import { maintenanceMode } from '../../main/catalogue/settings/maintenance-mode'
import { rootPassword } from '../../main/catalogue/settings/root-password'
import { services } from '../../main/catalogue/settings/services'
import { sshOffAfterRun } from '../../main/catalogue/settings/ssh-off-after-run'
import { fillLine, fillPattern } from '../../main/catalogue/shell-template'
import { defineSetting, type AnySetting, type PlanContext } from '../../main/catalogue/types'
import {
  applySetting,
  CachedReader,
  planSetting,
  shownChanges,
} from '../../main/core/configure/apply'
import { boundedMatch } from '../../main/core/configure/pattern-budget'
import { writeCommands } from '../esxi-sim/interpreter'
import { ESXI_PROFILES, type EsxiProfile } from '../esxi-sim/profile'
import type { SimOverrides } from '../esxi-sim/state'
import { memoryHost } from '../support/sim-shell'

function host(overrides: SimOverrides = {}, ctxOverrides: Partial<PlanContext> = {}) {
  const { state, shell } = memoryHost(overrides)
  const ctx: PlanContext = {
    hostname: 'esx01',
    domain: 'lab.local',
    address: '10.0.0.11',
    version: state.version.version,
    ...ctxOverrides,
  }
  const output: string[] = []
  const secrets: string[] = []
  return {
    state,
    shell,
    ctx,
    output,
    secrets,
    /** Applies a wanted value (parsed by the setting's schema) and returns what the host ran. */
    async apply(setting: AnySetting, raw: unknown) {
      const mark = state.log.length
      const result = await applySetting(
        shell,
        new CachedReader(shell, ctx.version),
        setting,
        setting.value.parse(raw),
        ctx,
        (t) => output.push(t),
        { addQuoted: (s) => secrets.push(s), apply: (t) => t },
      )
      return { ...result, writes: writeCommands(state.log.slice(mark)) }
    },
    async plan(setting: AnySetting, raw: unknown) {
      const p = await planSetting(
        new CachedReader(shell, ctx.version),
        setting,
        setting.value.parse(raw),
        ctx,
      )
      return { ...p, shown: shownChanges(p.changes) }
    },
  }
}

/** The messages a schema gives for a value, or [] when it accepts it. */
function refusals(setting: AnySetting, raw: unknown): string[] {
  const r = setting.value.safeParse(raw)
  return r.success ? [] : r.error.issues.map((i) => i.message)
}

describe('advanced settings', () => {
  it('normalises the dotted form to the path form, and refuses what is not a path', () => {
    expect(optionPath('UserVars.SuppressShellWarning')).toBe('/UserVars/SuppressShellWarning')
    expect(optionPath(' /Net/TcpipHeapMax ')).toBe('/Net/TcpipHeapMax')
    expect(
      advanced.value.parse([{ path: 'UserVars.HostClientWelcomeMessage', value: 'x' }]),
    ).toEqual([{ path: '/UserVars/HostClientWelcomeMessage', value: 'x' }])
    expect(refusals(advanced, [{ path: 'SuppressShellWarning', value: 1 }])).toEqual([
      'SuppressShellWarning is not an advanced option path like /UserVars/SuppressShellWarning or UserVars.SuppressShellWarning',
    ])
    expect(refusals(advanced, [{ path: '/UserVars/$(reboot)', value: 1 }])[0]).toMatch(
      /is not an advanced option path/,
    )
    expect(
      refusals(advanced, [
        { path: 'UserVars.SuppressShellWarning', value: 1 },
        { path: '/UserVars/SuppressShellWarning', value: 0 },
      ]),
    ).toEqual(['/UserVars/SuppressShellWarning is listed twice'])
    expect(refusals(advanced, [{ path: '/Net/TcpipHeapMax', value: 1.5 }])).toEqual([
      'an option takes a whole number or text',
    ])
  })

  it("refuses a value starting with '-', which esxcli would read as an option, next to its field", () => {
    for (const value of ['-d', ' --default', -1, '-5']) {
      const r = advanced.value.safeParse([
        { path: '/UserVars/SuppressShellWarning', value: 1 },
        { path: '/UserVars/HostClientWelcomeMessage', value },
      ])
      expect(r.success).toBe(false)
      expect(r.error?.issues.map((i) => ({ path: i.path, message: i.message }))).toEqual([
        {
          path: [1, 'value'],
          message:
            "/UserVars/HostClientWelcomeMessage: a value starting with '-' would be read by esxcli as an option, not as the value; set it with a custom step whose command you have checked on your hosts",
        },
      ])
    }
    // Inside the text, a '-' is only text.
    expect(
      refusals(advanced, [{ path: '/UserVars/HostClientWelcomeMessage', value: 'a -d' }]),
    ).toEqual([])
  })

  it("refuses at plan time a value starting with '-' saved before the schema refused it", async () => {
    const h = host()
    const stale = [{ path: '/UserVars/HostClientWelcomeMessage', value: '--default' }]
    await expect(
      planSetting(new CachedReader(h.shell, h.ctx.version), advanced, stale, h.ctx),
    ).rejects.toThrow("/UserVars/HostClientWelcomeMessage: a value starting with '-' would be read")
    expect(h.state.log.filter((l) => l.includes(' set '))).toEqual([])
  })

  it('sets only the options that differ, each with -i or -s as its type says, and verifies them', async () => {
    const h = host()
    const r = await h.apply(advanced, [
      { path: '/UserVars/SuppressShellWarning', value: 1 },
      { path: '/Net/TcpipHeapMax', value: 1024 }, // already the host's value
      { path: 'UserVars.HostClientWelcomeMessage', value: 'Racked by Midwife' },
    ])
    expect(r.writes).toEqual([
      'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1',
      'esxcli system settings advanced set -o /UserVars/HostClientWelcomeMessage -s Racked by Midwife',
    ])
    expect(h.state.advanced['/UserVars/SuppressShellWarning']).toBe(1)
    expect(h.state.advanced['/UserVars/HostClientWelcomeMessage']).toBe('Racked by Midwife')
    expect(h.output.at(-1)).toBe(
      'verified: /UserVars/SuppressShellWarning = 1, /Net/TcpipHeapMax = 1024, /UserVars/HostClientWelcomeMessage = "Racked by Midwife"\n',
    )
  })

  it('takes the type from the value line on a host that prints no Type: line (esxi.md shows only Int Value)', async () => {
    const h = host({ quirks: { unlisted: 'absent' } })
    const r = await h.apply(advanced, [
      { path: '/UserVars/SuppressShellWarning', value: '1' },
      { path: 'UserVars.HostClientWelcomeMessage', value: 514 },
    ])
    expect(r.writes).toEqual([
      'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1',
      'esxcli system settings advanced set -o /UserVars/HostClientWelcomeMessage -s 514',
    ])
    expect(h.state.advanced['/UserVars/SuppressShellWarning']).toBe(1)
    // Both value lines and no type: the wanted value decides.
    const both = (stdout: string) =>
      host({
        faults: [{ match: 'esxcli system settings advanced list -o /UserVars/X', stdout, code: 0 }],
      })
    const plan = async (stdout: string, value: number | string) =>
      (await both(stdout).plan(advanced, [{ path: '/UserVars/X', value }])).shown
    expect(await plan('   Int Value: 0\n   String Value: Hi\n', 'Hello')).toEqual([
      {
        summary: '/UserVars/X = "Hello" (was "Hi")',
        commands: ['esxcli system settings advanced set -o /UserVars/X -s Hello'],
      },
    ])
    expect(await plan('   Int Value: 0\n   String Value: \n', 3)).toEqual([
      {
        summary: '/UserVars/X = 3 (was 0)',
        commands: ['esxcli system settings advanced set -o /UserVars/X -i 3'],
      },
    ])
    await expect(plan('   Description: x\n', 3)).rejects.toThrow(
      '/UserVars/X: the host gave no type this setting knows (Type: -)',
    )
  })

  it('plans nothing when every option already holds its value', async () => {
    const h = host({
      advanced: { '/UserVars/SuppressShellWarning': 1, '/UserVars/HostClientWelcomeMessage': 'Hi' },
    })
    const r = await h.apply(advanced, [
      { path: 'UserVars.SuppressShellWarning', value: 1 },
      { path: '/UserVars/HostClientWelcomeMessage', value: 'Hi' },
    ])
    expect(r.writes).toEqual([])
  })

  it('takes a whole number written as text for an integer option, as the host says it is one', async () => {
    const h = host()
    const r = await h.apply(advanced, [{ path: '/UserVars/ESXiShellTimeOut', value: '600' }])
    expect(r.writes).toEqual([
      'esxcli system settings advanced set -o /UserVars/ESXiShellTimeOut -i 600',
    ])
    expect(
      (await h.apply(advanced, [{ path: '/UserVars/ESXiShellTimeOut', value: 600 }])).writes,
    ).toEqual([])
  })

  it('refuses text for an integer option and a value outside its range, before any write', async () => {
    const h = host()
    await expect(
      h.apply(advanced, [{ path: '/UserVars/SuppressShellWarning', value: 'yes' }]),
    ).rejects.toThrow(
      '/UserVars/SuppressShellWarning is an integer option on this host; "yes" is not a whole number',
    )
    await expect(
      h.apply(advanced, [{ path: '/UserVars/SuppressShellWarning', value: 2 }]),
    ).rejects.toThrow('/UserVars/SuppressShellWarning takes 0 to 1 on this host, not 2')
    expect(writeCommands(h.state.log)).toEqual([])
  })

  it.each([
    { errorStream: 'stdout', loginWarning: 'banner' },
    { errorStream: 'stderr', loginWarning: 'banner' },
    { errorStream: 'stdout', loginWarning: 'stderr' },
    { errorStream: 'stderr', loginWarning: 'stdout' },
  ] as const)(
    'fails on an option the host does not have with ESXi own words (errors on $errorStream, login warning: $loginWarning)',
    async (quirks) => {
      const h = host({ quirks })
      await expect(
        h.apply(advanced, [
          { path: '/UserVars/SuppressShellWarning', value: 1 },
          { path: 'Net.NoSuchOption', value: 1 },
        ]),
      ).rejects.toThrow(
        '/Net/NoSuchOption: ESXi has no such advanced option (it said: Error: Unable to find option NoSuchOption)',
      )
      expect(writeCommands(h.state.log)).toEqual([])
    },
  )

  it('writes a number wanted for a string option as text', async () => {
    const h = host()
    const r = await h.apply(advanced, [{ path: '/UserVars/HostClientWelcomeMessage', value: 514 }])
    expect(r.writes).toEqual([
      'esxcli system settings advanced set -o /UserVars/HostClientWelcomeMessage -s 514',
    ])
    expect(
      (await h.apply(advanced, [{ path: '/UserVars/HostClientWelcomeMessage', value: '514' }]))
        .writes,
    ).toEqual([])
    expect(() => advanced.value.parse([{ path: 'Syslog.global.logDir', value: 'x' }])).toThrow(
      '/Syslog/global/logDir belongs to the Syslog setting: set it there',
    )
  })
})

describe('SSH and the ESXi Shell', () => {
  it('turns a service on by enabling and starting it, and off by stopping and disabling it', async () => {
    const h = host({
      services: {
        ssh: { enabled: false, running: false },
        esxShell: { enabled: true, running: true },
      },
    })
    const r = await h.apply(services, { ssh: 'on', esxShell: 'off' })
    expect(r.writes).toEqual([
      'vim-cmd hostsvc/enable_ssh',
      'vim-cmd hostsvc/start_ssh',
      'vim-cmd hostsvc/stop_esx_shell',
      'vim-cmd hostsvc/disable_esx_shell',
    ])
    expect(h.state.services).toEqual({
      ssh: { enabled: true, running: true },
      esxShell: { enabled: false, running: false },
    })
    expect((await h.apply(services, { esxShell: 'off' })).writes).toEqual([])
  })

  it('turns only the ESXi Shell on when SSH already runs', async () => {
    const h = host({
      services: {
        ssh: { enabled: true, running: true },
        esxShell: { enabled: false, running: false },
      },
    })
    const r = await h.apply(services, { ssh: 'on', esxShell: 'on' })
    expect(r.writes).toEqual([
      'vim-cmd hostsvc/enable_esx_shell',
      'vim-cmd hostsvc/start_esx_shell',
    ])
  })

  it('compares only whether a service runs: the start-with-host policy cannot be read back', async () => {
    // Started by hand, not enabled: nothing over SSH tells it from "on", so nothing is planned.
    const h = host({
      services: {
        ssh: { enabled: false, running: true },
        esxShell: { enabled: false, running: true },
      },
    })
    expect((await h.plan(services, { esxShell: 'on' })).changes).toEqual([])
  })

  it('refuses SSH off, pointing at the setting that turns it off when the run ends', () => {
    expect(refusals(services, { ssh: 'off', esxShell: 'off' })).toEqual([
      'SSH stays on while Midwife configures the host; to turn it off when the run ends, use "Turn SSH off after configuration"',
    ])
    expect(refusals(services, { esxShell: 'maybe' })).toEqual(['the ESXi Shell is on or off'])
  })

  it('reads the status from the words, then from LSB exit codes, and fails on anything else', async () => {
    const status = (stdout: string, code: number) =>
      host({ faults: [{ match: '/etc/init.d/SSH status', stdout, code }] })
    const read = async (h: ReturnType<typeof host>) =>
      services.read(new CachedReader(h.shell, null), h.ctx, { ssh: 'on', esxShell: 'off' })
    expect((await read(status('SSH is running\n', 1))).ssh).toBe('on')
    expect((await read(status('SSH is not running\n', 0))).ssh).toBe('off')
    expect((await read(status('', 0))).ssh).toBe('on')
    expect((await read(status('', 3))).ssh).toBe('off')
    // Other wordings a host may use for a stopped service, whatever the exit code.
    expect((await read(status('SSH is stopped\n', 0))).ssh).toBe('off')
    expect((await read(status('SSH: inactive\n', 0))).ssh).toBe('off')
    // No such script: whether it runs is unknown, not an error.
    expect((await read(status('sh: /etc/init.d/SSH: not found\n', 127))).ssh).toBe('unknown')
    await expect(read(status('Segmentation fault\n', 139))).rejects.toThrow(
      '`/etc/init.d/SSH status` did not say whether it runs (exit 139): Segmentation fault',
    )
    // What it said, not the login warning a session may print first (unconfirmed where).
    for (const loginWarning of ['stdout', 'stderr'] as const) {
      const h = host({
        faults: [{ match: '/etc/init.d/SSH status', stdout: 'Segmentation fault\n', code: 139 }],
        quirks: { loginWarning },
      })
      await expect(read(h)).rejects.toThrow(/\(exit 139\): Segmentation fault$/)
    }
  })

  it('on a host with no status script for the ESXi Shell (esxi.md names only SSH): "on" is set every run, "off" runs nothing', async () => {
    const h = host({
      quirks: { unlisted: 'absent' },
      services: {
        ssh: { enabled: true, running: true },
        esxShell: { enabled: false, running: false },
      },
    })
    const on = await h.apply(services, { esxShell: 'on' })
    expect(on.writes).toEqual([
      'vim-cmd hostsvc/enable_esx_shell',
      'vim-cmd hostsvc/start_esx_shell',
    ])
    expect(h.state.services.esxShell).toEqual({ enabled: true, running: true })
    expect(h.output.join('')).toContain('verified: SSH on, ESXi Shell (the host cannot say)')
    // Idempotent commands, run again: the host cannot say it is already on.
    expect((await h.plan(services, { esxShell: 'on' })).shown).toHaveLength(1)
    // Off: ESXi leaves the shell off after install, and esxi.md lists no verb to stop it.
    expect((await h.plan(services, { esxShell: 'off' })).shown).toEqual([])
    const off = await h.apply(services, { esxShell: 'off' })
    expect(off.writes).toEqual([])
  })
})

describe('turning SSH off after configuration', () => {
  it.each(ESXI_PROFILES)(
    'on %s: disables SSH before stopping it, verifies it is off, then writes nothing',
    async (profile: EsxiProfile) => {
      const h = host({
        profile,
        services: {
          ssh: { enabled: true, running: true },
          esxShell: { enabled: false, running: false },
        },
      })
      const r = await h.apply(sshOffAfterRun, true)
      expect(r.writes).toEqual(['vim-cmd hostsvc/disable_ssh', 'vim-cmd hostsvc/stop_ssh'])
      expect(h.state.services.ssh).toEqual({ enabled: false, running: false })
      expect(h.output.at(-1)).toBe('verified: SSH off\n')
      expect((await h.apply(sshOffAfterRun, true)).writes).toEqual([])
    },
  )

  it('leaves SSH alone when not ticked', async () => {
    const h = host({
      services: {
        ssh: { enabled: true, running: true },
        esxShell: { enabled: false, running: false },
      },
    })
    expect((await h.apply(sshOffAfterRun, false)).writes).toEqual([])
    expect(h.state.services.ssh.running).toBe(true)
  })

  it('says in its description what turning SSH off costs later', () => {
    expect(sshOffAfterRun.description).toMatch(/drift checks and re-runs/i)
    expect(sshOffAfterRun.description).toMatch(/host client/)
    expect(sshOffAfterRun.description).toMatch(/Secure Boot/)
  })

  it('ends the connection, so it comes after every other setting, moving ones included', () => {
    expect(sshOffAfterRun.connection).toBe('ends')
    expect(SETTINGS.at(-1)).toBe(sshOffAfterRun)
    const moving = defineSetting<boolean>({ ...sshOffAfterRun, key: 'mgmt', connection: 'moves' })
    expect(checkOrder([services, moving, sshOffAfterRun])).toEqual([])
    expect(checkOrder([services, sshOffAfterRun, moving])).toEqual([
      'mgmt must come before sshOffAfterRun: settings that move the connection come last, and those that end it after them',
    ])
    expect(checkOrder([moving, services])).toEqual([
      'services must come before mgmt: settings that move the connection come last, and those that end it after them',
    ])
  })
})

describe('the root password', () => {
  const good = 'Vq7-tb2Lw!9k'

  it.each([
    ['Ab1!xy', 'the password is too short: ESXi wants at least 7 characters'],
    ['Ab1!xyzw'.repeat(5), 'the password is too long: ESXi takes at most 39 characters'],
    [
      'Abcdefgh1',
      'the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
    ],
    [
      'abcdefgh',
      'the password must mix at least 3 of lower case, upper case, digits and symbols (a capital at the start and a digit at the end do not count)',
    ],
    ['xRoot-42!', 'the password must not contain the user name root'],
    ['Vq7-tb2L\nw!9k', 'the password may not hold control characters (tabs, line breaks)'],
    // 39 characters, but 40 bytes: a host that counts bytes, as C's strlen does, refuses it.
    [
      `Ab1!xyzw${'é'}${'x'.repeat(30)}`,
      'the password is too long: ESXi takes at most 39 bytes, and a character outside ASCII takes 2 to 4',
    ],
  ])('refuses %j with the rule it breaks, never the password', (password, message) => {
    const r = rootPassword.value.safeParse(password)
    expect(r.success).toBe(false)
    expect(r.error?.issues.map((i) => i.message)).toEqual([message])
    expect(JSON.stringify(r.error)).not.toContain(password)
  })

  it('counts a capital in the middle and a digit before the end', () => {
    expect(refusals(rootPassword, 'abcDefg1!')).toEqual([])
    expect(refusals(rootPassword, 'abcdef1g!')).toEqual([])
    expect(refusals(rootPassword, good)).toEqual([])
  })

  it('sets it when the current one is not known, records it as the login password, and asks for a new login', async () => {
    const h = host()
    const r = await h.apply(rootPassword, good)
    expect(r.relogin).toBe(true)
    expect(h.state.rootPassword).toBe(good)
    expect(h.ctx.loginPassword).toBe(good)
    expect(h.secrets).toEqual([good])
    expect(h.output.join('')).not.toContain(good)
    expect(h.output.join('')).toContain('current: (not known); wanted: ********')
    // The same run (or a later one logged in with it) plans nothing.
    const again = await h.apply(rootPassword, good)
    expect(again).toMatchObject({ writes: [], relogin: false })
  })

  it('plans nothing when the run logged in with the wanted password', async () => {
    const h = host({}, { loginPassword: good })
    const p = await h.plan(rootPassword, good)
    expect(p.changes).toEqual([])
    expect(h.state.log).toEqual([])
  })

  it('plans a change from another login password with the password masked', async () => {
    const h = host({}, { loginPassword: 'Old-pass-77x' })
    const p = await h.plan(rootPassword, good)
    expect(p.shown).toEqual([
      {
        summary: 'change the root password',
        commands: ['esxcli system account set -i root -p ******** -c ********'],
      },
    ])
    expect(JSON.stringify(p.shown)).not.toContain(good)
    expect(rootPassword.show(p.current as string)).toBe('********')
  })

  it('keeps the password out of the error when ESXi refuses it, even when ESXi echoes it', async () => {
    const h = host({
      faults: [
        {
          match: 'esxcli system account set',
          stdout: `Error: password ${good} is based on a dictionary word\n`,
          code: 1,
        },
      ],
    })
    const err = await h.apply(rootPassword, good).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toBe(
      '`esxcli system account set -i root -p ******** -c ********` failed (exit 1): Error: password ******** is based on a dictionary word',
    )
    // Refused: the host keeps the old password, and so does the run.
    expect(h.ctx.loginPassword).toBeUndefined()
  })
})

describe('the licence key', () => {
  const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'

  it('checks the format without echoing the key, and upper-cases it', () => {
    expect(licence.value.parse(` ${key.toLowerCase()} `)).toBe(key)
    for (const bad of [
      'AB12C-3DE45-F6G7H-8JK9L',
      'AB12C3DE45F6G7H8JK9L0MN1P',
      'AB12C-3DE45-F6G7H-8JK9L-0MN1!',
    ]) {
      const r = licence.value.safeParse(bad)
      expect(r.error?.issues.map((i) => i.message)).toEqual([
        'a licence key is 5 groups of 5 letters or digits, like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX',
      ])
      expect(JSON.stringify(r.error)).not.toContain(bad)
    }
    expect(refusals(licence, '00000-00000-00000-00000-00000')).toEqual([
      'that is the evaluation placeholder, not a licence key',
    ])
  })

  it.each(['7.0.3', '8.0.2'] as const)(
    'on %s: installs it, masked in the plan and the output, then writes nothing',
    async (profile) => {
      const h = host({ profile })
      const p = await h.plan(licence, key)
      expect(p.shown).toEqual([
        { summary: 'install the licence key', commands: ['vim-cmd vimsvc/license --set ********'] },
      ])
      const r = await h.apply(licence, key)
      expect(r.writes).toEqual([`vim-cmd vimsvc/license --set ${key}`])
      expect(h.state.licenseKey).toBe(key)
      expect(h.output.join('')).not.toContain(key)
      expect(h.output.join('')).toContain(
        'current: evaluation mode; wanted: a licence key (hidden)',
      )
      expect(h.secrets).toEqual([key])
      expect((await h.apply(licence, key)).writes).toEqual([])
    },
  )

  it('reads the key from the serial: line, or from whatever the host prints that is shaped like one', () => {
    expect(licenceSerial(`  serial: ${key.toLowerCase()}\n  name: x\n`)).toBe(key)
    expect(licenceSerial(`Serial: ${key}\n`)).toBe(key)
    expect(licenceSerial(`License Key: ${key}\n`)).toBe(key)
    expect(licenceSerial(`(vim.LicenseManager.LicenseInfo) {\n   licenseKey = "${key}",\n}`)).toBe(
      key,
    )
    expect(licenceSerial('[200] Complete, result is:\n  name: Evaluation Mode\n')).toBe('')
  })

  it('does not show a key the host already has', () => {
    expect(licence.show('ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ')).toBe('a licence key (hidden)')
  })

  it('is refused on ESX 9.x before anything runs', async () => {
    const h = host({ profile: '9.0' })
    expect(licence.unsupported?.('9.0.0')).toBe(
      "ESX 9.x hosts are licensed through vCenter; remove the licence key from this host's spec",
    )
    expect(licence.unsupported?.('8.0.2')).toBeNull()
    await expect(h.apply(licence, key)).rejects.toThrow('licensed through vCenter')
    expect(h.state.log).toEqual([])
  })
})

describe('maintenance mode', () => {
  it('enters and exits as wanted, reading Enabled and Disabled back', async () => {
    const h = host()
    expect((await h.apply(maintenanceMode, 'enter')).writes).toEqual([
      'esxcli system maintenanceMode set -e true',
    ])
    expect(h.output.at(-1)).toBe('verified: in maintenance mode\n')
    expect((await h.apply(maintenanceMode, 'enter')).writes).toEqual([])
    expect((await h.apply(maintenanceMode, 'exit')).writes).toEqual([
      'esxcli system maintenanceMode set -e false',
    ])
    expect(h.state.maintenanceMode).toBe(false)
  })

  it('fails on a reading that is neither Enabled nor Disabled', async () => {
    for (const loginWarning of ['banner', 'stdout'] as const) {
      const h = host({
        faults: [{ match: 'esxcli system maintenanceMode get', stdout: 'Entering\n' }],
        quirks: { loginWarning },
      })
      await expect(h.apply(maintenanceMode, 'exit')).rejects.toThrow(
        /^maintenanceMode get printed neither Enabled nor Disabled: Entering$/,
      )
    }
    expect(refusals(maintenanceMode, 'on')).toEqual(['maintenance mode is enter or exit'])
  })

  it('maps its CSV column', () => {
    expect(maintenanceMode.csv?.fromCsv({ maintenance_mode: ' Enter ' })).toBe('enter')
    expect(maintenanceMode.csv?.fromCsv({ maintenance_mode: '' })).toBeUndefined()
    expect(() => maintenanceMode.csv?.fromCsv({ maintenance_mode: 'yes' })).toThrow(
      'maintenance_mode is enter or exit, not yes',
    )
    expect(maintenanceMode.csv?.toCsv('exit')).toEqual({ maintenance_mode: 'exit' })
  })
})

describe('custom steps', () => {
  const timeout = (line: string) => ({
    name: 'Idle shell timeout',
    lines: [line],
    check: 'esxcli system settings advanced list -o /UserVars/ESXiShellInteractiveTimeOut',
    expect: '^\\s*Int Value: 900$',
  })
  const set900 =
    'esxcli system settings advanced set -o /UserVars/ESXiShellInteractiveTimeOut -i 900'

  it('skips a step whose check already matches: nothing but the check runs', async () => {
    const h = host({ advanced: { '/UserVars/ESXiShellInteractiveTimeOut': 900 } })
    const r = await h.apply(customSteps, [timeout(set900)])
    expect(r.writes).toEqual([])
    expect(h.state.log).toEqual([
      'esxcli system settings advanced list -o /UserVars/ESXiShellInteractiveTimeOut',
    ])
    expect(h.output).toEqual(['already Idle shell timeout: check matches; nothing to change\n'])
  })

  it('runs the lines of a step whose check does not match, in order, then checks again', async () => {
    const h = host()
    const p = await h.plan(customSteps, [timeout(set900)])
    expect(p.shown).toEqual([
      {
        summary: 'custom step Idle shell timeout (its check does not match /^\\s*Int Value: 900$/)',
        commands: [`sh -c '${set900}'`],
      },
    ])
    const r = await h.apply(customSteps, [timeout(set900)])
    expect(r.writes).toEqual([set900])
    expect(h.output.at(-1)).toBe('verified: Idle shell timeout: check matches\n')
  })

  it('fails a step whose check still does not match after its lines ran, with what the check printed', async () => {
    const h = host()
    const wrong =
      'esxcli system settings advanced set -o /UserVars/ESXiShellInteractiveTimeOut -i 600'
    const err = (await h.apply(customSteps, [timeout(wrong)]).catch((e: Error) => e)) as Error
    expect(err.message).toMatch(
      /^verification failed: read back Idle shell timeout: check printed /,
    )
    expect(err.message).toContain('Int Value: 600')
    expect(err.message).toContain('(exit 0), which does not match /^\\s*Int Value: 900$/')
  })

  it('stops at a line that fails, with what the host said', async () => {
    const h = host()
    const bad = 'esxcli system settings advanced set -o /UserVars/NoSuch -i 1'
    await expect(h.apply(customSteps, [timeout(bad)])).rejects.toThrow(
      `\`sh -c '${bad}'\` failed (exit 1): Error: Unable to find option NoSuch`,
    )
  })

  it('puts variables in the lines and the pattern, the pattern matching them literally', async () => {
    const h = host({}, { hostname: 'esx.01', domain: '' })
    const step = {
      name: 'Logs per host',
      lines: ['esxcli system syslog config set --logdir=/scratch/log/${hostname}'],
      check: 'esxcli system syslog config get',
      expect: 'Local Log Output: /scratch/log/${fqdn}$',
    }
    expect((await h.apply(customSteps, [step])).writes).toEqual([
      'esxcli system syslog config set --logdir=/scratch/log/esx.01',
    ])
    expect(
      fillPattern('^${hostname}$', {
        hostname: 'esx.01',
        domain: '',
        fqdn: 'esx.01',
        'mgmt.ip': '',
      }).test('esxx01'),
    ).toBe(false)
  })

  it('refuses unknown variables, open quotes, line breaks, bad patterns and twin names', () => {
    const step = { name: 'a', lines: ['true'], check: 'true', expect: 'x' }
    expect(refusals(customSteps, [{ ...step, lines: ['echo ${hostnme}'] }])).toEqual([
      'a line: ${hostnme} is not a variable Midwife knows (${hostname}, ${domain}, ${fqdn}, ${mgmt.ip}); for a shell variable write $hostnme without braces',
    ])
    expect(refusals(customSteps, [{ ...step, check: "echo 'open" }])).toEqual([
      "the check: a ' quote is not closed",
    ])
    expect(refusals(customSteps, [{ ...step, lines: ['echo ${hostname'] }])).toEqual([
      'a line: a ${ is not closed with }',
    ])
    expect(refusals(customSteps, [{ ...step, lines: ['true\nreboot'] }])).toEqual([
      'a line: it holds a line break; give one line per entry',
    ])
    // What the operator reviews must be what the host runs: no NUL, escape or direction mark.
    const invisible =
      "a line: it holds a control or invisible character (a NUL, an escape, a direction mark), which the host's shell would not show you"
    for (const line of ['echo ok\u0000; reboot', 'echo \u001b[8mhidden', 'echo \u202eton']) {
      expect(refusals(customSteps, [{ ...step, lines: [line] }])).toEqual([invisible])
    }
    expect(refusals(customSteps, [{ ...step, lines: ['printf "a\tb"'] }])).toEqual([])
    expect(refusals(customSteps, [{ ...step, lines: [`echo ${'x'.repeat(5000)}`] }])).toEqual([
      'a line: it is over 4,096 characters',
    ])
    expect(refusals(customSteps, [{ ...step, name: 'a\u200bb' }])).toEqual([
      'a step name has no control or invisible characters',
    ])
    expect(refusals(customSteps, [{ ...step, check: ' ' }])).toEqual([
      'a custom step needs a check command, so Midwife can tell whether it is needed',
    ])
    expect(refusals(customSteps, [{ ...step, lines: [] }])).toEqual([
      'a custom step needs at least one line',
    ])
    expect(refusals(customSteps, [{ ...step, expect: '(' }])[0]).toMatch(
      /^\( is not a regular expression: /,
    )
    expect(refusals(customSteps, [{ ...step, expect: '' }])).toEqual([
      'a custom step needs an expected pattern, so it runs only when needed',
    ])
    expect(refusals(customSteps, [step, step])).toEqual(['two steps are called a'])
    // A literal ${...} for the host's shell: escaped, or in a comment.
    expect(refusals(customSteps, [{ ...step, lines: ['echo \\${PATH} # ${x}'] }])).toEqual([])
  })

  it('refuses a pattern that repeats a group holding a repeat, the shape that backtracks without end', () => {
    const step = { name: 'a', lines: ['true'], check: 'true', expect: 'x' }
    for (const pattern of ['^(a+)+$', '(\\s*x)*', '(?:a*b)+!', '((a+)b){2,}', '(a{1,20}){20}']) {
      expect(refusals(customSteps, [{ ...step, expect: pattern }])).toEqual([
        `${pattern} repeats a group that holds a repeat itself (like (a+)+), which can take exponentially long to match a host's output; repeat only one of them (like (a)+ or a+)`,
      ])
    }
    for (const pattern of [
      '^\\s*Int Value: 900$',
      '^(\\d{1,3}\\.){3}\\d+$',
      '(ab)+',
      '[(a+)]+',
      '\\(a+\\)+',
      '(a?)+x',
      'Servers: (ntp1|ntp2)\\.lab',
      ...customSteps.example.map((s) => s.expect),
    ]) {
      expect(refusals(customSteps, [{ ...step, expect: pattern }])).toEqual([])
    }
  })

  it('stops a pattern that backtracks too long, naming the step, when a time budget is given', async () => {
    // Alternatives that match the same text: not refused by shape, stopped by the budget.
    const welcome = '/UserVars/HostClientWelcomeMessage'
    const h = host(
      { advanced: { [welcome]: `${'a'.repeat(40)}!` } },
      { match: (p, t) => boundedMatch(p, t, 100) },
    )
    const step = {
      name: 'Welcome of a',
      lines: ['true'],
      check: `esxcli system settings advanced list -o ${welcome}`,
      expect: '^   String Value: (a|a)*$',
    }
    expect(refusals(customSteps, [step])).toEqual([])
    const err = (await h.plan(customSteps, [step]).catch((e: Error) => e)) as Error
    expect(err.message).toMatch(/^custom step Welcome of a: \/\^ {3}String Value: \(a\|a\)\*\$\/ /)
    expect(err.message).toMatch(
      /was stopped after 0\.1 s matching \d+ characters of the check's output: simplify the pattern \(it backtracks too much\) or narrow the check's output$/,
    )
    expect(boundedMatch(/^\s*Int Value: 2$/m, 'x\n   Int Value: 2')).toBe(true)
    expect(boundedMatch(/^\s*Int Value: 2$/m, '   Int Value: 3')).toBe(false)
  })

  describe('values that hold quotes or $(...) stay inert under BusyBox ash', () => {
    let dir: string | undefined
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true })
      dir = undefined
    })

    it.each([
      ['bare', 'printf "%s|\\n" ${hostname} ${domain} ${fqdn} ${mgmt.ip}'],
      [
        'inside single quotes',
        "printf '%s|\\n' 'h=${hostname}' 'd=${domain}' 'f=${fqdn}' 'i=${mgmt.ip}'",
      ],
      [
        'inside double quotes',
        'printf "%s|\\n" "h=${hostname}" "d=${domain}" "f=${fqdn}" "i=${mgmt.ip}"',
      ],
    ])('%s', (where, line) => {
      dir = mkdtempSync(join(tmpdir(), 'midwife-inert-'))
      const values = {
        hostname: `it's`,
        domain: '$(echo >pwned-domain)',
        fqdn: '`echo >pwned-fqdn`; "x" \\ $HOME',
        'mgmt.ip': "'; echo >pwned-ip; '",
      }
      const filled = fillLine(line, values)
      const r = spawnSync('busybox', ['sh', '-c', filled], { cwd: dir, encoding: 'utf8', env: {} })
      expect(r.stderr).toBe('')
      const prefixes = where === 'bare' ? ['', '', '', ''] : ['h=', 'd=', 'f=', 'i=']
      expect(r.stdout).toBe(
        [values.hostname, values.domain, values.fqdn, values['mgmt.ip']]
          .map((v, i) => `${prefixes[i] ?? ''}${v}|\n`)
          .join(''),
      )
      expect(readdirSync(dir)).toEqual([])
    })
  })

  it('runs a quoted value through the whole engine as one literal argument', async () => {
    const h = host({}, { hostname: "x'$(reboot)" })
    const step = {
      name: 'Log folder',
      lines: ['esxcli system syslog config set --logdir=/scratch/log/${hostname}'],
      check: 'esxcli system syslog config get',
      expect: 'Local Log Output: /scratch/log/${hostname}$',
    }
    await h.apply(customSteps, [step])
    expect(h.state.syslog.logDir).toBe("/scratch/log/x'$(reboot)")
  })
})

import { describe, expect, it } from 'vitest'
import { runCommandLine } from '../esxi-sim/interpreter'
import { ESXI_PROFILES } from '../esxi-sim/profile'
import { defaultState, loadState, saveState } from '../esxi-sim/state'
import type { SimState } from '../esxi-sim/state'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const run = (s: SimState, line: string) => runCommandLine(line, s)
const KEY = 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE'

describe('version profiles print what esxi.md says each release prints', () => {
  it('8.0.2 (esxi.md’s sample, checked in esxi-sim-interpreter.test.ts) is the default', () => {
    const s = defaultState()
    expect(s.profile).toBe('8.0.2')
    expect(run(s, 'esxcli system version get')).toEqual(
      run(defaultState({ profile: '8.0.2' }), 'esxcli system version get'),
    )
    expect(run(s, 'vmware -v').stdout).toBe('VMware ESXi 8.0.2 build-22380479\n')
  })

  it('7.0.3: the keyvalue line esxi.md quotes, and no Maintenance field', () => {
    const s = defaultState({ profile: '7.0.3' })
    expect(run(s, 'esxcli --formatter=keyvalue system version get').stdout).toContain(
      'VersionGet.Version.string=7.0.3\n',
    )
    const plain = run(s, 'esxcli system version get').stdout
    expect(plain).toContain('   Product: VMware ESXi\n')
    expect(plain).toContain('   Update: 3\n')
    expect(plain).not.toContain('Maintenance')
  })

  it('9.0 adds `Maintenance: 0` and calls itself ESX, not ESXi', () => {
    const s = defaultState({ profile: '9.0' })
    const plain = run(s, 'esxcli system version get').stdout
    expect(plain).toMatch(/^ {3}Product: VMware ESX\n/)
    expect(plain).toContain('   Version: 9.0.0\n')
    expect(plain.trimEnd().split('\n').at(-1)).toBe('   Maintenance: 0')
    expect(run(s, 'vmware -v').stdout).toMatch(/^VMware ESX 9\.0\.0 build-\d+\n$/)
    const json = JSON.parse(run(s, 'esxcli --formatter=json system version get').stdout) as {
      Maintenance: string
    }
    expect(json.Maintenance).toBe('0')
  })

  it.each(['7.0.3', '8.0.2'] as const)('%s takes a licence key with vim-cmd', (profile) => {
    const s = defaultState({ profile })
    const set = run(s, `vim-cmd vimsvc/license --set ${KEY}`)
    expect(set.code).toBe(0)
    const show = run(s, 'vim-cmd vimsvc/license --show').stdout
    expect(show).toContain(`  serial: ${KEY}\n`)
    expect(show).toContain(`  name: VMware vSphere ${profile[0]} Enterprise Plus\n`)
    expect(s.log).toEqual([`vim-cmd vimsvc/license --set ${KEY}`, 'vim-cmd vimsvc/license --show'])
  })

  it('9.0 refuses a licence key: hosts are licensed through vCenter', () => {
    const s = defaultState({ profile: '9.0' })
    const before = s.licenseKey
    const set = run(s, `vim-cmd vimsvc/license --set ${KEY}`)
    expect(set.code).toBe(1)
    expect(set.stdout + set.stderr).toBe(
      'License assignment is not supported on this host: VMware ESX 9.0.0 is licensed through vCenter\n',
    )
    expect(set.stdout + set.stderr).not.toContain(KEY)
    expect(s.licenseKey).toBe(before)
    expect(run(s, 'vim-cmd vimsvc/license --show').stdout).toContain(
      '  name: Licensed through vCenter\n',
    )
  })

  it.each(ESXI_PROFILES)('%s has the ntp namespace (7.0 Update 1 and later)', (profile) => {
    const s = defaultState({ profile })
    expect(run(s, 'esxcli system ntp set -s 127.0.0.123 -e true').code).toBe(0)
    expect(run(s, 'esxcli system ntp get').stdout).toBe(
      '   Enabled: true\n   Servers: 127.0.0.123\n',
    )
  })

  it('a host before 7.0 Update 1 has no ntp namespace: behaviour follows the version', () => {
    const s = defaultState({ profile: '7.0.3' })
    s.version.version = '7.0.0'
    s.version.update = '0'
    expect(run(s, 'esxcli system ntp get')).toEqual({
      stdout: 'Error: Unknown command or namespace system ntp get\n',
      stderr: '',
      code: 1,
    })
    expect(s.ntp).toEqual({ enabled: false, servers: [] })
  })

  it('a state file keeps its profile, and an unknown profile is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'esxi-sim-profile-'))
    try {
      const path = join(dir, 'state.json')
      saveState(path, defaultState({ profile: '9.0' }))
      const loaded = loadState(path)
      expect(loaded.profile).toBe('9.0')
      expect(loaded.version.maintenance).toBe('0')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(() => defaultState({ profile: '6.7' as never })).toThrow(/unknown ESXi profile 6\.7/)
  })
})

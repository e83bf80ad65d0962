// The switching settings (vSwitches, port groups, VMkernel NICs) against the
// simulated host: a whole design applied in catalogue order and verified on
// every release, whatever the unconfirmed quirks answer; then the edge cases
// of each diff, every refusal and what it says, the schemas' messages and the
// CSV columns.
import { describe, expect, it } from 'vitest'
import { commandLine } from '../../main/catalogue/shell'
import { portgroups, type PortgroupRow } from '../../main/catalogue/settings/portgroups'
import { vmknics, type VmknicRow } from '../../main/catalogue/settings/vmknics'
import { vswitches, type VswitchRow } from '../../main/catalogue/settings/vswitches'
import { checkSwitchingDesign } from '../../main/catalogue/switching-checks'
import type { AnySetting } from '../../main/catalogue/types'
import { applySetting, CachedReader, planSetting } from '../../main/core/configure/apply'
import { isWriteCommand, runCommandLine } from '../esxi-sim/interpreter'
import { ESXI_PROFILES } from '../esxi-sim/profile'
import { defaultState, type SimOverrides, type SimState } from '../esxi-sim/state'
import { memoryHost } from '../support/sim-shell'

const ctx = (version: string | null) => ({
  hostname: 'esx01',
  domain: 'lab.local',
  address: '127.0.0.1',
  version,
})

function host(overrides: SimOverrides = {}) {
  const h = memoryHost(overrides)
  const c = ctx(h.state.version.version)
  const writes = (from = 0) => h.state.log.slice(from).filter(isWriteCommand)
  return {
    ...h,
    writes,
    /** The plan: the commands as the operator reads them, per change. */
    async plan(setting: AnySetting, wanted: unknown) {
      const p = await planSetting(
        new CachedReader(h.shell, c.version),
        setting,
        setting.value.parse(wanted),
        c,
      )
      return p.changes.map((ch) => ({
        summary: ch.summary,
        commands: ch.commands.map((cmd) => commandLine(cmd.words)),
      }))
    },
    apply(setting: AnySetting, wanted: unknown, reader = new CachedReader(h.shell, c.version)) {
      return applySetting(h.shell, reader, setting, setting.value.parse(wanted), c, () => undefined)
    },
    /** Applies, and checks the host then matches: a second pass plans nothing. */
    async converge(setting: AnySetting, wanted: unknown) {
      const first = await this.apply(setting, wanted)
      const mark = h.state.log.length
      expect(await this.plan(setting, wanted)).toEqual([])
      expect(writes(mark)).toEqual([])
      return first
    },
  }
}

const vswitchOf = (s: SimState, name: string) => s.vswitches.find((v) => v.name === name)

/** A host whose vmnic1 is on a vSwitch1 of its own. */
const twoSwitches = (): SimOverrides => ({
  vswitches: [
    ...defaultState().vswitches,
    { name: 'vSwitch1', mtu: 1500, numPorts: 2560, uplinks: ['vmnic1'], portgroups: [] },
  ],
})

const design = {
  vswitches: [
    { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: [] },
    { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'], standby: [] },
  ],
  portgroups: [
    { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
    { name: 'Provisioning', vswitch: 'vSwitch1', vlan: 21 },
    { name: 'VM Network', vswitch: 'vSwitch0', vlan: 30 },
  ],
  vmknics: [
    {
      portgroup: 'vMotion',
      ipv4: '10.0.20.11/24',
      mtu: 9000,
      tags: ['VMotion', 'vSphereProvisioning'],
    },
    { portgroup: 'Provisioning', ipv4: 'dhcp', mtu: 1500, tags: ['faultToleranceLogging'] },
  ],
}

describe.each(ESXI_PROFILES)('ESXi %s: a whole switching design', (profile) => {
  describe.each([
    { duplicates: 'error', errorStream: 'stdout' },
    { duplicates: 'ignore', errorStream: 'stderr' },
  ] as const)('with duplicates: $duplicates, errors on $errorStream', (quirks) => {
    it('applies in catalogue order, verifies each setting, and writes nothing the second time', async () => {
      const h = host({
        profile,
        quirks,
        dhcpLeases: {
          vmk2: { address: '10.0.21.50', netmask: '255.255.255.0', gateway: '10.0.21.1' },
        },
      })
      for (const s of [vswitches, portgroups, vmknics]) {
        const r = await h.converge(s, design[s.key as keyof typeof design])
        expect(r.writes, s.key).toBeGreaterThan(0)
      }
      const s = h.state
      expect(vswitchOf(s, 'vSwitch1')).toMatchObject({ mtu: 9000, uplinks: ['vmnic1'] })
      expect(s.portgroups).toEqual([
        { name: 'VM Network', vswitch: 'vSwitch0', vlanId: 30 },
        { name: 'Management Network', vswitch: 'vSwitch0', vlanId: 0 },
        { name: 'vMotion', vswitch: 'vSwitch1', vlanId: 20 },
        { name: 'Provisioning', vswitch: 'vSwitch1', vlanId: 21 },
      ])
      expect(s.vmknics.map((v) => [v.name, v.portgroup, v.mtu, v.ipv4.address, v.tags])).toEqual([
        ['vmk0', 'Management Network', 1500, '127.0.0.1', ['Management']],
        ['vmk1', 'vMotion', 9000, '10.0.20.11', ['VMotion', 'vSphereProvisioning']],
        ['vmk2', 'Provisioning', 1500, '10.0.21.50', ['faultToleranceLogging']],
      ])

      // A re-run with one reader for the three settings lists each namespace once.
      const mark = s.log.length
      const reader = new CachedReader(h.shell, s.version.version)
      for (const setting of [vswitches, portgroups, vmknics]) {
        const again = await h.apply(setting, design[setting.key as keyof typeof design], reader)
        expect(again.writes).toBe(0)
      }
      const ran = s.log.slice(mark)
      expect(h.writes(mark)).toEqual([])
      for (const listing of [
        'esxcli network vswitch standard list',
        'esxcli network vswitch standard portgroup list',
        'esxcli network ip interface list',
        'esxcli network ip interface ipv4 get',
      ]) {
        expect(
          ran.filter((l) => l === listing),
          listing,
        ).toHaveLength(1)
      }
    })
  })
})

describe('vSwitches', () => {
  it('plans only what differs: an MTU, then the failover order of reordered uplinks', async () => {
    const h = host({ ...twoSwitches(), nics: withNics(3) })
    h.state.vswitches[0]?.uplinks.push('vmnic2')
    expect(
      await h.plan(vswitches, [
        { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic2'], standby: ['vmnic0'] },
        { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'] },
      ]),
    ).toEqual([
      {
        summary: 'vSwitch1 MTU 1500 -> 9000',
        commands: ['esxcli network vswitch standard set -v vSwitch1 -m 9000'],
      },
      {
        summary: 'vSwitch0: active vmnic2, standby vmnic0',
        commands: [
          'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic2 -s vmnic0',
        ],
      },
    ])
    await h.converge(vswitches, [
      { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic2'], standby: ['vmnic0'] },
      { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'] },
    ])
    expect(vswitchOf(h.state, 'vSwitch0')?.failover).toEqual({
      active: ['vmnic2'],
      standby: ['vmnic0'],
    })
    // Back to both active: one failover set takes vmnic0 out of standby.
    expect(
      await h.plan(vswitches, [{ name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0', 'vmnic2'] }]),
    ).toEqual([
      {
        summary: 'vSwitch0: active vmnic0, vmnic2',
        commands: [
          'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic0,vmnic2',
        ],
      },
    ])
  })

  it('creates a missing vSwitch with its MTU, uplinks and failover order', async () => {
    const h = host({ nics: withNics(4) })
    expect(
      await h.plan(vswitches, [
        { name: 'vSwitch2', mtu: 9000, uplinks: ['vmnic2'], standby: ['vmnic3'] },
      ]),
    ).toEqual([
      {
        summary: 'create vSwitch2 with MTU 9000',
        commands: [
          'esxcli network vswitch standard add -v vSwitch2',
          'esxcli network vswitch standard set -v vSwitch2 -m 9000',
        ],
      },
      {
        summary: 'vSwitch2: add vmnic2, vmnic3',
        commands: [
          'esxcli network vswitch standard uplink add -u vmnic2 -v vSwitch2',
          'esxcli network vswitch standard uplink add -u vmnic3 -v vSwitch2',
        ],
      },
      {
        summary: 'vSwitch2: active vmnic2, standby vmnic3',
        commands: [
          'esxcli network vswitch standard policy failover set -v vSwitch2 -a vmnic2 -s vmnic3',
        ],
      },
    ])
  })

  it('moves an uplink between named vSwitches: removed from one before it is added to the other', async () => {
    const h = host()
    h.state.vswitches[0]?.uplinks.push('vmnic1')
    const wanted = [
      { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'] },
      { name: 'vSwitch1', mtu: 1500, uplinks: ['vmnic1'] },
    ]
    expect((await h.plan(vswitches, wanted)).flatMap((c) => c.commands)).toEqual([
      'esxcli network vswitch standard add -v vSwitch1',
      'esxcli network vswitch standard set -v vSwitch1 -m 1500',
      'esxcli network vswitch standard uplink remove -u vmnic1 -v vSwitch0',
      'esxcli network vswitch standard uplink add -u vmnic1 -v vSwitch1',
      'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic0',
      'esxcli network vswitch standard policy failover set -v vSwitch1 -a vmnic1',
    ])
    await h.converge(vswitches, wanted)
    expect(vswitchOf(h.state, 'vSwitch0')?.uplinks).toEqual(['vmnic0'])
  })

  it('moves the management network to a new uplink: the new one is added before the old one goes', async () => {
    const h = host()
    const wanted = [{ name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic1'] }]
    expect((await h.plan(vswitches, wanted)).flatMap((c) => c.commands)).toEqual([
      'esxcli network vswitch standard uplink add -u vmnic1 -v vSwitch0',
      'esxcli network vswitch standard uplink remove -u vmnic0 -v vSwitch0',
      'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic1',
    ])
    await h.converge(vswitches, wanted)
    expect(vswitchOf(h.state, 'vSwitch0')?.uplinks).toEqual(['vmnic1'])
  })

  it('removes uplinks the design drops, and never touches or deletes a vSwitch it does not name', async () => {
    const h = host({ ...twoSwitches(), nics: withNics(3) })
    h.state.vswitches.push({
      name: 'vSwitch2',
      mtu: 1500,
      numPorts: 2560,
      uplinks: ['vmnic2'],
      portgroups: [],
    })
    const wanted = [{ name: 'vSwitch1', mtu: 1500, uplinks: [] }]
    expect(await h.plan(vswitches, wanted)).toEqual([
      {
        summary: 'vSwitch1: remove vmnic1',
        commands: ['esxcli network vswitch standard uplink remove -u vmnic1 -v vSwitch1'],
      },
    ])
    await h.converge(vswitches, wanted)
    expect(h.state.vswitches.map((v) => [v.name, v.uplinks])).toEqual([
      ['vSwitch0', ['vmnic0']],
      ['vSwitch1', []],
      ['vSwitch2', ['vmnic2']],
    ])
  })

  describe('refuses, before anything runs', () => {
    async function refused(h: ReturnType<typeof host>, wanted: unknown): Promise<string> {
      const mark = h.state.log.length
      const err = await h.apply(vswitches, wanted).then(
        () => new Error('applied'),
        (e: unknown) => e as Error,
      )
      expect(h.writes(mark)).toEqual([])
      return err.message
    }

    it('to take the last uplink off the vSwitch that carries the connection', async () => {
      expect(await refused(host(), [{ name: 'vSwitch0', mtu: 1500, uplinks: [] }])).toBe(
        "vSwitch0 carries Midwife's connection (vmk0 on Management Network); removing vmnic0 would cut the host off the network, because the design leaves it no uplink. " +
          'Keep an uplink with a live link on vSwitch0: add the new uplink next to the old one in one run, and remove the old one in the next.',
      )
    })

    it('to swap uplinks, which would leave the management vSwitch without one in between', async () => {
      const msg = await refused(host(twoSwitches()), [
        { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic1'] },
        { name: 'vSwitch1', mtu: 1500, uplinks: ['vmnic0'] },
      ])
      expect(msg).toContain('removing vmnic0 would cut the host off the network')
      expect(msg).toContain('because vmnic1 is still on vSwitch1 until then')
    })

    it('to move the connection to an uplink without link', async () => {
      const h = host()
      const nic = h.state.nics[1]
      if (nic) nic.link = 'Down'
      expect(await refused(h, [{ name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic1'] }])).toContain(
        'removing vmnic0 would cut the host off the network, because vmnic1 has no link',
      )
    })

    it('to rely on an uplink that stays unused until the failover order is set', async () => {
      const h = host()
      const v0 = vswitchOf(h.state, 'vSwitch0')
      v0?.uplinks.push('vmnic1')
      if (v0) v0.failover = { active: ['vmnic0'], standby: [] }
      expect(await refused(h, [{ name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic1'] }])).toContain(
        'because vmnic1 is unused until the failover order is set',
      )
    })

    it('to use a NIC the host does not have', async () => {
      expect(await refused(host(), [{ name: 'vSwitch1', mtu: 1500, uplinks: ['vmnic7'] }])).toBe(
        'vmnic7 is not a physical NIC on this host (it has vmnic0, vmnic1)',
      )
    })

    it('to take an uplink from a vSwitch the design does not name', async () => {
      expect(
        await refused(host(twoSwitches()), [{ name: 'vSwitch2', mtu: 1500, uplinks: ['vmnic1'] }]),
      ).toBe(
        'vmnic1 is an uplink of vSwitch1, which the design does not name: Midwife leaves vSwitch1 alone, so it cannot give vmnic1 to vSwitch2. ' +
          'Add vSwitch1 to the table with the uplinks it keeps, or move vmnic1 by hand.',
      )
    })
  })

  it('refuses a name a spreadsheet would run as a formula, or esxcli take for an option', () => {
    const startsWrong = (name: string) =>
      `${name} may not start with =, +, - or @ (a spreadsheet opening the CSV export would run it as a formula, and esxcli would take -... for an option)`
    expect(
      messages(vswitches, [
        { name: '=HYPERLINK("http//evil")', uplinks: ['vmnic1'] },
        { name: '-v', uplinks: ['vmnic2'] },
      ]),
    ).toEqual([
      `0.name: ${startsWrong('=HYPERLINK("http//evil")')}`,
      `1.name: ${startsWrong('-v')}`,
    ])
    expect(
      messages(portgroups, [
        { name: '@SUM(1)', vswitch: 'vSwitch0', vlan: 0 },
        { name: 'vMotion', vswitch: '+vSwitch1', vlan: 20 },
      ]),
    ).toEqual([`0.name: ${startsWrong('@SUM(1)')}`, `1.vswitch: ${startsWrong('+vSwitch1')}`])
    expect(messages(portgroups, [{ name: 'VM-Network-2', vswitch: 'vSwitch0', vlan: 0 }])).toEqual(
      [],
    )
  })

  it('tells people what is wrong with a table', () => {
    expect(
      messages(vswitches, [
        { name: 'vSwitch1', mtu: 9001, uplinks: ['eth0'] },
        { name: 'vSwitch1', uplinks: ['vmnic1', 'vmnic1'] },
        { name: 'vSwitch2', uplinks: ['vmnic1'] },
        { name: 'vSwitch3', standby: ['vmnic3'] },
        { name: 'a:b' },
        { name: 'VM\u202eNetwork' },
        { name: 'x'.repeat(129) },
      ]),
    ).toEqual([
      '0.mtu: an MTU is at most 9000',
      '0.uplinks.0: eth0 is not a physical NIC name like vmnic0',
      '3.uplinks: vSwitch3 has standby uplinks but no active one: put the first one under Active uplinks',
      '4.name: a:b may not contain : or ; (they separate fields in the CSV columns), control or invisible characters',
      '5.name: VM\u202eNetwork may not contain : or ; (they separate fields in the CSV columns), control or invisible characters',
      '6.name: a name is at most 128 characters',
      '1.name: vSwitch1 is listed twice',
      '1.uplinks: vmnic1 is listed twice on vSwitch1',
      '2.uplinks: vmnic1 is an uplink of vSwitch1 and of vSwitch2: a physical NIC belongs to one vSwitch',
    ])
    expect(
      messages(vswitches, [
        { name: 'vSwitch1', uplinks: ['vmnic1', 'vmnic1'] },
        { name: 'vSwitch1', uplinks: ['vmnic2'] },
        { name: 'vSwitch2', uplinks: ['vmnic0'], standby: ['vmnic2'] },
      ]),
    ).toEqual([
      '1.name: vSwitch1 is listed twice',
      '0.uplinks: vmnic1 is listed twice on vSwitch1',
      '2.standby: vmnic2 is an uplink of vSwitch1 and of vSwitch2: a physical NIC belongs to one vSwitch',
    ])
    expect(messages(vswitches, [])).toEqual([': add at least one vSwitch'])
  })

  it('maps to one CSV column: name:mtu:active:standby, uplinks joined by +, vSwitches by ;', () => {
    const csv = vswitches.csv
    if (!csv) throw new Error('vswitches has no CSV mapping')
    const value = vswitches.value.parse([
      { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: ['vmnic1'] },
      { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic2', 'vmnic3'] },
    ])
    expect(csv.toCsv(value)).toEqual({
      vswitches: 'vSwitch0:1500:vmnic0:vmnic1;vSwitch1:9000:vmnic2+vmnic3',
    })
    expect(csv.fromCsv(csv.toCsv(value))).toEqual(value)
    expect(csv.fromCsv({ vswitches: ' vSwitch1 : : vmnic2 + vmnic3 ; ' })).toEqual([
      { name: 'vSwitch1', mtu: 1500, uplinks: ['vmnic2', 'vmnic3'], standby: [] },
    ])
    expect(csv.fromCsv({ vswitches: '' })).toBeUndefined()
    expect(() => csv.fromCsv({ vswitches: 'vSwitch1:jumbo:vmnic2' })).toThrow(
      'vswitches: the MTU of vSwitch1 jumbo is not a whole number',
    )
    expect(() => csv.fromCsv({ vswitches: 'vSwitch1:9000:vmnic2:vmnic3:vmnic4' })).toThrow(
      'has 5 fields; write name:mtu:active uplinks:standby uplinks',
    )
  })
})

describe('port groups', () => {
  it('adds what is missing with its VLAN, sets the VLAN of one that exists, leaves the rest', async () => {
    const h = host()
    const wanted = [
      { name: 'vMotion', vswitch: 'vSwitch0', vlan: 20 },
      { name: 'VM Network', vswitch: 'vSwitch0', vlan: 30 },
    ]
    expect(await h.plan(portgroups, wanted)).toEqual([
      {
        summary: 'add vMotion on vSwitch0, VLAN 20',
        commands: [
          'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch0',
          'esxcli network vswitch standard portgroup set -p vMotion -v 20',
        ],
      },
      {
        summary: 'VM Network VLAN 0 -> 30',
        commands: ["esxcli network vswitch standard portgroup set -p 'VM Network' -v 30"],
      },
    ])
    await h.converge(portgroups, wanted)
    // The management port group, not named, is untouched.
    expect(h.state.portgroups.find((p) => p.name === 'Management Network')).toEqual({
      name: 'Management Network',
      vswitch: 'vSwitch0',
      vlanId: 0,
    })
  })

  it('moves an unused port group to its vSwitch: removed, added again, VLAN set', async () => {
    const h = host(twoSwitches())
    h.state.portgroups.push({ name: 'vMotion', vswitch: 'vSwitch0', vlanId: 20 })
    vswitchOf(h.state, 'vSwitch0')?.portgroups.push('vMotion')
    const wanted = [{ name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 }]
    expect(await h.plan(portgroups, wanted)).toEqual([
      {
        summary:
          'move vMotion from vSwitch0 to vSwitch1 (unused, so removed and added again), VLAN 20',
        commands: [
          'esxcli network vswitch standard portgroup remove -p vMotion -v vSwitch0',
          'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch1',
          'esxcli network vswitch standard portgroup set -p vMotion -v 20',
        ],
      },
    ])
    await h.converge(portgroups, wanted)
    expect(vswitchOf(h.state, 'vSwitch1')?.portgroups).toEqual(['vMotion'])
  })

  it('refuses to move a port group in use, and says why', async () => {
    const h = host(twoSwitches())
    await h.converge(portgroups, [{ name: 'vMotion', vswitch: 'vSwitch0', vlan: 20 }])
    await h.converge(vmknics, [{ portgroup: 'vMotion', ipv4: '10.0.20.11/24' }])
    await expect(
      h.plan(portgroups, [{ name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 }]),
    ).rejects.toThrow(
      'vMotion is on vSwitch0, not vSwitch1, and has 1 active client (VMkernel NICs or VM ports). ' +
        'Moving a port group means removing it and adding it again, which would disconnect them: move or remove its clients, then run again.',
    )
  })

  it("refuses to change the VLAN or vSwitch of the port group Midwife's connection runs through", async () => {
    const h = host(twoSwitches())
    await expect(
      h.plan(portgroups, [{ name: 'Management Network', vswitch: 'vSwitch0', vlan: 100 }]),
    ).rejects.toThrow(
      "Management Network carries Midwife's connection (vmk0): its VLAN (0 -> 100) is the management network setting's, which changes it last and survives the connection dropping. Take Management Network out of the port group table.",
    )
    await expect(
      h.plan(portgroups, [{ name: 'Management Network', vswitch: 'vSwitch1', vlan: 0 }]),
    ).rejects.toThrow(
      "Management Network carries Midwife's connection (vmk0): moving it from vSwitch0 to vSwitch1 would cut the host off mid-run. Keep it on vSwitch0 in the table, or move it at the console.",
    )
    // Listed as it is, it is fine.
    expect(
      await h.plan(portgroups, [{ name: 'Management Network', vswitch: 'vSwitch0', vlan: 0 }]),
    ).toEqual([])
  })

  it("fails with the host's own answer when the vSwitch does not exist", async () => {
    const h = host()
    await expect(h.apply(portgroups, [{ name: 'vMotion', vswitch: 'vSwitch9' }])).rejects.toThrow(
      '`esxcli network vswitch standard portgroup add -p vMotion -v vSwitch9` failed (exit 1)',
    )
  })

  it('tells people what is wrong with a table', () => {
    expect(
      messages(portgroups, [
        { name: 'vMotion', vswitch: 'vSwitch1', vlan: 4096 },
        { name: 'vMotion', vswitch: '', vlan: 1.5 },
      ]),
    ).toEqual([
      '0.vlan: a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)',
      '1.vswitch: a name is needed',
      '1.vlan: a VLAN ID is a whole number from 0 to 4095',
    ])
    expect(
      messages(portgroups, [
        { name: 'vMotion', vswitch: 'vSwitch1' },
        { name: 'vMotion', vswitch: 'vSwitch0' },
      ]),
    ).toEqual(['1.name: vMotion is listed twice: a port group name is unique on the host'])
  })

  it('maps to one CSV column: name:vswitch:vlan, port groups by ;', () => {
    const csv = portgroups.csv
    if (!csv) throw new Error('portgroups has no CSV mapping')
    const value: PortgroupRow[] = [
      { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
      { name: 'VM Network', vswitch: 'vSwitch0', vlan: 0 },
    ]
    expect(csv.toCsv(value)).toEqual({ portgroups: 'vMotion:vSwitch1:20;VM Network:vSwitch0:0' })
    expect(csv.fromCsv(csv.toCsv(value))).toEqual(value)
    expect(csv.fromCsv({ portgroups: 'Storage:vSwitch1' })).toEqual([
      { name: 'Storage', vswitch: 'vSwitch1', vlan: 0 },
    ])
    expect(() => csv.fromCsv({ portgroups: 'Storage' })).toThrow(
      'portgroups: "Storage" should be name:vswitch:vlan, like vMotion:vSwitch1:20',
    )
  })
})

describe('VMkernel NICs', () => {
  it('adds one on the next free vmkN, and a re-run finds it by its port group', async () => {
    const h = host()
    await h.converge(portgroups, [
      { name: 'vMotion', vswitch: 'vSwitch0' },
      { name: 'vSAN', vswitch: 'vSwitch0' },
      { name: 'iSCSI', vswitch: 'vSwitch0' },
    ])
    // A NIC made earlier, and not in the table now, holds vmk1.
    await h.apply(vmknics, [{ portgroup: 'iSCSI', ipv4: '10.0.40.11/24' }])
    const wanted = [
      { portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 1500, tags: ['VMotion'] },
      { portgroup: 'vSAN', ipv4: '10.0.30.11/24', mtu: 1500, tags: ['vSAN'] },
    ]
    expect(await h.plan(vmknics, wanted)).toEqual([
      {
        summary: 'add vmk2 on vMotion: 10.0.20.11/24, MTU 1500, VMotion',
        commands: [
          'esxcli network ip interface add -i vmk2 -p vMotion',
          'esxcli network ip interface set -m 1500 -i vmk2',
          'esxcli network ip interface ipv4 set -i vmk2 -t static -I 10.0.20.11 -N 255.255.255.0',
          'esxcli network ip interface tag add -i vmk2 -t VMotion',
        ],
      },
      {
        summary: 'add vmk3 on vSAN: 10.0.30.11/24, MTU 1500, vSAN',
        commands: [
          'esxcli network ip interface add -i vmk3 -p vSAN',
          'esxcli network ip interface set -m 1500 -i vmk3',
          'esxcli network ip interface ipv4 set -i vmk3 -t static -I 10.0.30.11 -N 255.255.255.0',
          'esxcli network ip interface tag add -i vmk3 -t vSAN',
        ],
      },
    ])
    await h.converge(vmknics, wanted)
    // Changing its address, MTU and services changes that NIC, not a new one.
    const changed = [
      {
        portgroup: 'vMotion',
        ipv4: '10.0.20.12/24',
        mtu: 9000,
        tags: ['vSphereProvisioning'],
      },
    ]
    expect(await h.plan(vmknics, changed)).toEqual([
      {
        summary:
          'vmk2 on vMotion: MTU 1500 -> 9000; 10.0.20.11/24 -> 10.0.20.12/24; tag vSphereProvisioning; untag VMotion',
        commands: [
          'esxcli network ip interface set -m 9000 -i vmk2',
          'esxcli network ip interface ipv4 set -i vmk2 -t static -I 10.0.20.12 -N 255.255.255.0',
          'esxcli network ip interface tag add -i vmk2 -t vSphereProvisioning',
          'esxcli network ip interface tag remove -i vmk2 -t VMotion',
        ],
      },
    ])
    await h.converge(vmknics, changed)
    expect(h.state.vmknics.map((v) => `${v.name}:${v.portgroup}`)).toEqual([
      'vmk0:Management Network',
      'vmk1:iSCSI',
      'vmk2:vMotion',
      'vmk3:vSAN',
    ])
  })

  it('after a run that failed half way, the next one finishes the same NIC', async () => {
    const h = host({
      faults: [{ match: 'esxcli network ip interface ipv4 set -i vmk1', stderr: 'busy', code: 1 }],
    })
    const wanted = [{ portgroup: 'VM Network', ipv4: '10.0.20.11/24', tags: ['VMotion'] }]
    await expect(h.apply(vmknics, wanted)).rejects.toThrow(
      '`esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.0` failed (exit 1): busy',
    )
    h.state.faults = []
    expect((await h.plan(vmknics, wanted)).flatMap((c) => c.commands)).toEqual([
      'esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.0',
      'esxcli network ip interface tag add -i vmk1 -t VMotion',
    ])
    await h.converge(vmknics, wanted)
    expect(h.state.vmknics.map((v) => v.name)).toEqual(['vmk0', 'vmk1'])
  })

  it('switches between DHCP and a static address, and leaves tags it does not manage', async () => {
    const h = host({
      dhcpLeases: {
        vmk1: { address: '10.0.21.50', netmask: '255.255.255.0', gateway: '10.0.21.1' },
      },
    })
    await h.converge(vmknics, [{ portgroup: 'VM Network', ipv4: 'DHCP', tags: ['vmotion'] }])
    expect(h.state.vmknics[1]?.ipv4).toMatchObject({ type: 'DHCP', address: '10.0.21.50' })
    h.state.vmknics[1]?.tags.push('vSphereReplication')
    await h.converge(vmknics, [{ portgroup: 'VM Network', ipv4: '10.0.21.11/24', tags: [] }])
    expect(h.state.vmknics[1]?.ipv4).toMatchObject({ type: 'STATIC', address: '10.0.21.11' })
    expect(h.state.vmknics[1]?.tags).toEqual(['vSphereReplication'])
  })

  it("refuses the port group of Midwife's connection, and an address another NIC holds", async () => {
    const h = host({
      dhcpLeases: {
        vmk1: { address: '10.0.21.50', netmask: '255.255.255.0', gateway: '10.0.21.1' },
      },
    })
    await expect(
      h.plan(vmknics, [{ portgroup: 'Management Network', ipv4: '10.0.0.11/24' }]),
    ).rejects.toThrow(
      "Management Network holds vmk0, which carries Midwife's connection; its address is the management network setting's. Take Management Network out of this table, or give the NIC a port group of its own.",
    )
    await expect(
      h.plan(vmknics, [{ portgroup: 'VM Network', ipv4: '127.0.0.1/8' }]),
    ).rejects.toThrow(
      "127.0.0.1 is vmk0's address now (on Management Network); two interfaces would share it. Give VM Network another address, or change vmk0 first.",
    )
    await h.converge(portgroups, [{ name: 'vSAN', vswitch: 'vSwitch0' }])
    await h.converge(vmknics, [{ portgroup: 'VM Network', ipv4: 'dhcp' }])
    await expect(h.plan(vmknics, [{ portgroup: 'vSAN', ipv4: '10.0.21.50/24' }])).rejects.toThrow(
      "10.0.21.50 is vmk1's address now (on VM Network)",
    )
  })

  it('tells people what is wrong with a table', () => {
    expect(
      messages(vmknics, [
        { portgroup: 'vMotion', ipv4: '10.0.20.11', tags: ['VMotion', 'vmotion'] },
        { portgroup: 'vSAN', ipv4: '10.0.30.0/24', mtu: 1000, tags: ['iSCSI'] },
        { portgroup: 'Prov', ipv4: '10.0.30.7/24' },
        { portgroup: 'Prov2', ipv4: '10.0.30.7/25' },
      ]),
    ).toEqual([
      '0.ipv4: 10.0.20.11 is not dhcp or an address with its prefix, like 10.0.20.11/24',
      '0.tags: VMotion is listed twice',
      '1.ipv4: 10.0.30.0 is the network address of 10.0.30.0/24, not a host address',
      '1.mtu: an MTU is at least 1280',
      '1.tags.0: iSCSI is not a VMkernel service: use VMotion, vSphereProvisioning, faultToleranceLogging, vSAN, Management',
    ])
    expect(
      messages(vmknics, [
        { portgroup: 'vMotion', ipv4: '10.0.30.7/24' },
        { portgroup: 'vMotion', ipv4: '10.0.30.7/25' },
      ]),
    ).toEqual([
      '1.portgroup: vMotion is listed twice: ESXi takes one VMkernel NIC per port group',
      '1.ipv4: 10.0.30.7 is given to vMotion and vMotion: each VMkernel NIC needs its own address',
    ])
  })

  it('maps to one CSV column: portgroup:ipv4:mtu:services, services by +, NICs by ;', () => {
    const csv = vmknics.csv
    if (!csv) throw new Error('vmknics has no CSV mapping')
    const value: VmknicRow[] = [
      { portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000, tags: ['VMotion', 'vSAN'] },
      { portgroup: 'Provisioning', ipv4: 'dhcp', mtu: 1500, tags: [] },
    ]
    expect(csv.toCsv(value)).toEqual({
      vmknics: 'vMotion:10.0.20.11/24:9000:VMotion+vSAN;Provisioning:dhcp:1500:',
    })
    expect(csv.fromCsv(csv.toCsv(value))).toEqual(value)
    expect(vmknics.value.parse(csv.fromCsv({ vmknics: 'vMotion:10.0.20.11/24' }))).toEqual([
      { portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 1500, tags: [] },
    ])
    expect(() => csv.fromCsv({ vmknics: 'vMotion' })).toThrow(
      'vmknics: "vMotion" should be portgroup:ipv4:mtu:services',
    )
  })
})

// A host written from esxi.md alone has no `ip interface list`: the NICs are read from
// `ipv4 get` and `tag get`, and a wanted row's NIC is the one holding its static address.
describe('VMkernel NICs on a host that does not list them', () => {
  const bare = (quirks: SimOverrides['quirks'] = {}) =>
    host({ quirks: { unlisted: 'absent', ...quirks } })
  const design = [
    { portgroup: 'VM Network', ipv4: '10.0.20.11/24', tags: ['VMotion'] },
    { portgroup: 'vSAN', ipv4: '10.0.30.11/24', mtu: 9000, tags: ['vSAN'] },
  ]

  it("adds each with esxi.md's commands, finds it again by its address, and re-sets only the MTU it cannot read", async () => {
    const h = bare()
    await h.converge(portgroups, [{ name: 'vSAN', vswitch: 'vSwitch0' }])
    expect(await h.plan(vmknics, design)).toEqual([
      {
        summary: 'add vmk1 on VM Network: 10.0.20.11/24, MTU 1500, VMotion',
        commands: [
          "esxcli network ip interface add -i vmk1 -p 'VM Network'",
          'esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.0',
          'esxcli network ip interface tag add -i vmk1 -t VMotion',
        ],
      },
      {
        summary: 'add vmk2 on vSAN: 10.0.30.11/24, MTU 9000, vSAN',
        commands: [
          'esxcli network ip interface add -i vmk2 -p vSAN',
          'esxcli network ip interface ipv4 set -i vmk2 -t static -I 10.0.30.11 -N 255.255.255.0',
          'esxcli network ip interface set -m 9000 -i vmk2',
          'esxcli network ip interface tag add -i vmk2 -t vSAN',
        ],
      },
    ])
    // The read-back verifies what the host can say; the MTU it cannot is no failure.
    await h.apply(vmknics, design)
    expect(h.state.vmknics.map((v) => `${v.name}:${v.portgroup}:${v.mtu}`)).toEqual([
      'vmk0:Management Network:1500',
      'vmk1:VM Network:1500',
      'vmk2:vSAN:9000',
    ])
    const mark = h.state.log.length
    expect(await h.plan(vmknics, design)).toEqual([
      {
        summary: 'vmk2 on vSAN: MTU 9000 (the host does not say its MTU)',
        commands: ['esxcli network ip interface set -m 9000 -i vmk2'],
      },
    ])
    await h.apply(vmknics, design)
    expect(h.writes(mark)).toEqual(['esxcli network ip interface set -m 9000 -i vmk2'])
    // What changes of a NIC it found is planned as on any host.
    expect(
      await h.plan(vmknics, [
        { portgroup: 'VM Network', ipv4: '10.0.20.11/25', tags: ['vSphereProvisioning'] },
      ]),
    ).toEqual([
      {
        summary:
          'vmk1 on VM Network: 10.0.20.11/24 -> 10.0.20.11/25; tag vSphereProvisioning; untag VMotion',
        commands: [
          'esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.128',
          'esxcli network ip interface tag add -i vmk1 -t vSphereProvisioning',
          'esxcli network ip interface tag remove -i vmk1 -t VMotion',
        ],
      },
    ])
  })

  it('says so once, on the plan item, and shows the port group and MTU it could not read', async () => {
    const h = bare()
    const reader = new CachedReader(h.shell, h.state.version.version)
    const c = ctx(h.state.version.version)
    const wanted = vmknics.value.parse([design[0]])
    await h.apply(vmknics, wanted)
    const current = await vmknics.read(reader, c, wanted)
    expect(vmknics.readNote?.(current)).toBe(
      'This host does not list its VMkernel NICs (`esxcli network ip interface list`), so Midwife matched each to its port group by its static address, and cannot read their MTU.',
    )
    expect(vmknics.show(current)).toBe(
      'vmk0 on a port group the host does not name: 127.0.0.1/8, MTU unknown, Management; vmk1 on VM Network: 10.0.20.11/24, MTU unknown, VMotion',
    )
    const listed = host()
    const listedCurrent = await vmknics.read(
      new CachedReader(listed.shell, listed.state.version.version),
      c,
      wanted,
    )
    expect(vmknics.readNote?.(listedCurrent)).toBeNull()
  })

  it.each(['stdout', 'stderr'] as const)(
    'fails the add, in words, when the port group has a NIC without the address (the host answers on %s)',
    async (errorStream) => {
      const h = bare({ errorStream })
      runCommandLine("esxcli network ip interface add -i vmk1 -p 'VM Network'", h.state)
      await expect(h.apply(vmknics, [design[0]])).rejects.toThrow(
        "`esxcli network ip interface add -i vmk2 -p 'VM Network'` failed (exit 1): Error: A vmkernel nic for the connection point already exists: VM Network already has a VMkernel NIC, and this host does not list its VMkernel NICs, so Midwife cannot tell which one it is (it finds them by their address, and none holds 10.0.20.11; NICs on this host that match no row: vmk1 (no address)). Give that NIC its address by hand, or remove it, then plan again.",
      )
      expect(h.state.vmknics.map((v) => v.name)).toEqual(['vmk0', 'vmk1'])
    },
  )

  it("refuses a DHCP row, which it could not find again, and never touches Midwife's connection", async () => {
    const h = bare()
    await expect(h.plan(vmknics, [{ portgroup: 'VM Network', ipv4: 'dhcp' }])).rejects.toThrow(
      'this host does not list its VMkernel NICs, so Midwife finds the one on VM Network by its static address, and a DHCP address cannot be known in advance. Give VM Network a static address, or add that NIC by hand and take it out of this table.',
    )
    await expect(
      h.plan(vmknics, [{ portgroup: 'VM Network', ipv4: '127.0.0.1/8' }]),
    ).rejects.toThrow(
      "127.0.0.1 is vmk0's address now (on a port group the host does not name); two interfaces would share it.",
    )
  })
})

describe('the VMkernel NIC diff, with and without the host listing its NICs', () => {
  const c = ctx('8.0.2')
  const vmk0 = { ipv4: '10.0.0.10/24', tags: ['Management'], device: 'vmk0', management: true }
  const listed: VmknicRow[] = [{ ...vmk0, portgroup: 'Management Network', mtu: 1500 }]
  const unlisted: VmknicRow[] = [{ ...vmk0, portgroup: '', mtu: null, unlisted: true }]
  const words = (changes: ReturnType<typeof vmknics.diff>) =>
    changes.map((ch) => ch.commands.map((cmd) => commandLine(cmd.words)))
  const wanted = vmknics.value.parse([{ portgroup: 'vMotion', ipv4: '10.0.20.11/24' }])

  it('a new NIC: its MTU is set where the host lists NICs, left as ESXi gives it where it does not', () => {
    expect(words(vmknics.diff(listed, wanted, c))).toEqual([
      [
        'esxcli network ip interface add -i vmk1 -p vMotion',
        'esxcli network ip interface set -m 1500 -i vmk1',
        'esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.0',
      ],
    ])
    const [add] = vmknics.diff(unlisted, wanted, c)
    expect(add?.commands.map((cmd) => commandLine(cmd.words))).toEqual([
      'esxcli network ip interface add -i vmk1 -p vMotion',
      'esxcli network ip interface ipv4 set -i vmk1 -t static -I 10.0.20.11 -N 255.255.255.0',
    ])
    expect(add?.commands[0]?.known?.[0]?.said).toBe(
      'A vmkernel nic for the connection point already exists',
    )
  })

  it('a NIC it has: a known MTU is compared, an unknown one set only when it is not 1500', () => {
    const nic = { portgroup: 'vMotion', ipv4: '10.0.20.11/24', tags: [], device: 'vmk1' }
    expect(vmknics.diff([...listed, { ...nic, mtu: 1500 }], wanted, c)).toEqual([])
    expect(vmknics.diff([...unlisted, { ...nic, mtu: null, unlisted: true }], wanted, c)).toEqual(
      [],
    )
    const jumbo = vmknics.value.parse([{ portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000 }])
    expect(
      vmknics.diff([...listed, { ...nic, mtu: 9000 }], jumbo, c).map((ch) => ch.summary),
    ).toEqual([])
    const after = [...unlisted, { ...nic, mtu: null, unlisted: true }]
    expect(vmknics.diff(after, jumbo, c).map((ch) => ch.summary)).toEqual([
      'vmk1 on vMotion: MTU 9000 (the host does not say its MTU)',
    ])
    // ... which is not a failed verification: everything the host can say is as wanted.
    expect(vmknics.verify?.(after, jumbo, c)).toBe(true)
    expect(
      vmknics.verify?.(
        [...unlisted, { ...nic, mtu: null, unlisted: true, tags: ['vSAN'] }],
        jumbo,
        c,
      ),
    ).toBe(false)
  })
})

describe('the design across the three tables', () => {
  it('passes when port groups sit on known vSwitches and NICs on known port groups', () => {
    expect(
      checkSwitchingDesign({
        vswitches: vswitches.value.parse(design.vswitches),
        portgroups: portgroups.value.parse(design.portgroups),
        vmknics: vmknics.value.parse(design.vmknics),
      }),
    ).toEqual([])
  })

  it('names each row that points at nothing, or asks more MTU than its vSwitch has', () => {
    const vs: VswitchRow[] = [{ name: 'vSwitch1', mtu: 1500, uplinks: ['vmnic1'], standby: [] }]
    expect(
      checkSwitchingDesign({
        vswitches: vs,
        portgroups: [
          { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
          { name: 'Storage', vswitch: 'vSwitch2', vlan: 30 },
        ],
        vmknics: [
          { portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000, tags: [] },
          { portgroup: 'vSAN', ipv4: '10.0.30.11/24', mtu: 1500, tags: [] },
          { portgroup: 'Management Network', ipv4: 'dhcp', mtu: 1500, tags: [] },
        ],
      }),
    ).toEqual([
      {
        key: 'portgroups',
        path: [1, 'vswitch'],
        message:
          'Storage is on vSwitch2, which is not in the vSwitch table (a fresh host has only vSwitch0)',
      },
      {
        key: 'vmknics',
        path: [0, 'mtu'],
        message: "MTU 9000 is above vSwitch1's MTU 1500: larger frames would be dropped",
      },
      { key: 'vmknics', path: [1, 'portgroup'], message: 'vSAN is not in the port group table' },
      {
        key: 'vmknics',
        path: [2, 'portgroup'],
        message:
          'Management Network holds vmk0, whose address is set under Management network; give this VMkernel NIC a port group of its own',
      },
    ])
  })
})

/** The schema's messages, each with where it points (row.field). */
function messages(setting: AnySetting, value: unknown): string[] {
  const r = setting.value.safeParse(value)
  if (r.success) return []
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

/** The default NICs and more of the same kind, up to `n`. */
function withNics(n: number): SimState['nics'] {
  return Array.from({ length: n }, (_, i) => ({
    name: `vmnic${i}`,
    pci: `0000:0${i}:00.0`,
    driver: 'nvmxnet3',
    admin: 'Up' as const,
    link: 'Up' as const,
    speed: 10000,
    duplex: 'Full' as const,
    mac: `00:50:56:aa:bb:0${i + 1}`,
    mtu: 1500,
    description: 'VMware Inc. vmxnet3 Virtual Ethernet Controller',
  }))
}

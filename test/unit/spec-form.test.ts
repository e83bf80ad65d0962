// The wizard's form, below the screen: what it holds for each setting of the
// catalogue and what it sends back. Generated from the registry, so a new
// setting is checked without editing this file: its example must survive the
// form unchanged, or a profile the operator did not touch would read as changed.
import { describe, expect, it } from 'vitest'
import { settingByKey, SPEC_SETTINGS } from '../../main/catalogue/registry'
import type { AnySetting } from '../../main/catalogue/types'
import { crossChecks } from '../../renderer/src/spec/cross-checks'
import {
  canonical,
  draftIsSet,
  draftValue,
  isSecret,
  placeIssues,
  toDraft,
  type Row,
  withoutSecrets,
} from '../../renderer/src/spec/draft'

const setting = (key: string): AnySetting => {
  const s = settingByKey(key)
  if (!s) throw new Error(`no setting ${key}`)
  return s
}

/** The issues a setting's schema finds in what the form sends, placed as the form shows them. */
function errorsFor(key: string, value: unknown): Record<string, string> {
  const s = setting(key)
  const r = s.value.safeParse(value)
  return r.success ? {} : Object.fromEntries(placeIssues(s.field, r.error.issues))
}

describe('every catalogue setting in the form', () => {
  for (const s of SPEC_SETTINGS.filter((x) => !isSecret(x))) {
    it(`${s.key}: its example reads back from the form as the same value`, () => {
      const stored: unknown = s.value.parse(s.example)
      const draft = toDraft(s.field, stored)
      expect(draftIsSet(s.field, draft)).toBe(true)
      const sent = draftValue(s, draft, undefined)
      expect(canonical(s.value.parse(sent))).toBe(canonical(stored))
    })
  }

  for (const s of SPEC_SETTINGS.filter(isSecret)) {
    it(`${s.key}: a stored secret is never put into an input`, () => {
      const draft = toDraft(s.field, s.example)
      expect(draft).toBe('')
      expect(draftValue(s, draft, undefined)).toBeUndefined()
    })
  }

  it('keeps secrets out of what a screen holds, however the API reported them', () => {
    const split = withoutSecrets(
      { dns: ['10.0.0.2'], licence: 'AB12C-3DE45-F6G7H-8JK9L-0MN1P' },
      ['rootPassword'],
      SPEC_SETTINGS,
    )
    expect(split).toEqual({ spec: { dns: ['10.0.0.2'] }, secretsSet: ['rootPassword', 'licence'] })
  })

  it('leaves a setting unset when its inputs are empty, so the host keeps what it has', () => {
    for (const s of SPEC_SETTINGS) {
      expect(draftValue(s, toDraft(s.field, undefined), undefined), s.key).toBeUndefined()
    }
  })
})

describe('values the operator types', () => {
  it('splits lists on commas and spaces, and keeps shell lines whole', () => {
    expect(draftValue(setting('dns'), '10.0.0.2, 10.0.0.3  10.0.0.4', undefined)).toEqual([
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.4',
    ])
    const steps = draftValue(
      setting('customSteps'),
      [{ name: 'Log dir', lines: 'esxcli a, b\n\nesxcli c', check: 'x', expect: 'y' }],
      undefined,
    ) as Array<{ lines: string[] }>
    expect(steps[0]?.lines).toEqual(['esxcli a, b', 'esxcli c'])
  })

  it('keeps a whole number typed for an advanced option a number, and text text', () => {
    const rows: Row[] = [
      { path: 'UserVars.SuppressShellWarning', value: '1' },
      { path: '/Syslog/global/logDir', value: '[] /scratch/log' },
    ]
    expect(draftValue(setting('advanced'), rows, undefined)).toEqual([
      { path: 'UserVars.SuppressShellWarning', value: 1 },
      { path: '/Syslog/global/logDir', value: '[] /scratch/log' },
    ])
  })

  it('leaves an empty number in a row to the schema default (MTU 1500, VLAN 0)', () => {
    const sent = draftValue(
      setting('portgroups'),
      [{ name: 'vMotion', vswitch: 'vSwitch1', vlan: '' }],
      undefined,
    )
    expect(setting('portgroups').value.parse(sent)).toEqual([
      { name: 'vMotion', vswitch: 'vSwitch1', vlan: 0 },
    ])
  })

  it("fills what a host leaves empty in an object from the site profile's value", () => {
    const inherited = { servers: ['10.0.0.5'], enabled: true }
    expect(draftValue(setting('ntp'), { servers: '', enabled: false }, inherited)).toEqual({
      servers: ['10.0.0.5'],
      enabled: false,
    })
  })

  it('sends an emptied table as [] only over a profile value, where it means "none here"', () => {
    const s = setting('customSteps')
    expect(draftValue(s, [], undefined)).toBeUndefined()
    expect(draftValue(s, [], s.example)).toEqual([])
    expect(draftValue(s, null, s.example)).toBeUndefined()
  })
})

describe('errors beside the field they are about', () => {
  it('puts a cell error at its row and column, in the schema’s words', () => {
    expect(
      errorsFor('portgroups', [
        { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
        { name: 'VM Network', vswitch: 'vSwitch0', vlan: 5000 },
      ]),
    ).toEqual({
      '1.vlan': 'a VLAN ID is a whole number from 0 to 4095 (4095 passes every VLAN to guests)',
    })
    expect(errorsFor('vmknics', [{ portgroup: 'vMotion', ipv4: '10.0.20.0/24' }])).toEqual({
      '0.ipv4': '10.0.20.0 is the network address of 10.0.20.0/24, not a host address',
    })
    expect(errorsFor('vswitches', [{ name: 'vSwitch1', mtu: 9001 }])).toEqual({
      '0.mtu': 'an MTU is at most 9000',
    })
  })

  it('puts a list error on the list, and an object member’s on the member', () => {
    expect(errorsFor('dns', ['10.0.0.2', '10.0.0.300'])).toEqual({
      '': '10.0.0.300 is not an IPv4 address like 10.0.0.2',
    })
    expect(errorsFor('ntp', { servers: [], enabled: true })).toEqual({
      servers: 'add at least one NTP server',
    })
  })

  it('says a missing member is needed, not what zod expected', () => {
    expect(errorsFor('services', { ssh: 'on' })).toEqual({
      esxShell: 'the ESXi Shell is on or off',
    })
    expect(
      errorsFor('customSteps', [{ name: 'x', check: 'true', expect: 'y', lines: undefined }]),
    ).toEqual({ '0.lines': 'this is needed' })
  })

  it('says which row a table-wide problem is about', () => {
    const errors = errorsFor('vswitches', [
      { name: 'vSwitch1', uplinks: ['vmnic1'] },
      { name: 'vSwitch1', uplinks: ['vmnic2'] },
    ])
    expect(Object.values(errors).join(' ')).toContain('vSwitch1 is listed twice')
  })
})

describe('checks across settings (the registry’s crossCheck, as the form runs it)', () => {
  it('finds a port group on a vSwitch the design does not have, at its cell', () => {
    const problems = crossChecks({
      vswitches: [{ name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: [] }],
      portgroups: [{ name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 }],
    })
    expect(problems).toHaveLength(1)
    const placed = placeIssues(setting('portgroups').field, problems)
    expect(placed.get('0.vswitch')).toContain('vSwitch1, which is not in the vSwitch table')
  })

  it('passes the design the wizard test builds', () => {
    expect(
      crossChecks({
        vswitches: [
          { name: 'vSwitch0', mtu: 1500, uplinks: ['vmnic0'], standby: [] },
          { name: 'vSwitch1', mtu: 9000, uplinks: ['vmnic1'], standby: [] },
        ],
        portgroups: [
          { name: 'vMotion', vswitch: 'vSwitch1', vlan: 20 },
          { name: 'VM Network', vswitch: 'vSwitch0', vlan: 30 },
        ],
        vmknics: [{ portgroup: 'vMotion', ipv4: '10.0.20.11/24', mtu: 9000, tags: ['VMotion'] }],
      }),
    ).toEqual([])
  })
})

// Every setting in the catalogue, generated from the registry: its example
// goes through its own schema, then read -> diff -> apply -> verify against
// the simulator on each ESXi release it models, then a second pass that
// writes nothing. Adding a setting to the registry adds it here.
import { describe, expect, it } from 'vitest'
import { checkOrder, HostSpec, SETTINGS, SiteProfile } from '../../main/catalogue/registry'
import { applySetting, CachedReader } from '../../main/core/configure/apply'
import { isWriteCommand } from '../esxi-sim/interpreter'
import { ESXI_PROFILES } from '../esxi-sim/profile'
import { memoryHost } from '../support/sim-shell'

const ctx = (version: string | null) => ({
  hostname: 'esx01',
  domain: 'lab.local',
  address: '127.0.0.1',
  version,
})

describe('the registry', () => {
  it('orders every setting after what it depends on, and moving settings last', () => {
    expect(checkOrder()).toEqual([])
  })

  it('has unique keys, a title, a group and a valid example for each setting', () => {
    const keys = SETTINGS.map((s) => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    for (const s of SETTINGS) {
      expect(s.title, s.key).not.toBe('')
      const parsed = s.value.safeParse(s.example)
      expect(parsed.success, `${s.key}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true)
    }
  })

  it('marks every setting drawn as a secret field as a secret (sealed, never shown)', () => {
    for (const s of SETTINGS) {
      if (s.field.kind === 'secret') expect(s.secret, s.key).toBe(true)
    }
  })

  it('derives the host spec and site profile schemas from the settings', () => {
    const spec = Object.fromEntries(
      SETTINGS.filter((s) => s.scope !== 'identity').map((s) => [s.key, s.example]),
    )
    expect(HostSpec.safeParse(spec).success).toBe(true)
    expect(HostSpec.safeParse({ nonsense: 1 }).success).toBe(false)
    const site = Object.fromEntries(
      SETTINGS.filter((s) => s.scope === 'site').map((s) => [s.key, s.example]),
    )
    expect(SiteProfile.safeParse(site).success).toBe(true)
  })
})

for (const profile of ESXI_PROFILES) {
  describe(`on ESXi ${profile}`, () => {
    for (const setting of SETTINGS.filter((s) => s.connection === 'keeps')) {
      it(`${setting.key}: applies its example, verifies it, and writes nothing the second time`, async () => {
        const { state, shell } = memoryHost({ profile })
        const c = ctx(state.version.version)
        const wanted = setting.value.parse(setting.example) as unknown
        const unsupported = setting.unsupported?.(c.version)
        if (unsupported) {
          const r = new CachedReader(shell, c.version)
          await expect(applySetting(shell, r, setting, wanted, c, () => undefined)).rejects.toThrow(
            unsupported,
          )
          return
        }
        const first = await applySetting(
          shell,
          new CachedReader(shell, c.version),
          setting,
          wanted,
          c,
          () => undefined,
        )
        expect(first.writes, 'the fresh host already matched the example').toBeGreaterThan(0)
        const mark = state.log.length
        const again = await applySetting(
          shell,
          new CachedReader(shell, c.version),
          setting,
          wanted,
          c,
          () => undefined,
        )
        expect(again.writes).toBe(0)
        expect(state.log.slice(mark).filter(isWriteCommand)).toEqual([])
      })
    }
  })
}

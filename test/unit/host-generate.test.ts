// The parts of "generate N hosts" that need no store: a name pattern with one
// zero-padded range, MACs counted up, and addresses handed out in a subnet
// around the ones already taken.
import { describe, expect, it } from 'vitest'
import { addressAllocator, expandPattern, macPlus } from '../../main/core/hosts/generate'

describe('name patterns', () => {
  it('expands one range, zero-padded as written', () => {
    expect(expandPattern('esx{01..03}')).toEqual(['esx01', 'esx02', 'esx03'])
    expect(expandPattern('rack2-esx{8..10}-a')).toEqual([
      'rack2-esx8-a',
      'rack2-esx9-a',
      'rack2-esx10-a',
    ])
    expect(expandPattern('esx{098..100}')).toEqual(['esx098', 'esx099', 'esx100'])
    expect(expandPattern('esx{1..024}')).toHaveLength(24)
    expect(expandPattern('esx{1..024}')[0]).toBe('esx001')
    expect(expandPattern('lonely')).toEqual(['lonely'])
  })

  it.each([
    ['esx{1..2}{1..2}', 'esx{1..2}{1..2}: use one range, like esx{01..24}'],
    ['esx{a..c}', 'esx{a..c}: a range is two whole numbers, like esx{01..24}'],
    ['esx{24..01}', 'esx{24..01}: the range counts up, like {01..24}'],
    ['esx{1..1001}', 'esx{1..1001} makes 1001 hosts; at most 1000 at a time'],
    ['esx{01..24', 'esx{01..24: a { without its } (write esx{01..24})'],
  ])('refuses %s', (pattern, message) => {
    expect(() => expandPattern(pattern)).toThrow(message)
  })
})

describe('MACs', () => {
  it('counts up across bytes and stops at the last one', () => {
    expect(macPlus('00:50:56:aa:bb:fe', 1)).toBe('00:50:56:aa:bb:ff')
    expect(macPlus('00:50:56:aa:bb:fe', 2)).toBe('00:50:56:aa:bc:00')
    expect(macPlus('ff:ff:ff:ff:ff:fe', 1)).toBe('ff:ff:ff:ff:ff:ff')
    expect(macPlus('ff:ff:ff:ff:ff:fe', 2)).toBeNull()
  })
})

describe('addresses', () => {
  it('counts up from the first, skipping used ones, and stays in the subnet', () => {
    const next = addressAllocator('10.0.0.252/24', new Set(['10.0.0.253']))
    expect([next(), next(), next()]).toEqual(['10.0.0.252/24', '10.0.0.254/24', null])
  })

  it('never hands out a network or broadcast address, except in /31 and /32', () => {
    const small = addressAllocator('10.0.0.1/30', new Set())
    expect([small(), small(), small()]).toEqual(['10.0.0.1/30', '10.0.0.2/30', null])
    const p2p = addressAllocator('10.0.0.0/31', new Set())
    expect([p2p(), p2p(), p2p()]).toEqual(['10.0.0.0/31', '10.0.0.1/31', null])
  })
})

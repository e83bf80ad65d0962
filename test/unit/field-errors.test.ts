import { describe, expect, it } from 'vitest'
import { fieldErrors } from '../../renderer/src/lib/field-errors'

const KNOWN = ['media.8.0', 'media.9.0', 'dhcp.subnet', 'tftpBootDir']

describe('an API error split into the fields of a form', () => {
  it('puts each part beside its field, without the internal path', () => {
    expect(
      fieldErrors(
        'boot.dhcp.subnet: must be a subnet like 10.0.0.0/24; boot.media.8.0: /x is not a folder',
        'boot.',
        KNOWN,
      ),
    ).toEqual({
      byField: {
        'dhcp.subnet': 'must be a subnet like 10.0.0.0/24',
        'media.8.0': '/x is not a folder',
      },
      rest: [],
    })
  })

  it('keeps a "; " inside one field’s message with that field', () => {
    expect(
      fieldErrors(
        'boot.media.9.0: lacks /a.b00; lacks /b.b00; boot.tftpBootDir: no ..',
        'boot.',
        KNOWN,
      ).byField,
    ).toEqual({ 'media.9.0': 'lacks /a.b00; lacks /b.b00', tftpBootDir: 'no ..' })
  })

  it('leaves what names no field of the form for a banner', () => {
    expect(
      fieldErrors('listenerPort: must be a port; boot.media.8.0: gone', 'boot.', KNOWN),
    ).toEqual({
      byField: { 'media.8.0': 'gone' },
      rest: ['listenerPort: must be a port'],
    })
    expect(fieldErrors('the disk is full', 'boot.', KNOWN)).toEqual({
      byField: {},
      rest: ['the disk is full'],
    })
  })

  it('reads a path that leads with the argument’s index', () => {
    expect(fieldErrors('0.listenerPort: must be a port', '', ['listenerPort'])).toEqual({
      byField: { listenerPort: 'must be a port' },
      rest: [],
    })
  })

  it('puts a list entry’s message beside the list’s field', () => {
    expect(
      fieldErrors(
        'boot.dhcp.dnsServers.1: dns.lab.local is not an IPv4 address like 10.0.0.2; boot.dhcp.subnet: bad',
        'boot.',
        [...KNOWN, 'dhcp.dnsServers'],
      ),
    ).toEqual({
      byField: {
        'dhcp.dnsServers': 'dns.lab.local is not an IPv4 address like 10.0.0.2',
        'dhcp.subnet': 'bad',
      },
      rest: [],
    })
    // A field whose own path ends in digits is still matched whole first.
    expect(fieldErrors('boot.media.8.0: gone', 'boot.', ['media.8', 'media.8.0']).byField).toEqual({
      'media.8.0': 'gone',
    })
  })

  it('does not take a longer path for a shorter one', () => {
    expect(fieldErrors('boot.media.8.0.x: odd', 'boot.', ['media.8']).rest).toEqual([
      'boot.media.8.0.x: odd',
    ])
  })
})

import { describe, expect, it } from 'vitest'
import type { ReportedIdentity } from '../../main/contract/schemas'
import { attentionFor, compare, macMismatch } from '../../main/core/lifecycle/identity'

const trusted: ReportedIdentity = {
  macs: ['00:50:56:aa:bb:01', '00:50:56:aa:bb:02'],
  serial: 'SN-1',
  uuid: 'ff003342-dcd6-71ba-0a6a-f91c57132599',
  sshHostKeys: [
    { type: 'ecdsa-sha2-nistp256', fingerprint: 'SHA256:ecdsa' },
    { type: 'ssh-rsa', fingerprint: 'SHA256:rsa' },
  ],
  managementIp: '10.0.0.11',
}

describe('comparing a report with the bound identity', () => {
  it('finds nothing when the same server reports again, even with one key unreadable or a NIC added', () => {
    expect(compare(trusted, trusted)).toEqual({
      identityChanged: false,
      addressChanged: false,
      differences: [],
    })
    const fewerKeysMoreNics = {
      ...trusted,
      macs: [...trusted.macs, '00:50:56:aa:bb:03'],
      sshHostKeys: trusted.sshHostKeys.slice(0, 1),
    }
    expect(compare(trusted, fewerKeysMoreNics).differences).toEqual([])
  })

  it('calls new host keys an identity change (a reinstall, or an impostor)', () => {
    const c = compare(trusted, {
      ...trusted,
      sshHostKeys: [{ type: 'ecdsa-sha2-nistp256', fingerprint: 'SHA256:other' }],
    })
    expect(c.identityChanged).toBe(true)
    expect(c.differences).toEqual([
      {
        field: 'sshHostKeys',
        label: 'SSH host keys',
        trusted: 'ecdsa-sha2-nistp256 SHA256:ecdsa, ssh-rsa SHA256:rsa',
        reported: 'ecdsa-sha2-nistp256 SHA256:other',
      },
    ])
    const a = attentionFor(c, trusted, 7)
    expect(a?.reason).toBe('identity_changed')
    expect(a?.message).toContain('(SSH host keys)')
    expect(a?.checkinId).toBe(7)
  })

  it('calls another serial, UUID or a wholly other set of MACs an identity change', () => {
    expect(
      compare(trusted, { ...trusted, serial: 'SN-2' }).differences.map((d) => d.field),
    ).toEqual(['serial'])
    expect(compare(trusted, { ...trusted, uuid: 'x' }).identityChanged).toBe(true)
    expect(compare(trusted, { ...trusted, macs: ['00:50:56:ff:ff:ff'] }).identityChanged).toBe(true)
    // A value one side does not have is not evidence either way.
    expect(compare(trusted, { ...trusted, serial: null, uuid: null }).identityChanged).toBe(false)
  })

  it('calls another address a conflict too, never a silent redirect', () => {
    const c = compare(trusted, { ...trusted, managementIp: '10.0.0.99' })
    expect(c).toMatchObject({ identityChanged: false, addressChanged: true })
    expect(attentionFor(c, trusted, 1)?.reason).toBe('address_changed')
  })

  it('after a reinstall forgot the keys and address, compares only the hardware', () => {
    const rearmed = { ...trusted, sshHostKeys: [], managementIp: null }
    const reinstalled = {
      ...trusted,
      sshHostKeys: [{ type: 'ecdsa-sha2-nistp256', fingerprint: 'SHA256:new' }],
      managementIp: '10.0.0.50',
    }
    expect(compare(rearmed, reinstalled).differences).toEqual([])
    expect(compare(rearmed, { ...reinstalled, serial: 'SN-9' }).identityChanged).toBe(true)
  })

  it('names a MAC mismatch against the definition', () => {
    expect(macMismatch('00:50:56:aa:bb:01', trusted, 3)).toBeNull()
    const m = macMismatch('00:50:56:00:00:99', trusted, 3)
    expect(m?.reason).toBe('mac_mismatch')
    expect(m?.differences[0]).toMatchObject({ trusted: '00:50:56:00:00:99' })
  })
})

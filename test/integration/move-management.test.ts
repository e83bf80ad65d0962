// The in-band management move, end to end: Midwife's engine uploads its script
// over a real SSH session to the simulated host, whose sshd drops every session
// when vmk0's address changes and then answers only at the new address; the
// engine reconnects with the same pinned host keys, confirms and verifies, or
// fails with the reason the host's own rollback logged.
import { afterEach, describe, expect, it } from 'vitest'
import { parsePublicKeyLine } from '../../main/core/esxi/ssh-keys'
import {
  moveManagement,
  MoveFailed,
  readManagement,
  type ManagementNetwork,
  type MoveOptions,
} from '../../main/core/configure/move-management'
import { EsxSession } from '../../main/core/configure/ssh'
import { runCommandLine } from '../esxi-sim/interpreter'
import { managementAddress } from '../esxi-sim/net'
import { ESXI_PROFILES } from '../esxi-sim/profile'
import { defaultState, type SimOverrides } from '../esxi-sim/state'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { createSimHost, managementNetwork, type SimHost } from '../support/esxi-host'

const OLD: ManagementNetwork = {
  address: '127.0.10.10',
  prefix: 24,
  gateway: '127.0.10.1',
  vlan: 0,
}
const NEW: ManagementNetwork = {
  address: '127.0.20.10',
  prefix: 24,
  gateway: '127.0.20.1',
  vlan: 20,
}
const PASSWORD = 'VMware1!'

const hosts: SimHost[] = []
const sessions: EsxSession[] = []

afterEach(async () => {
  for (const s of sessions.splice(0)) s.close()
  for (const h of hosts.splice(0)) await h.close()
})

interface Rig {
  esx: SimHost
  sshd: SimSshServer
  connect(address: string): Promise<EsxSession>
  /** The operator's view of the move. */
  said: string[]
  move(o: Partial<MoveOptions>): Promise<EsxSession>
}

/** A host at OLD whose switch port carries VLANs 0 and 20, with both gateways answering. */
async function rig(overrides: SimOverrides = {}): Promise<Rig> {
  const esx = await createSimHost({
    ...managementNetwork(OLD.address, '255.255.255.0', OLD.gateway ?? undefined),
    reachable: [OLD.gateway as string, NEW.gateway as string],
    managementVlans: [0, 20],
    ...overrides,
  })
  hosts.push(esx)
  const sshd = await esx.startSsh(PASSWORD)
  // Pinned: the keys the host had at check-in, the same before and after the move.
  const trusted = [esx.hostKeys.rsa, esx.hostKeys.ecdsa].map(
    (k) => parsePublicKeyLine(k.publicLine).fingerprint,
  )
  const connect = async (address: string) => {
    const s = await EsxSession.connect({
      host: address,
      port: sshd.port,
      username: 'root',
      password: PASSWORD,
      trustedFingerprints: trusted,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 20_000,
    })
    sessions.push(s)
    return s
  }
  const said: string[] = []
  return {
    esx,
    sshd,
    connect,
    said,
    move: async (o) =>
      (await moveManagement({
        connect,
        from: OLD,
        to: NEW,
        deadlineMs: 60_000,
        out: (t) => said.push(t),
        retryMs: 100,
        ...o,
      })) as EsxSession,
  }
}

const refusedAt = (r: Rig, address: string) =>
  r.connect(address).then(
    () => 'answered',
    (err: unknown) => String(err),
  )

describe('moving the management network of a running host', () => {
  it.each(ESXI_PROFILES)(
    'ESXi %s: address, gateway and VLAN move; it ends verified at the new address',
    async (profile) => {
      const r = await rig({ profile })
      const before = await r.connect(OLD.address)
      const s = await r.move({ session: before })

      expect(await readManagement(s)).toEqual({ ...NEW, dhcp: false })
      expect((await s.exec('esxcfg-route')).stdout).toBe(
        `VMkernel default gateway is ${NEW.gateway}\n`,
      )
      expect(managementAddress(r.esx.state())).toBe(NEW.address)
      expect(await refusedAt(r, OLD.address)).toMatch(/connection refused/)
      const log = r.esx.state().log
      expect(log).toContain(
        `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${NEW.address} -N 255.255.255.0`,
      )
      expect(log).toContain(`esxcfg-route ${NEW.gateway}`)
      expect(log).toContain(
        'esxcli network vswitch standard portgroup set -p Management Network -v 20',
      )
      expect(log.some((l) => l.startsWith('vmkping -I vmk0'))).toBe(true)
      expect(r.said.join('')).toContain(
        `verified: ${NEW.address}/24, gateway ${NEW.gateway}, VLAN 20`,
      )
      // Nothing was rolled back: no command put the old address back.
      expect(log.filter((l) => l.includes(`-I ${OLD.address}`))).toEqual([])
    },
    120_000,
  )

  it('a gateway that does not answer rolls back to the old address, and the move fails with the reason', async () => {
    const r = await rig({ reachable: [OLD.gateway as string] })
    const err = await r.move({}).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(MoveFailed)
    expect(String(err)).toContain(
      `the management network change was rolled back to ${OLD.address}/24, gateway ${OLD.gateway}, VLAN 0: gateway ${NEW.gateway} does not answer (vmkping from vmk0)`,
    )
    const back = await r.connect(OLD.address)
    expect(await readManagement(back)).toEqual({ ...OLD, dhcp: false })
    expect(await refusedAt(r, NEW.address)).toMatch(/connection refused/)
  }, 120_000)

  it("a step the host refuses rolls back what was done, with the host's message", async () => {
    const r = await rig({
      faults: [
        {
          match: 'esxcli network vswitch standard portgroup set -p Management Network -v 20',
          stdout: 'Error: Unable to set VLAN ID 20 on Management Network: Busy\n',
          code: 1,
        },
      ],
    })
    await expect(r.move({})).rejects.toThrow(
      `rolled back to ${OLD.address}/24, gateway ${OLD.gateway}, VLAN 0: setting VLAN 20 failed: Error: Unable to set VLAN ID 20 on Management Network: Busy`,
    )
    const log = r.esx.state().log
    // The address and the route had moved before the VLAN failed; both came back.
    expect(log).toContain(`esxcfg-route ${NEW.gateway}`)
    expect(log).toContain(`esxcfg-route ${OLD.gateway}`)
    expect(await readManagement(await r.connect(OLD.address))).toEqual({ ...OLD, dhcp: false })
  }, 120_000)

  it('without vmkping it still moves, unchecked, and ends verified', async () => {
    const r = await rig({ quirks: { vmkping: 'absent' } })
    const s = await r.move({})
    expect(await readManagement(s)).toEqual({ ...NEW, dhcp: false })
    expect(r.esx.state().log.filter((l) => l.startsWith('vmkping'))).toEqual([])
  }, 120_000)

  it('without sleep on the host it still waits for the confirmation, and ends verified', async () => {
    // A script that could not wait would give up on its 60 s at once and roll back.
    const r = await rig({ quirks: { sleep: 'absent' } })
    const s = await r.move({})
    expect(await readManagement(s)).toEqual({ ...NEW, dhcp: false })
    expect(r.said.join('')).toContain(`verified: ${NEW.address}/24`)
  }, 120_000)

  it('a new address that never answers rolls back at the deadline; the old address tells why', async () => {
    // VLAN 30 does not reach Midwife, and without vmkping the host cannot tell.
    const r = await rig({ quirks: { vmkping: 'absent' } })
    const err = await r.move({ to: { ...NEW, vlan: 30 }, deadlineMs: 3_000 }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(MoveFailed)
    expect(String(err)).toContain(`rolled back to ${OLD.address}/24`)
    expect(String(err)).toContain('no confirmation within 3 s')
    // What the new address last did: refused, or reset by the sshd moving away mid-login.
    expect(String(err)).toMatch(
      /; at 127\.0\.20\.10: (cannot reach|SSH connection to) 127\.0\.20\.10:\d+(: connection refused| failed: read ECONNRESET)$/,
    )
    expect(await readManagement(await r.connect(OLD.address))).toEqual({ ...OLD, dhcp: false })
  }, 120_000)

  it('a gateway-only change at the same address goes through the same confirmation', async () => {
    const r = await rig({ reachable: [OLD.gateway as string, '127.0.10.254'] })
    const to = { ...OLD, gateway: '127.0.10.254' }
    const s = await r.move({ to })
    expect(await readManagement(s)).toEqual({ ...to, dhcp: false })
    expect(r.esx.state().log).toContain('esxcfg-route 127.0.10.254')
  }, 120_000)

  it('a host on DHCP moves to a static address, and a failed move returns it to DHCP', async () => {
    const lease = { address: '127.0.40.7', netmask: '255.255.255.0', gateway: '127.0.40.1' }
    const onDhcp = defaultState({ dhcpLeases: { vmk0: lease } })
    runCommandLine('esxcli network ip interface ipv4 set -i vmk0 -t dhcp', onDhcp)
    const from = { address: lease.address, prefix: 24, gateway: lease.gateway, vlan: 0, dhcp: true }
    const r = await rig({
      vmknics: onDhcp.vmknics,
      routes: [],
      dhcpLeases: { vmk0: lease },
      reachable: [lease.gateway, NEW.gateway as string],
    })
    const failed = await r.move({ from, to: { ...NEW, gateway: '127.0.20.99' } }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(String(failed)).toContain('gateway 127.0.20.99 does not answer')
    const back = await r.connect(lease.address)
    expect(await readManagement(back)).toEqual(from)
    back.close()

    const s = await r.move({ from, to: NEW })
    expect(await readManagement(s)).toEqual({ ...NEW, dhcp: false })
  }, 120_000)

  it('survives sessions to the old address that hang instead of ending', async () => {
    const r = await rig({ quirks: { oldAddressSessions: 'hang' } })
    const s = await r.move({})
    expect(await readManagement(s)).toEqual({ ...NEW, dhcp: false })
  }, 120_000)

  it('a session whose connection is reset under it fails its commands instead of the process', async () => {
    const r = await rig()
    const s = await r.connect(OLD.address)
    // Another process moves vmk0: the sshd resets every session to the old address.
    const moved = await r.esx.sh([
      '-c',
      `esxcli network ip interface ipv4 set -i vmk0 -t static -I ${NEW.address} -N 255.255.255.0`,
    ])
    expect(moved.code).toBe(0)
    await r.sshd.waitForAddress(NEW.address)
    // Until the client has taken in the reset, a command may still set out and end without
    // an exit code; after it, every command is refused with the reason.
    let said = ''
    while (!said.includes('has ended')) {
      said = await s.exec('esxcfg-route').then(
        (res) => `exit ${res.code}`,
        (err: unknown) => String(err),
      )
      expect(said).not.toBe('exit 0')
    }
    expect(said).toContain(
      `the SSH session to ${OLD.address}:${r.sshd.port} has ended: read ECONNRESET`,
    )
  }, 60_000)

  it('refuses a gateway outside the new subnet before changing anything', async () => {
    const r = await rig()
    const mark = r.esx.logMark()
    await expect(r.move({ to: { ...NEW, gateway: '127.0.30.1' } })).rejects.toThrow(
      'the new management network is not valid: gateway 127.0.30.1 is not in 127.0.20.0/24',
    )
    expect(r.esx.writesSince(mark)).toEqual([])
  }, 60_000)

  it('refuses when the host is not where the plan says, before changing anything', async () => {
    const r = await rig()
    const mark = r.esx.logMark()
    await expect(r.move({ from: { ...OLD, vlan: 7 } })).rejects.toThrow(
      `the host's management network is ${OLD.address}/24, gateway ${OLD.gateway}, VLAN 0, not ${OLD.address}/24, gateway ${OLD.gateway}, VLAN 7 as planned`,
    )
    expect(r.esx.writesSince(mark)).toEqual([])
    expect(r.esx.state().execLog.some((e) => e.line.includes('mktemp'))).toBe(false)
  }, 60_000)
})

// Who a server is, end to end: the real check-in client binds a host's
// identity on first use; anything that later reports another identity or
// address moves the host to needs_attention, where only an operator decision
// moves it on; and SSH goes only to the bound address and keys.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../main/contract/api'
import type { Host } from '../../main/contract/schemas'
import { generateHostKeys } from '../esxi-sim/shims'
import type { SimSshServer } from '../esxi-sim/ssh-server'
import { checkinBody } from '../fixtures/esxi-outputs'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approve, approveAndWait, checkIn } from '../support/flow'
import { countingProxy, countingTrap, type Counted } from '../support/tcp'

let t: TestApp
let esx: SimHost
let ssh: SimSshServer
let proxy: Counted
const cleanup: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A host, its simulated server and SSH reached through a proxy that counts connections. */
async function setup(mac?: string): Promise<Host> {
  t = await startTestApp()
  esx = await createSimHost()
  ssh = await esx.startSsh(sampleHost.rootPassword)
  proxy = await countingProxy(ssh.port)
  cleanup.push(
    () => t.close(),
    () => esx.close(),
    () => proxy.close(),
  )
  return t.app.saveHost({
    ...sampleHost,
    mac: mac ?? (esx.state().nics[0]?.mac as string),
    sshPort: proxy.port,
  })
}

/** A check-in built by hand: what someone who saw the token can send. */
function forged(token: string, o: { mac: string; ip: string }): string {
  const body = checkinBody(token) as { outputs: Record<string, string> }
  body.outputs.nicList = body.outputs.nicList?.replace('00:50:56:b3:b9:89', o.mac) ?? ''
  body.outputs.ipv4 = body.outputs.ipv4?.replace('127.0.0.1      ', o.ip.padEnd(15)) ?? ''
  return JSON.stringify(body)
}

function post(body: string) {
  return fetch(`${t.listenerUrl}/checkin`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  })
}

describe('a replayed token', () => {
  it('cannot redirect Midwife: the host needs attention, Approve is refused, nothing is contacted', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    const bound = t.app.getHost(host.id)
    expect(bound.state).toBe('checked_in')
    expect(bound.identity?.managementIp).toBe('127.0.0.1')

    // Someone who saw the token in a PXE line tries the kickstart (refused: the host
    // is past its install) and checks in with their own host key and their own address.
    const token = hostToken(t.app, host.id)
    const trap = await countingTrap('127.0.0.77', proxy.port)
    cleanup.push(() => trap.close())
    expect((await fetch(`${t.listenerUrl}/ks/${token}.cfg`)).status).toBe(409)
    const res = await post(
      forged(token, { mac: esx.state().nics[0]?.mac as string, ip: '127.0.0.77' }),
    )
    expect(res.status).toBe(201)

    const h = t.app.getHost(host.id)
    expect(h.state).toBe('needs_attention')
    expect(h.attention?.reason).toBe('identity_changed')
    expect(h.attention?.differences.map((d) => d.field)).toEqual(['sshHostKeys', 'managementIp'])
    expect(h.identity?.managementIp).toBe('127.0.0.1')
    expect(h.approve).toMatchObject({ allowed: false })
    expect(h.approve.reason).toMatch(/^Needs attention: /)

    // Through the API, as the UI calls it: not even a plan (a read over SSH) is made.
    const reply = await dispatch(t.app, 'planHost', [host.id])
    expect(reply).toMatchObject({ ok: false, error: { code: 'conflict' } })
    await t.app.idle()
    expect(t.app.listRuns({ limit: 200 }).runs).toEqual([])
    expect(proxy.count()).toBe(0)
    expect(trap.count()).toBe(0)
  })

  it('stops working once the host is configured: its URLs and check-ins answer 410', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    const token = hostToken(t.app, host.id)
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    expect(t.app.getHost(host.id).state).toBe('configured')

    for (const path of [`/ks/${token}.cfg`, `/c/${token}.sh`]) {
      const res = await fetch(`${t.listenerUrl}${path}`)
      expect(res.status, path).toBe(410)
      expect(await res.text()).toContain('Use Reinstall in Midwife to re-arm it')
    }
    const late = await post(
      forged(token, { mac: esx.state().nics[0]?.mac as string, ip: '127.0.0.1' }),
    )
    expect(late.status).toBe(410)
    expect(t.app.listCheckins(host.id)).toHaveLength(1)

    // Reinstall rotates the token: the old one stays dead, the new one re-arms the host.
    t.app.reinstallHost(host.id)
    const fresh = hostToken(t.app, host.id)
    expect(fresh).not.toBe(token)
    expect((await fetch(`${t.listenerUrl}/ks/${token}.cfg`)).status).toBe(410)
    expect(t.app.getHost(host.id).state).toBe('defined')
    expect((await fetch(`${t.listenerUrl}/ks/${fresh}.cfg`)).status).toBe(200)
    expect(t.app.getHost(host.id).state).toBe('booting')
  })
})

describe('a server whose MACs do not include the defined MAC', () => {
  it('cannot be approved until the operator explicitly assigns it anyway', async () => {
    const host = await setup('00:50:56:00:00:99')
    await checkIn(t.app, esx, host)
    const h = t.app.getHost(host.id)
    expect(h).toMatchObject({ state: 'needs_attention', identity: null })
    expect(h.attention?.reason).toBe('mac_mismatch')
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /cannot plan esx01\.lab\.local: needs attention/,
    )
    // "Assign anyway" must be confirmed explicitly.
    expect(await dispatch(t.app, 'trustReported', [host.id, {}])).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    })
    expect(t.app.getHost(host.id).state).toBe('needs_attention')

    const trusted = t.app.trustReported(host.id)
    expect(trusted).toMatchObject({
      state: 'checked_in',
      identity: { how: 'assigned_despite_mac' },
    })
    // Its boot material says the per-MAC files are named for a NIC the server does not have.
    const reported = trusted.identity?.macs ?? []
    const note = (id: number) =>
      t.app.getBootMaterial(id).warnings.filter((w) => w.includes('is not one of the NICs'))
    expect(note(host.id)).toEqual([
      `esx01.lab.local's MAC 00:50:56:00:00:99 is not one of the NICs its server reported (${reported.join(', ')}): per-MAC boot files named for it never reach that server. Set its MAC under Hosts to the NIC it boots from.`,
    ])
    expect((await approveAndWait(t.app, host.id)).state).toBe('done')
    expect(t.app.getHost(host.id).state).toBe('configured')
    // Its MAC set to one it reported: nothing to say.
    const { rootPassword: _kept, ...noPassword } = sampleHost
    t.app.saveHost({ ...noPassword, id: host.id, mac: reported[0] as string, sshPort: ssh.port })
    expect(note(host.id)).toEqual([])
  })
})

describe('a server bound to one host checking in with the token of another', () => {
  it('is that host: the other needs attention naming it, and nothing binds it there until the first is retired', async () => {
    const first = await setup()
    await checkIn(t.app, esx, first)
    expect(t.app.getHost(first.id).state).toBe('checked_in')
    const { rootPassword: _same, ...noPassword } = sampleHost
    const other = t.app.saveHost({
      ...noPassword,
      rootPassword: sampleHost.rootPassword,
      hostname: 'esx02',
      mac: '00:50:56:00:00:99',
      sshPort: proxy.port,
    })
    await checkIn(t.app, esx, other)
    const h = t.app.getHost(other.id)
    expect(h).toMatchObject({ state: 'needs_attention', identity: null })
    expect(h.attention?.reason).toBe('bound_elsewhere')
    expect(h.attention?.message).toMatch(
      /^This server is esx01\.lab\.local \(checked in\): what it reports \(Serial number, System UUID, SSH host keys\) is bound to that host\./,
    )
    // Neither Approve nor an explicit trust gets past it while esx01 holds the server.
    await expect(t.app.planHost(other.id)).rejects.toThrow(
      /cannot plan esx02\.lab\.local: needs attention/,
    )
    expect(await dispatch(t.app, 'trustReported', [other.id, { confirm: true }])).toMatchObject({
      ok: false,
      error: {
        code: 'conflict',
        message: expect.stringMatching(/^This server is esx01/) as unknown,
      },
    })
    expect(t.app.getHost(other.id).state).toBe('needs_attention')
    expect(proxy.count()).toBe(0)

    // esx01 retired (the server was given a new role): now it can be trusted as esx02.
    t.app.retireHost(first.id)
    expect(t.app.trustReported(other.id)).toMatchObject({
      state: 'checked_in',
      identity: { how: 'assigned_despite_mac' },
    })
  })
})

describe('a reinstalled server (same MAC and serial, new host keys)', () => {
  it('needs re-trust, and after it configures over the new keys', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    // Reinstalled by hand: new host keys, SSH restarted with them.
    await ssh.close()
    rmSync(esx.keyDir, { recursive: true })
    generateHostKeys(esx.keyDir)
    const again = await esx.startSsh(sampleHost.rootPassword)
    const proxy2 = await countingProxy(again.port)
    cleanup.push(() => proxy2.close())
    t.app.saveHost({
      ...sampleHost,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: proxy2.port,
    })

    await checkIn(t.app, esx, host)
    const h = t.app.getHost(host.id)
    expect(h.state).toBe('needs_attention')
    expect(h.attention?.differences.map((d) => d.field)).toEqual(['sshHostKeys'])
    await expect(t.app.planHost(host.id)).rejects.toThrow(/cannot plan/)
    expect(proxy2.count()).toBe(0)

    expect(t.app.trustReported(host.id).identity?.how).toBe('retrusted')
    const run = await approveAndWait(t.app, host.id)
    expect(run.state).toBe('done')
    // One connection to plan, one to run.
    expect(proxy2.count()).toBe(2)
    const moves = t.app.store.events
      .about(`host:${host.id}`)
      .filter((e) => e.type === 'host.state')
      .map((e) => (e.data as { to: string }).to)
    expect(moves).toEqual([
      'checked_in',
      'needs_attention',
      'checked_in',
      'approved',
      'configuring',
      'configured',
    ])
  })
})

describe('an address change', () => {
  it('is a conflict, not a silent redirect', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    esx.update((s) => {
      const vmk0 = s.vmknics[0]
      if (vmk0) vmk0.ipv4.address = '127.0.0.5'
    })
    await checkIn(t.app, esx, host)
    const h = t.app.getHost(host.id)
    expect(h.state).toBe('needs_attention')
    expect(h.attention?.reason).toBe('address_changed')
    expect(h.attention?.differences).toEqual([
      {
        field: 'managementIp',
        label: 'Management address',
        trusted: '127.0.0.1',
        reported: '127.0.0.5',
      },
    ])
    expect(t.app.trustReported(host.id).identity?.managementIp).toBe('127.0.0.5')
  })
})

describe('the same server checking in again', () => {
  it('updates its host: no new card, the history kept', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    esx.update((s) => (s.hostname = 'renamed'))
    await checkIn(t.app, esx, host)
    expect(t.app.listHosts()).toHaveLength(1)
    expect(t.app.getHost(host.id).state).toBe('checked_in')
    expect(t.app.listCheckins(host.id).map((c) => c.reportedHostname)).toEqual([
      'renamed',
      'localhost',
    ])
  })
})

describe('approval', () => {
  it('runs the snapshot it approved, whatever the definition says by the time it runs', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    const run = await approve(t.app, host.id)
    // Edited while the run is queued: the edit is for the next run.
    t.app.saveHost({
      ...sampleHost,
      id: host.id,
      mac: host.definition?.mac as string,
      sshPort: proxy.port,
      spec: { ...sampleHost.spec, dns: ['10.9.9.9'] },
    })
    await t.app.idle()
    expect(t.app.getRun(run.id).state).toBe('done')
    expect(esx.state().dns.servers).toEqual(sampleHost.spec.dns)
    const approved = t.app.store.events
      .about(`host:${host.id}`)
      .map((e) => e.data as { to?: string; snapshot?: { settings: { dns: string[] } } })
      .find((d) => d.to === 'approved')
    expect(approved?.snapshot?.settings.dns).toEqual(sampleHost.spec.dns)
  })

  it('refuses a plan that a newer one replaced, in words and without its id', async () => {
    const host = await setup()
    await checkIn(t.app, esx, host)
    const old = await t.app.planHost(host.id)
    await t.app.planHost(host.id)
    const r = await dispatch(t.app, 'approveHost', [host.id, old.id])
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'conflict',
        message:
          'the plan you reviewed for esx01.lab.local is no longer current: it was planned again since (here or in another window); review its newest plan',
      },
    })
  })

  it('is open only in the states that allow it', async () => {
    const host = await setup()
    expect(t.app.getHost(host.id).approve).toEqual({
      allowed: false,
      reason: 'Waiting for the server to check in.',
    })
    await checkIn(t.app, esx, host)
    expect(t.app.getHost(host.id).approve.allowed).toBe(true)
    t.app.retireHost(host.id)
    expect(t.app.getHost(host.id).approve).toEqual({
      allowed: false,
      reason: 'Retired: reinstall it to re-arm it.',
    })
    await expect(t.app.planHost(host.id)).rejects.toThrow(
      /cannot plan esx01\.lab\.local: retired: reinstall it/,
    )
  })
})

// A run that moves the management network: planned, approved and run through
// the App against the simulated host, whose sshd answers only at vmk0's
// address. The run ends verified at the new address and the host is bound
// there; a gateway that does not answer rolls the host back, fails the step
// with the reason, and leaves the host bound where it was.
import { afterEach, describe, expect, it } from 'vitest'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { isWriteCommand, runCommandLine } from '../esxi-sim/interpreter'
import { defaultState } from '../esxi-sim/state'
import { createSimHost, managementNetwork, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

let t: TestApp | undefined
let esx: SimHost | undefined
afterEach(async () => {
  await t?.close()
  await esx?.close()
  t = esx = undefined
})

async function setup(reachable: string[]) {
  t = await startTestApp({ moveDeadlineMs: 4_000 })
  esx = await createSimHost({
    ...managementNetwork('127.0.10.10', '255.255.255.0', '127.0.10.1'),
    reachable,
    managementVlans: [0, 20],
  })
  const sshd = await esx.startSsh(sampleHost.rootPassword)
  const host = t.app.saveHost({
    ...sampleHost,
    mac: esx.state().nics[0]?.mac as string,
    sshPort: sshd.port,
    spec: {
      ...sampleHost.spec,
      mgmtAddress: '127.0.20.10/24',
      defaultGateway: '127.0.20.1',
      mgmtVlan: 20,
    },
  })
  await checkIn(t.app, esx, host)
  expect(t.app.getHost(host.id).identity?.managementIp).toBe('127.0.10.10')
  return { t, esx, host }
}

describe('a run that moves the management network', () => {
  it('ends verified at the new address, and the host is bound there', async () => {
    const { t, esx, host } = await setup(['127.0.10.1', '127.0.20.1'])
    const plan = await t.app.planHost(host.id)
    expect(plan.items.find((i) => i.key === 'mgmtAddress')).toMatchObject({
      status: 'change',
      current: '127.0.10.10/24',
      wanted: '127.0.20.10/24',
      note: 'moves the SSH connection',
    })
    // The VLAN's note also says what the move does to a DHCP address.
    expect(plan.items.find((i) => i.key === 'mgmtVlan')?.note).toBe(
      "moves the SSH connection; if vmk0's address comes from DHCP, the move makes that address static, so Midwife can find the host after it",
    )
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    for (const s of run.steps) expect(s.state, s.key).toBe('done')
    const vmk0 = esx.state().vmknics.find((v) => v.name === 'vmk0')
    expect(vmk0?.ipv4.address).toBe('127.0.20.10')
    expect(t.app.getHost(host.id).identity?.managementIp).toBe('127.0.20.10')
    expect(t.app.getHost(host.id).state).toBe('configured')
    // The audit trail says where it moved from and to, in words.
    const said = t.app.hostAudit(host.id).map((e) => e.summary)
    expect(said).toContain(
      `run ${run.id} moved its management address from 127.0.10.10 to 127.0.20.10; Midwife reaches it there from now on`,
    )

    // At the new address, nothing is left to change.
    const again = await t.app.planHost(host.id)
    expect(again.address).toBe('127.0.20.10')
    expect(again.writes).toBe(0)
  })

  it('rolls back when the new gateway does not answer, and says why', async () => {
    const { t, esx, host } = await setup(['127.0.10.1'])
    const run = await approveAndWait(t.app, host.id)
    expect(run.state).toBe('failed')
    expect(run.error).toMatch(/127\.0\.20\.1/)
    // A gateway that did not answer may answer next time: Retry is offered.
    expect(run.retryRefused).toBeNull()
    const vmk0 = esx.state().vmknics.find((v) => v.name === 'vmk0')
    expect(vmk0?.ipv4.address).toBe('127.0.10.10')
    expect(t.app.getHost(host.id).identity?.managementIp).toBe('127.0.10.10')
  })

  it('refuses in the plan a gateway outside the subnet vmk0 would be in, before anything is written', async () => {
    t = await startTestApp({ moveDeadlineMs: 4_000 })
    esx = await createSimHost(managementNetwork('127.0.10.10', '255.255.255.0', '127.0.10.1'))
    const sshd = await esx.startSsh(sampleHost.rootPassword)
    // The site profile's gateway, for another subnet, and no management address of the host's own.
    const host = t.app.saveHost({
      ...sampleHost,
      mac: esx.state().nics[0]?.mac as string,
      sshPort: sshd.port,
      spec: { ...sampleHost.spec, defaultGateway: '10.0.0.1' },
    })
    await checkIn(t.app, esx, host)
    const plan = await t.app.planHost(host.id)
    expect(plan.blocked).toBe(
      'Default gateway: gateway 10.0.0.1 is not in 127.0.10.0/24 (vmk0 would be at 127.0.10.10/24); set the management address or the default gateway on the Hosts step',
    )
    const mark = esx.logMark()
    await expect(
      Promise.resolve().then(() => t?.app.approveHost(host.id, plan.id)),
    ).rejects.toThrow(`cannot approve ${host.name}: ${plan.blocked}`)
    await t.app.idle()
    expect(esx.writesSince(mark)).toEqual([])
  })

  it("refuses Retry of a run whose gateway fell outside vmk0's subnet, saying where to change it", async () => {
    t = await startTestApp({ moveDeadlineMs: 4_000 })
    esx = await createSimHost({
      ...managementNetwork('127.0.10.10', '255.255.255.0', '127.0.10.1'),
      reachable: ['127.0.10.1', '127.0.10.254'],
    })
    const sshd = await esx.startSsh(sampleHost.rootPassword)
    const host = t.app.saveHost({
      ...sampleHost,
      mac: esx.state().nics[0]?.mac as string,
      sshPort: sshd.port,
      spec: { ...sampleHost.spec, defaultGateway: '127.0.10.254' },
    })
    await checkIn(t.app, esx, host)
    const plan = await t.app.planHost(host.id)
    expect(plan.blocked).toBeNull()
    // Between the plan and the run, vmk0's subnet shrinks (a console edit): 127.0.10.8/30.
    esx.update((s) => {
      const vmk0 = s.vmknics.find((v) => v.name === 'vmk0')
      if (vmk0) vmk0.ipv4.netmask = '255.255.255.252'
    })
    t.app.approveHost(host.id, plan.id)
    await t.app.idle()
    const [failed] = t.app.listRuns({ hostId: host.id, limit: 1 }).runs
    expect(failed?.state).toBe('failed')
    const why =
      'the new management network is not valid: gateway 127.0.10.254 is not in 127.0.10.8/30; set the management address or the default gateway on the Hosts step (or the site profile), then approve the host again'
    expect(failed?.error).toBe(why)
    // The renderer is told before the operator presses Retry: every header says why not.
    expect(failed?.retryRefused).toBe(why)
    expect(t.app.getRun(failed?.id as number).retryRefused).toBe(why)
    expect(t.app.latestRuns().find((r) => r.id === failed?.id)?.retryRefused).toBe(why)

    // Retry uses the values approved with the run: it is refused, with why and where to change it.
    const mark = esx.logMark()
    expect(() => t?.app.resumeRun(failed?.id as number)).toThrow(
      `run ${failed?.id} cannot be retried: Retry uses the values approved with it, so it would fail the same way (${why})`,
    )
    expect(t.app.getHost(host.id).state).toBe('failed')
    expect(t.app.getRun(failed?.id as number).attempts).toBe(1)
    await t.app.idle()
    expect(esx.writesSince(mark)).toEqual([])
  })

  it('leaves a host on DHCP on DHCP when its gateway and VLAN are already as wanted (the plan showed nothing)', async () => {
    t = await startTestApp({ moveDeadlineMs: 4_000 })
    const lease = { address: '127.0.10.10', netmask: '255.255.255.0', gateway: '127.0.10.1' }
    const onDhcp = defaultState({ dhcpLeases: { vmk0: lease } })
    runCommandLine('esxcli network ip interface ipv4 set -i vmk0 -t dhcp', onDhcp)
    esx = await createSimHost({
      vmknics: onDhcp.vmknics,
      dhcpLeases: { vmk0: lease },
      reachable: ['127.0.10.1'],
    })
    const sshd = await esx.startSsh(sampleHost.rootPassword)
    const host = t.app.saveHost({
      ...sampleHost,
      mac: esx.state().nics[0]?.mac as string,
      sshPort: sshd.port,
      spec: { ...sampleHost.spec, defaultGateway: '127.0.10.1', mgmtVlan: 0 },
    })
    await checkIn(t.app, esx, host)
    const plan = await t.app.planHost(host.id)
    for (const key of ['defaultGateway', 'mgmtVlan']) {
      expect(plan.items.find((i) => i.key === key)?.status, key).toBe('same')
    }
    const mark = esx.logMark()
    const run = await approveAndWait(t.app, host.id)
    expect(run.error).toBeNull()
    expect(run.state).toBe('done')
    expect(esx.state().vmknics.find((v) => v.name === 'vmk0')?.ipv4.type).toBe('DHCP')
    expect(esx.state().log.slice(mark).filter(isWriteCommand).join('\n')).not.toMatch(
      /ipv4 set -i vmk0|esxcfg-route|route ipv4/,
    )
  })
})

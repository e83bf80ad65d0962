// The catalogue end to end, generated from the registry: every setting that
// keeps the SSH connection gets its example through schema -> store (the
// site profile or the host's own spec, by its scope) -> plan -> approve ->
// apply -> verify, over real SSH against the simulator with the output of
// ESXi 7.0.3, 8.0.2 and 9.0; then a second plan and run that write nothing.
// A setting a release refuses (a licence on 9.0) must block the plan instead.
// Settings that move or end the connection have their own tests
// (move-management, catalogue-security-ssh): a second run cannot reach a
// host whose SSH was switched off, nor one that moved off loopback.
import { afterEach, describe, expect, it } from 'vitest'
import { SETTINGS } from '../../main/catalogue/registry'
import { isWriteCommand } from '../esxi-sim/interpreter'
import { ESXI_PROFILES, profileVersion } from '../esxi-sim/profile'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import type { SimOverrides } from '../esxi-sim/state'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn } from '../support/flow'

let t: TestApp | undefined
let esx: SimHost | undefined
afterEach(async () => {
  await t?.close()
  await esx?.close()
  t = esx = undefined
})

const keeps = SETTINGS.filter((s) => s.connection === 'keeps' && s.scope !== 'identity')

for (const profile of ESXI_PROFILES) {
  describe(`the catalogue on ESXi ${profile}`, () => {
    const version = profileVersion(profile).version
    const refused = keeps.filter((s) => s.unsupported?.(version))
    const taken = keeps.filter((s) => !s.unsupported?.(version))

    /**
     * A fresh Midwife and host (this release, these quirks) checked in, with the settings'
     * examples in the site profile or the host's own spec, by each setting's scope.
     */
    async function checkedInWith(settings: typeof keeps, quirks: SimOverrides['quirks'] = {}) {
      t = await startTestApp()
      esx = await createSimHost({ profile, quirks })
      const ssh = await esx.startSsh(sampleHost.rootPassword)
      const examples = (scope: 'site' | 'host') =>
        Object.fromEntries(settings.filter((s) => s.scope === scope).map((s) => [s.key, s.example]))
      t.app.saveProfile({ spec: examples('site') })
      const host = t.app.saveHost({
        ...sampleHost,
        spec: examples('host'),
        mac: esx.state().nics[0]?.mac as string,
        sshPort: ssh.port,
      })
      await checkIn(t.app, esx, host)
      return { t, esx, ssh, host, examples }
    }

    it('applies every example through the store, the plan and a run, then writes nothing the second time', async () => {
      const { t, esx, host } = await checkedInWith(taken)

      const plan = await t.app.planHost(host.id)
      expect(plan.blocked).toBeNull()
      expect(plan.esxiVersion).toBe(version)
      const planned = plan.items.map((i) => i.key)
      for (const s of taken) expect(planned, s.key).toContain(s.key)
      // A list shows all the host has; the plan says that only what the design names changes.
      expect(plan.items.find((i) => i.key === 'vswitches')?.note).toBe(
        'vSwitches the design does not name are left as they are.',
      )
      const first = await approveAndWait(t.app, host.id)
      expect(first.error).toBeNull()
      for (const step of first.steps) expect(step.state, step.key).toBe('done')
      // Nothing changed on the host between plan and run: every step ran exactly as planned.
      for (const step of first.steps) expect(step.output, step.key).not.toContain('not as planned')

      const again = await t.app.planHost(host.id)
      expect(
        again.items.filter((i) => i.status !== 'same').map((i) => i.key),
        'settings that still plan a change after being applied',
      ).toEqual([])
      expect(again.writes).toBe(0)
      const mark = esx.logMark()
      const second = await approveAndWait(t.app, host.id)
      expect(second.state).toBe('done')
      expect(esx.writesSince(mark)).toEqual([])
      expect(esx.state().log.slice(mark).filter(isWriteCommand)).toEqual([])
    })

    // esxi.md shows bare lines; output with a blank and a CR at each line's end (a terminal, a
    // Windows line end) must read the same, errors may come on stderr, and the warning that
    // commands are logged may open each command's output (both unconfirmed).
    it('applies every example, then writes nothing, when every output line ends with a blank and a CR', async () => {
      const { t, host } = await checkedInWith(taken, {
        lineEnds: 'padded-crlf',
        errorStream: 'stderr',
        loginWarning: 'stdout',
      })
      const first = await approveAndWait(t.app, host.id)
      expect(first.error).toBeNull()
      for (const step of first.steps) expect(step.state, step.key).toBe('done')
      const again = await t.app.planHost(host.id)
      expect(again.items.filter((i) => i.status !== 'same').map((i) => i.key)).toEqual([])
      expect(again.writes).toBe(0)
    })

    // A host written from esxi.md alone: no `ruleset list`, `ip interface list`, `policy
    // failover get|set` or ESXShell status script; untitled vswitch blocks; an advanced option's
    // value line only; syslog's Remote Host only (see the `unlisted` quirk). Its default route
    // reads 0.0.0.0/0.0.0.0, one of the two spellings esxi.md's row-less table allows.
    it('applies every example on a host that offers only what esxi.md lists, and says what it could not read', async () => {
      const { t, esx, host } = await checkedInWith(taken, {
        unlisted: 'absent',
        defaultRouteNetwork: 'zeros',
      })
      const plan = await t.app.planHost(host.id)
      expect(plan.blocked).toBeNull()
      // The VMkernel NICs are matched by address, and the plan says so once, on their item.
      const matched =
        'This host does not list its VMkernel NICs (`esxcli network ip interface list`), so Midwife matched each to its port group by its static address, and cannot read their MTU.'
      expect(plan.items.find((i) => i.key === 'vmknics')?.note).toContain(matched)
      expect(plan.items.filter((i) => i.note?.includes(matched)).length).toBe(1)
      const first = await approveAndWait(t.app, host.id)
      expect(first.error).toBeNull()
      for (const step of first.steps) expect(step.state, step.key).toBe('done')
      const s = esx.state()
      expect(s.firewall.rulesets['ntpClient']).toBe(true)
      expect(s.firewall.rulesets['syslog']).toBe(true)
      expect(s.services.esxShell.running).toBe(false)
      expect(s.vswitches.find((v) => v.name === 'vSwitch1')?.uplinks).toEqual(['vmnic1'])
      // Only esxi.md's commands made it; its MTU is what ESXi gives a new NIC, so none was set.
      expect(
        s.vmknics.map((v) => [v.name, v.portgroup, v.ipv4.address, v.mtu, v.tags]).slice(1),
      ).toEqual([['vmk1', 'VM Network', '10.0.20.11', 1500, ['VMotion']]])
      expect(s.log.filter((l) => l.startsWith('esxcli network ip interface set'))).toEqual([])

      // What the host cannot say is set again on every run, with the reason in the plan;
      // everything it can say is left alone (the ESXi Shell, wanted off, is not touched).
      const again = await t.app.planHost(host.id)
      const changed = again.items.filter((i) => i.status !== 'same')
      expect(changed.map((i) => i.key).sort()).toEqual(['ntp', 'syslog'])
      const summaries = changed.flatMap((i) => i.changes.map((c) => c.summary))
      expect(summaries).toContain(
        'open the ntpClient firewall ruleset (the host does not say whether it is open)',
      )
      expect(summaries).toContain(
        'open the syslog firewall ruleset (the host does not say whether it is open)',
      )
      // The NIC it made is found again by its address, and the plan still says how.
      const nics = again.items.find((i) => i.key === 'vmknics')
      expect(nics?.status).toBe('same')
      expect(nics?.note).toBe(matched)
      expect(nics?.current).toContain('vmk1 on VM Network: 10.0.20.11/24, MTU unknown, VMotion')

      // The second run writes only what the host cannot say.
      const mark = esx.logMark()
      const second = await approveAndWait(t.app, host.id)
      expect(second.state).toBe('done')
      const writes = esx.writesSince(mark)
      expect(writes.length).toBe(again.writes)
      expect(writes.filter((w) => w.startsWith('esxcli network ip interface'))).toEqual([])
    })

    if (refused.length > 0) {
      const examples = () => Object.fromEntries(refused.map((s) => [s.key, s.example]))

      it(`refuses ${refused.map((s) => s.key).join(', ')} as the host's own values, with the reason`, async () => {
        t = await startTestApp()
        esx = await createSimHost({ profile })
        const ssh = await esx.startSsh(sampleHost.rootPassword)
        const host = t.app.saveHost({
          ...sampleHost,
          spec: { ...sampleHost.spec, ...examples() },
          mac: esx.state().nics[0]?.mac as string,
          sshPort: ssh.port,
        })
        await checkIn(t.app, esx, host)
        const mark = esx.logMark()
        const plan = await t.app.planHost(host.id)
        expect(plan.blocked).not.toBeNull()
        for (const s of refused) {
          const item = plan.items.find((i) => i.key === s.key)
          expect(item?.status).toBe('unsupported')
          expect(item?.note).toBe(s.unsupported?.(version))
        }
        expect(() => t?.app.approveHost(host.id, plan.id)).toThrow(/cannot approve/)
        expect(esx.writesSince(mark)).toEqual([])
      })

      it(`leaves ${refused.map((s) => s.key).join(', ')} from the site profile out on this release, and runs the rest`, async () => {
        const { t, esx, host } = await checkedInWith([])
        // The site profile serves 7.0/8.0 hosts too: its values stay.
        t.app.saveProfile({ spec: examples() })
        const plan = await t.app.planHost(host.id)
        expect(plan.blocked).toBeNull()
        for (const s of refused) {
          const item = plan.items.find((i) => i.key === s.key)
          expect(item?.status).toBe('skipped')
          expect(item?.note).toMatch(/^Left out on this host: .*\.$/)
          expect(item?.note).not.toContain("this host's spec")
        }
        // The batch summary counts it as left out, not as already right.
        const summary = await t.app.planHosts([host.id])
        for (const s of refused) {
          expect(summary.settings.find((x) => x.key === s.key)).toMatchObject({
            skipped: 1,
            same: 0,
          })
        }
        const mark = esx.logMark()
        const run = await approveAndWait(t.app, host.id)
        expect(run.state).toBe('done')
        expect(run.steps.map((x) => x.key)).not.toContain(refused[0]?.key)
        expect(esx.writesSince(mark).filter((w) => w.includes('license'))).toEqual([])
      })
    }
  })
}

// esxi.md: `esxcli system ntp` exists from 7.0 Update 1. On 7.0 GA the plan says so, instead of
// a step failing with the host's "Unknown command".
describe('NTP on ESXi 7.0.0', () => {
  const reason =
    'ESXi 7.0.0 has no `esxcli system ntp` (it arrived in 7.0 Update 1), so Midwife cannot set ' +
    'its time servers until the host is updated'

  it("leaves the site profile's NTP out with the reason and runs the rest; a host's own NTP blocks its plan", async () => {
    t = await startTestApp()
    esx = await createSimHost({
      profile: '7.0.3',
      version: { ...profileVersion('7.0.3'), version: '7.0.0', update: '0' },
    })
    const ssh = await esx.startSsh(sampleHost.rootPassword)
    const { ntp, dns } = sampleHost.spec
    t.app.saveProfile({ spec: { ntp } })
    const mac = esx.state().nics[0]?.mac as string
    const host = t.app.saveHost({ ...sampleHost, spec: { dns }, mac, sshPort: ssh.port })
    await checkIn(t.app, esx, host)

    const plan = await t.app.planHost(host.id)
    expect(plan.esxiVersion).toBe('7.0.0')
    expect(plan.blocked).toBeNull()
    expect(plan.items.find((i) => i.key === 'ntp')).toMatchObject({
      status: 'skipped',
      note: `Left out on this host: ${reason}.`,
    })
    const run = await approveAndWait(t.app, host.id)
    expect(run.state).toBe('done')
    expect(esx.state().dns.servers).toEqual(dns)
    expect(esx.state().log.filter((c) => c.includes('system ntp'))).toEqual([])

    const { rootPassword: _same, ...noPassword } = sampleHost
    t.app.saveHost({ ...noPassword, id: host.id, spec: { dns, ntp }, mac, sshPort: ssh.port })
    const own = await t.app.planHost(host.id)
    expect(own.blocked).not.toBeNull()
    expect(own.items.find((i) => i.key === 'ntp')).toMatchObject({
      status: 'unsupported',
      note: `${reason}; remove NTP from this host's spec`,
    })
    expect(() => t?.app.approveHost(host.id, own.id)).toThrow(/cannot approve/)
  })
})

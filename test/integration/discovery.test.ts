// Servers without a per-host token: the boot line carries PBHOST (the
// listener) and PBKEY (the site enrollment key); the real checkin.sh, run
// under BusyBox with only ESXi's applets and nothing in its environment,
// finds both on the simulated kernel command line, and Midwife stores the
// server as discovered until the operator assigns it.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sectionScript } from '../../main/core/boot/install-callbacks'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { approveAndWait, checkIn, clientScript } from '../support/flow'

let t: TestApp
let esx: SimHost
const cleanup: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function setup(opts: { autoMatch?: boolean } = {}) {
  t = await startTestApp()
  cleanup.push(() => t.close())
  if (opts.autoMatch) await t.app.saveSettings({ ...t.app.getSettings(), autoMatch: true })
  const material = t.app.getDiscoveryMaterial()
  const key = /PBKEY=(\S+)/.exec(material.bootOptions)?.[1] as string
  esx = await createSimHost({
    // As a generic PXE menu boots every server; mboot adds BOOTIF itself.
    bootCmdLine: `runweasel ${material.bootOptions} BOOTIF=01-00-50-56-aa-bb-01`,
  })
  cleanup.push(() => esx.close())
  return { key, material }
}

/** checkin.sh with nothing set: only where ESXi keeps its host keys differs in the test. */
function runClientBare() {
  return esx.sh([clientScript], {})
}

describe('PBHOST discovery', () => {
  it('finds the listener and the key on the boot line, and is stored as discovered', async () => {
    const { material } = await setup()
    expect(material.bootOptions).toMatch(/^PBHOST=127\.0\.0\.1:\d+ PBKEY=[\w-]{43}$/)
    const run = await runClientBare()
    expect(run.stderr).toContain('midwife-checkin: checked in with http://127.0.0.1:')
    expect(run.code).toBe(0)

    const [found] = t.app.listHosts()
    expect(found).toMatchObject({
      state: 'discovered',
      definition: null,
      name: `Unknown server ${esx.state().platform.serialNumber}`,
      identity: { how: 'discovered', managementIp: '127.0.0.1' },
      approve: { allowed: false },
    })
    expect(found?.lastCheckin).toMatchObject({ kind: 'enrollment', bootMac: '00:50:56:aa:bb:01' })
  })

  it('reads the options inside whatever vsish prints around them', async () => {
    const { material } = await setup()
    esx.update((s) => (s.bootCmdLine = `Boot command line: "runweasel ${material.bootOptions}"`))
    expect((await runClientBare()).code).toBe(0)
    expect(t.app.listHosts()[0]?.state).toBe('discovered')
  })

  it('reads options whose values are quoted themselves', async () => {
    const { material } = await setup()
    const quoted = material.bootOptions
      .replace(/PBHOST=(\S+)/, 'PBHOST="$1"')
      .replace(/PBKEY=(\S+)/, "PBKEY='$1'")
    expect(quoted).toMatch(/^PBHOST="[^"]+" PBKEY='[^']+'$/)
    esx.update((s) => (s.bootCmdLine = `runweasel ${quoted}`))
    expect((await runClientBare()).code).toBe(0)
    expect(t.app.listHosts()[0]?.state).toBe('discovered')
  })

  it('reads options glued to a label, as vsish might print them', async () => {
    const { material } = await setup()
    esx.update((s) => {
      s.bootCmdLine = `bootCmdLine:"BOOTIF=01-00-50-56-aa-bb-01 runweasel\ncmdline:${material.bootOptions}"`
    })
    // checkin.sh found PBHOST and PBKEY, and the listener the boot MAC.
    expect((await runClientBare()).code).toBe(0)
    expect(t.app.listHosts()[0]?.lastCheckin).toMatchObject({
      kind: 'enrollment',
      bootMac: '00:50:56:aa:bb:01',
    })
  })

  // What vsish prints around the line is unconfirmed: lines that end in CR LF must read alike.
  it('reads options on lines that end with a CR', async () => {
    const { material } = await setup()
    esx.update(
      (s) => (s.bootCmdLine = `runweasel\r\n${material.bootOptions.replace(' ', '\r\n')}\r`),
    )
    expect((await esx.sh([clientScript], { MIDWIFE_ATTEMPTS: '1' })).code).toBe(0)
    expect(t.app.listHosts()[0]?.state).toBe('discovered')
  })

  it('refuses a wrong enrollment key with 401 and stores nothing', async () => {
    const { key } = await setup()
    esx.update((s) => (s.bootCmdLine = s.bootCmdLine.replace(key, 'W'.repeat(43))))
    const run = await runClientBare()
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /refused this host's enrollment key \(PBKEY= on its boot line\): .*401/,
    )
    expect(t.app.listHosts()).toEqual([])
    expect(t.app.store.checkins.count()).toBe(0)
  })

  it('says what is missing when the boot line carries neither', async () => {
    await setup()
    esx.update((s) => (s.bootCmdLine = 'runweasel'))
    const run = await runClientBare()
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('no listener: set MIDWIFE_URL')
  })

  it('counts the same server checking in again, instead of a second discovered server', async () => {
    await setup()
    await runClientBare()
    await runClientBare()
    expect(t.app.listHosts()).toHaveLength(1)
    expect(t.app.listHosts()[0]?.lastCheckin?.repeats).toBe(1)
  })

  it('suggests the definition with its MAC, and assigning it binds what the server reported', async () => {
    await setup()
    const ssh = await esx.startSsh(sampleHost.rootPassword)
    const def = t.app.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01', sshPort: ssh.port })
    await runClientBare()
    const found = t.app.listHosts().find((h) => h.state === 'discovered')
    expect(found?.suggestions).toEqual([
      {
        hostId: def.id,
        name: 'esx01.lab.local',
        by: 'mac',
        detail: 'reported MAC 00:50:56:aa:bb:01',
      },
    ])
    const assigned = t.app.assignDiscovered(found?.id as number, def.id, {
      confirmMacMismatch: false,
    })
    expect(assigned).toMatchObject({ state: 'checked_in', identity: { how: 'assigned' } })
    expect(t.app.listHosts().map((h) => h.id)).toEqual([def.id])
    expect(t.app.listCheckins(def.id)).toHaveLength(1)
    expect((await approveAndWait(t.app, def.id)).state).toBe('done')
    expect(esx.state().hostname).toBe('esx01')
  })

  it('assigns to a definition with another MAC only when confirmed', async () => {
    await setup()
    const def = t.app.saveHost({ ...sampleHost, mac: '00:50:56:00:00:99' })
    await runClientBare()
    const found = t.app.listHosts().find((h) => h.state === 'discovered')
    expect(found?.suggestions).toEqual([])
    expect(() =>
      t.app.assignDiscovered(found?.id as number, def.id, { confirmMacMismatch: false }),
    ).toThrow(/confirm to assign it anyway/)
    expect(t.app.getHost(def.id).state).toBe('defined')
    const assigned = t.app.assignDiscovered(found?.id as number, def.id, {
      confirmMacMismatch: true,
    })
    expect(assigned.identity?.how).toBe('assigned_despite_mac')
  })

  it('refuses to assign a discovered server that another host has since been bound to', async () => {
    await setup()
    await runClientBare()
    const found = t.app.listHosts().find((h) => h.state === 'discovered')
    const first = t.app.saveHost({ ...sampleHost, mac: esx.state().nics[0]?.mac as string })
    await checkIn(t.app, esx, first)
    expect(t.app.getHost(first.id).state).toBe('checked_in')
    const other = t.app.saveHost({ ...sampleHost, hostname: 'esx02', mac: '00:50:56:00:00:99' })
    expect(() =>
      t.app.assignDiscovered(found?.id as number, other.id, { confirmMacMismatch: true }),
    ).toThrow(/^this server is esx01\.lab\.local: what it reports is bound to that host/)
    expect(t.app.getHost(other.id).state).toBe('defined')
  })

  it('defines a host from what it reported, with the discovery root password', async () => {
    await setup()
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const ssh = await esx.startSsh('Disc0very!pw')
    await runClientBare()
    const found = t.app.listHosts()[0]
    expect(() =>
      t.app.saveHost({
        ...sampleHost,
        id: found?.id,
        mac: '00:50:56:00:00:99',
        rootPassword: undefined,
      }),
    ).toThrow(/mac: must be one this server reported/)
    const { rootPassword: _none, ...fields } = sampleHost
    const defined = t.app.saveHost({
      ...fields,
      id: found?.id,
      mac: '00:50:56:aa:bb:01',
      sshPort: ssh.port,
    })
    expect(defined).toMatchObject({ id: found?.id, state: 'checked_in', name: 'esx01.lab.local' })
    expect((await approveAndWait(t.app, defined.id)).state).toBe('done')
  })

  it('with auto-match on, claims the one definition that has its MAC', async () => {
    await setup({ autoMatch: true })
    const def = t.app.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
    await runClientBare()
    expect(t.app.listHosts().map((h) => [h.id, h.state, h.identity?.how])).toEqual([
      [def.id, 'checked_in', 'auto_matched'],
    ])
  })

  it('with auto-match on, leaves the choice to the operator when two definitions could be it', async () => {
    await setup({ autoMatch: true })
    t.app.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
    t.app.saveHost({ ...sampleHost, hostname: 'esx02', mac: '00:50:56:aa:bb:02' })
    await runClientBare()
    expect(t.app.listHosts().filter((h) => h.state === 'discovered')).toHaveLength(1)
  })

  it('tells the operator what was refused: with a wrong key the server never appears, but the refusal does', async () => {
    const { key } = await setup()
    expect(t.app.getStatus().listener.refused).toEqual({ count: 0, recent: [] })
    esx.update((s) => (s.bootCmdLine = s.bootCmdLine.replace(key, 'W'.repeat(43))))
    expect((await runClientBare()).code).toBe(1)
    await fetch(`${t.listenerUrl}/ks/discover/${'V'.repeat(43)}.cfg`)
    const { refused } = t.app.getStatus().listener
    expect(refused.count).toBe(2)
    expect(refused.recent).toEqual([
      {
        at: expect.any(String) as string,
        from: '127.0.0.1',
        status: 401,
        what: 'kickstart',
        reason: 'wrong enrollment key',
      },
      {
        at: expect.any(String) as string,
        from: '127.0.0.1',
        status: 401,
        what: 'check-in',
        reason: 'wrong enrollment key',
      },
    ])
    expect(JSON.stringify(refused)).not.toContain('WWWW')
    expect(JSON.stringify(refused)).not.toContain('VVVV')
  })
})

describe('the generic kickstart for unknown servers', () => {
  it('is served behind the enrollment key once a discovery root password is set', async () => {
    const { key, material } = await setup()
    expect(material.kickstart).toBeNull()
    expect((await fetch(material.kickstartUrl)).status).toBe(404)
    expect((await fetch(`${t.listenerUrl}/ks/discover/${'W'.repeat(43)}.cfg`)).status).toBe(401)

    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const res = await fetch(material.kickstartUrl)
    expect(res.status).toBe(200)
    const ks = await res.text()
    expect(ks).toContain(`MIDWIFE_ENROLL='${key}'`)
    expect(ks).toMatch(/^rootpw --iscrypted \$6\$/m)
    expect(ks).not.toContain('Disc0very!pw')
    expect(t.logger.lines.join('\n')).not.toContain(key)

    // An installed host boots its own boot.cfg: no PBHOST on its command line,
    // so %firstboot checks in with what the kickstart baked in.
    esx.update((s) => (s.bootCmdLine = 'autoPartition=FALSE'))
    const firstboot = ks.slice(ks.indexOf('\n', ks.indexOf('%firstboot')) + 1)
    const run = await esx.sh(['-c', firstboot], {})
    expect(run.code).toBe(0)
    expect(t.app.listHosts()[0]?.state).toBe('discovered')
  })

  it("puts the installed host's management network on the NIC the server booted from", async () => {
    const { material } = await setup()
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const ks = await (await fetch(material.kickstartUrl)).text()
    // The network line comes from %pre, which reads mboot's BOOTIF: no line leaves the NIC to
    // the installer, which need not pick the one that reached Midwife.
    expect(ks).toMatch(/^%include \/tmp\/midwife-network\.cfg$/m)
    expect(ks).not.toMatch(/^network /m)
    const pre = ks.slice(ks.indexOf('%pre --interpreter=busybox'), ks.indexOf('%firstboot'))
    const script = join(esx.dir, 'pre.sh')
    writeFileSync(script, sectionScript(pre))
    const out = join(esx.dir, 'network.cfg')
    const networkLine = async (bootCmdLine: string) => {
      esx.update((s) => (s.bootCmdLine = bootCmdLine))
      const run = await esx.sh([script], { MIDWIFE_NETWORK_FILE: out })
      expect(run.code).toBe(0)
      return readFileSync(out, 'utf8')
    }
    // As a generic PXE menu boots it (setup's line ends with BOOTIF=01-00-50-56-aa-bb-01).
    expect(await networkLine(esx.state().bootCmdLine)).toBe(
      'network --bootproto=dhcp --device=00:50:56:aa:bb:01\n',
    )
    // Whatever vsish prints around it, in either case.
    expect(
      await networkLine(
        `bootCmdLine:"runweasel ${material.bootOptions} BOOTIF=01-00-50-56-AA-BB-02"`,
      ),
    ).toBe('network --bootproto=dhcp --device=00:50:56:aa:bb:02\n')
    // An ISO boot has no BOOTIF: DHCP, and the installer's choice, as before.
    expect(await networkLine('runweasel cdromBoot')).toBe('network --bootproto=dhcp\n')
  })

  it('stops working for the old key once the key is rotated', async () => {
    const { material } = await setup()
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const rotated = t.app.rotateEnrollmentKey()
    expect(rotated.bootOptions).not.toBe(material.bootOptions)
    expect((await fetch(material.kickstartUrl)).status).toBe(401)
    expect((await fetch(rotated.kickstartUrl)).status).toBe(200)
    expect((await runClientBare()).code).toBe(1)
  })
})

// An unknown server that boots from the network first, installed from the
// generic kickstart: its real %post runs under BusyBox with ESXi's applets
// against the real listener and reports `installed` with the enrollment key;
// from then on the per-MAC HTTP files of the MAC it booted from boot its disk
// (another unknown MAC still gets 404, the generic install). Install again
// forgets it, and it installs at its next network boot. Also the route's
// refusals.
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../main/contract/api'
import { bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import { sectionScript } from '../../main/core/boot/install-callbacks'
import type { ListenerLimits } from '../../main/core/listener/server'
import { parseIpxe } from '../../main/core/boot/syntax'
import { nicList, platform } from '../fixtures/esxi-outputs'
import { sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { fakeMediaLibrary, saveBoot, type MediaFolders } from '../support/netboot'

let t: TestApp
let media: MediaFolders

beforeAll(() => {
  media = fakeMediaLibrary()
})
afterAll(() => media.remove())

const OTHER = '01-00-50-56-aa-bb-77'

async function startSite(limits: Partial<ListenerLimits> = {}) {
  t = await startTestApp({
    listenerLimits: { sourceBurst: 10_000, sourcePerMinute: 10_000, ...limits },
  })
  await saveBoot(t.app, { media: { '8.0': media['8.0'] }, installUnknown: true })
  await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
  const material = t.app.getDiscoveryMaterial()
  return { material, key: /PBKEY=(\S+)/.exec(material.bootOptions)?.[1] as string }
}

/** What each per-MAC HTTP file answers for this MAC folder: the status and, if 200, the parsed file. */
async function perMac(folder: string) {
  const uefi = await fetch(`${t.listenerUrl}/boot/${folder}/boot.cfg`)
  const ipxe = await fetch(`${t.listenerUrl}/ipxe/${folder}.ipxe`)
  const [uefiText, ipxeText] = [await uefi.text(), await ipxe.text()]
  return {
    uefi: { status: uefi.status, cfg: parseBootCfg(uefi.ok ? uefiText : '') },
    ipxe: { status: ipxe.status, script: parseIpxe(ipxe.ok ? ipxeText : '#!ipxe') },
  }
}

describe('an unknown server installed from the generic kickstart', () => {
  let esx: SimHost
  let mac: string
  let folder: string
  let key: string

  beforeEach(async () => {
    const site = await startSite()
    key = site.key
    esx = await createSimHost()
    mac = esx.state().nics[0]?.mac as string
    folder = `01-${mac.replace(/:/g, '-')}`
    // As the generic boot.cfg boots it; mboot adds BOOTIF itself.
    esx.update((s) => (s.bootCmdLine = `runweasel ${site.material.bootOptions} BOOTIF=${folder}`))
  })
  afterEach(async () => {
    await t.close()
    await esx.close()
  })

  /** The generic kickstart's %post, run as the installer runs it. */
  async function runPost(kickstart: string) {
    const lines = kickstart.split('\n')
    const at = lines.findIndex((l) => l.startsWith('%post'))
    const end = lines.findIndex((l, i) => i > at && /^%(pre|post|firstboot)\b/.test(l))
    expect(at).toBeGreaterThan(-1)
    const file = join(esx.dir, 'post.sh')
    writeFileSync(file, sectionScript(lines.slice(at, end).join('\n')))
    return esx.sh([file])
  }

  it('boots its disk once %post reported, until Install again', async () => {
    // First boot: no definition has its MAC, so the per-MAC files send it to the generic install.
    const first = await perMac(folder)
    expect([first.uefi.status, first.ipxe.status]).toEqual([404, 404])
    const kickstart = await (await fetch(t.app.getDiscoveryMaterial().kickstartUrl)).text()

    const post = await runPost(kickstart)
    expect(post.stdout).toContain('midwife: reported installed')
    expect(post.code).toBe(0)

    const [kept] = t.app.listGenericInstalls()
    expect(t.app.listGenericInstalls()).toHaveLength(1)
    expect(kept).toMatchObject({
      bootMac: mac,
      sourceIp: '127.0.0.1',
      serial: esx.state().platform.serialNumber,
      repeats: 0,
      definedAs: null,
    })
    expect(kept?.macs).toContain(mac)
    const audit = t.app.store.events.about(`mac:${mac}`)
    expect(audit.map((e) => e.type)).toEqual(['generic.installed'])
    const log = t.logger.lines.join('\n')
    expect(log).toContain(`booted from ${mac}`)
    expect(log).not.toContain(key)

    // Second boot: both per-MAC HTTP files boot the local disk; nothing installs.
    const second = await perMac(folder)
    expect(second.uefi.status).toBe(200)
    expect(bootCfgGet(second.uefi.cfg, 'skip')).toBe('1')
    expect(bootCfgGet(second.uefi.cfg, 'kernel')).toBeUndefined()
    expect(second.ipxe.status).toBe(200)
    expect(second.ipxe.script.commands.map((c) => c.name)).toEqual(['exit'])
    // Another unknown server still gets the generic install.
    const other = await perMac(OTHER)
    expect([other.uefi.status, other.ipxe.status]).toEqual([404, 404])
    expect(audit.length).toBeLessThan(t.app.store.events.about(`mac:${mac}`).length)

    // Install again: not without the operator's confirmation; then forgotten, audited, and its
    // next network boot installs.
    const unconfirmed = await dispatch(t.app, 'forgetGenericInstall', [mac, { confirm: false }])
    expect(unconfirmed).toMatchObject({ ok: false, error: { code: 'invalid' } })
    expect(t.app.listGenericInstalls()).toHaveLength(1)
    expect(t.app.forgetGenericInstall(mac)).toEqual([])
    const third = await perMac(folder)
    expect([third.uefi.status, third.ipxe.status]).toEqual([404, 404])
    expect(
      t.app.store.events
        .about(`mac:${mac}`)
        .map((e) => e.type)
        .filter((type) => type !== 'generic.netboot_served'),
    ).toEqual(['generic.installed', 'generic.install_forgotten'])
    expect(() => t.app.forgetGenericInstall(mac)).toThrow(/no server installed/)
  })

  it('leaves a MAC a definition has to that host’s own state', async () => {
    const kickstart = await (await fetch(t.app.getDiscoveryMaterial().kickstartUrl)).text()
    expect((await runPost(kickstart)).code).toBe(0)
    t.app.saveHost({ ...sampleHost, mac, esxiVersion: '8.0' })
    expect(t.app.listGenericInstalls()[0]?.definedAs).toBe('esx01.lab.local')
    // The host is defined (armed): its own files install it with its own kickstart.
    const files = await perMac(folder)
    expect(files.uefi.status).toBe(200)
    expect(bootCfgGet(files.uefi.cfg, 'kernelopt')).toMatch(/ks=\S+\/ks\/\S+\.cfg/)
  })
})

describe('POST /install/discover/<key>/installed', () => {
  let key: string
  beforeEach(async () => {
    key = (await startSite({ enrollmentBurst: 4, enrollmentPerMinute: 1 })).key
  })
  afterEach(() => t.close())

  const body = (
    over: Record<string, unknown> = {},
    bootCmdLine = 'BOOTIF=01-00-50-56-aa-bb-09',
  ) => ({
    state: 'installed',
    client: 'ks-test/1',
    secureBoot: 'unknown',
    outputs: { nicList, platform, ipv4: '', bootCmdLine },
    ...over,
  })
  const post = (path: string, payload: unknown) =>
    fetch(`${t.listenerUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })
  const stored = () => ({
    kept: t.app.listGenericInstalls(),
    audit: t.app.store.events.list().filter((e) => e.type.startsWith('generic.')),
  })

  it('refuses a wrong key and a bad body, storing nothing', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      [`/install/discover/${'W'.repeat(43)}/installed`, body(), 401, 'wrong enrollment key'],
      [`/install/discover/${key}/installed`, '{nope', 400, 'malformed JSON'],
      [`/install/discover/${key}/installed`, { state: 'installed' }, 400, 'client'],
      [
        `/install/discover/${key}/installed`,
        body({ state: 'installing' }),
        400,
        'reports "installing"',
      ],
    ]
    for (const [path, payload, status, says] of cases) {
      const res = await post(path, payload)
      expect(res.status, says).toBe(status)
      expect(((await res.json()) as { error: string }).error).toContain(says)
    }
    expect((await post(`/install/discover/${key}/installing`, body())).status).toBe(404)
    expect(stored()).toEqual({ kept: [], audit: [] })
    expect(t.app.getStatus().listener.refused.recent[0]).toMatchObject({
      status: 400,
      what: 'install report',
    })
    expect(t.logger.lines.join('\n')).not.toContain(key)
  })

  it('accepts a report without BOOTIF, saying nothing can boot its disk', async () => {
    const res = await post(`/install/discover/${key}/installed`, body({}, 'runweasel'))
    expect(res.status).toBe(200)
    expect(((await res.json()) as { message: string }).message).toContain('no BOOTIF=')
    expect(stored().kept).toEqual([])
    expect(stored().audit.map((e) => e.type)).toEqual(['generic.installed'])
    expect(t.logger.lines.join('\n')).toContain('no per-MAC boot file can boot its disk')
  })

  it('lets a rack of unknown servers, each from its own address, share the key', async () => {
    // Default limits: the enrollment key is every unknown server's, so it is not held to one
    // server's share (20 at once), which would leave most of a rack installing again.
    await t.close()
    t = await startTestApp()
    await saveBoot(t.app, { media: { '8.0': media['8.0'] }, installUnknown: true })
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const rackKey = /PBKEY=(\S+)/.exec(t.app.getDiscoveryMaterial().bootOptions)?.[1] as string
    const { port } = new URL(t.listenerUrl)
    const from = (n: number, method: string, path: string, payload?: unknown) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, method, path, localAddress: `127.0.1.${n}` },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          },
        )
        req.on('error', reject)
        if (payload !== undefined) req.setHeader('Content-Type', 'application/json')
        req.end(payload === undefined ? undefined : JSON.stringify(payload))
      })
    const servers = Array.from({ length: 60 }, (_, i) => i + 1)
    const fetched = await Promise.all(
      servers.map((n) => from(n, 'GET', `/ks/discover/${rackKey}.cfg`)),
    )
    const hex = (n: number) => n.toString(16).padStart(2, '0')
    const reported = await Promise.all(
      servers.map((n) =>
        from(
          n,
          'POST',
          `/install/discover/${rackKey}/installed`,
          body({}, `BOOTIF=01-00-50-56-ab-00-${hex(n)}`),
        ),
      ),
    )
    expect(fetched).toEqual(servers.map(() => 200))
    expect(reported).toEqual(servers.map(() => 201))
    expect(t.app.listGenericInstalls()).toHaveLength(60)
  })

  it('answers 201, then 200 for the same server again, and rate-limits the key', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push((await post(`/install/discover/${key}/installed`, body())).status)
    }
    expect(statuses).toEqual([201, 200, 200, 200, 429, 429])
    expect(t.app.listGenericInstalls()).toMatchObject([
      { bootMac: '00:50:56:aa:bb:09', repeats: 3 },
    ])
  })
})

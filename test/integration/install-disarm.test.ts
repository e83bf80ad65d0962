// A server that boots from the network first, booted twice: the first boot
// fetches its per-MAC files and its kickstart, whose real %pre and %post run
// under BusyBox with ESXi's applets against the real listener; the second
// boot gets boot-from-disk from every per-MAC file. Reinstall arms it again.
// Also the install report route's refusals, one by one.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import { bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import { sectionScript } from '../../main/core/boot/install-callbacks'
import { parseIpxe, parsePxelinux, pxelinuxDirective } from '../../main/core/boot/syntax'
import { nicList, platform } from '../fixtures/esxi-outputs'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import { createSimHost, type SimHost } from '../support/esxi-host'
import { fakeMediaLibrary, saveBoot, type MediaFolders } from '../support/netboot'

let t: TestApp
let media: MediaFolders
let esx: SimHost

beforeAll(() => {
  media = fakeMediaLibrary()
})
afterAll(() => media.remove())

/** The section of a kickstart that starts with `header`, up to the next section. */
function section(ks: string, header: string): string {
  const lines = ks.split('\n')
  const at = lines.findIndex((l) => l.startsWith(header))
  if (at < 0) throw new Error(`no ${header} in the kickstart`)
  const end = lines.findIndex((l, i) => i > at && /^%(pre|post|firstboot)\b/.test(l))
  return lines.slice(at, end < 0 ? undefined : end).join('\n')
}

/** Runs a kickstart section's script as the installer would, under the host's BusyBox. */
async function runSection(text: string) {
  const file = join(esx.dir, 'section.sh')
  writeFileSync(file, sectionScript(text))
  return esx.sh([file])
}

describe('a server that boots from the network first, booted twice', () => {
  let host: Host
  let macFolder: string

  beforeEach(async () => {
    t = await startTestApp({ listenerLimits: { sourceBurst: 10_000, sourcePerMinute: 10_000 } })
    await saveBoot(t.app, { media: { '8.0': media['8.0'], '9.0': media['9.0'] } })
    esx = await createSimHost()
    const mac = esx.state().nics[0]?.mac as string
    macFolder = `01-${mac.replace(/:/g, '-')}`
    host = t.app.saveHost({ ...sampleHost, mac, esxiVersion: '8.0' })
  })
  afterEach(async () => {
    await t.close()
    await esx.close()
  })

  /** What a server with this MAC is told by each per-MAC file. */
  async function perMacFiles() {
    const get = async (p: string) => {
      const r = await fetch(`${t.listenerUrl}${p}`)
      expect(r.status, p).toBe(200)
      return r.text()
    }
    return {
      uefi: parseBootCfg(await get(`/boot/${macFolder}/boot.cfg`)),
      ipxe: parseIpxe(await get(`/ipxe/${macFolder}.ipxe`)),
    }
  }

  it('installs on the first boot, and boots its disk on the second', async () => {
    const token = hostToken(t.app, host.id)

    // First boot: the per-MAC files start the installer with this host's kickstart.
    const first = await perMacFiles()
    const ks = bootCfgGet(first.uefi, 'kernelopt')?.match(/ks=(\S+)/)?.[1]
    expect(ks).toBe(`${t.listenerUrl}/ks/${token}.cfg`)
    expect(first.ipxe.commands.filter((c) => c.name === 'kernel')).toHaveLength(2)
    // The PXELINUX file for the site's TFTP server says the same.
    const pxe = t.app
      .getBootMaterial(host.id)
      .artifacts.find((a) => a.path === `pxelinux.cfg/${macFolder}`)
    const install = parsePxelinux(pxe?.text ?? '').labels.find((l) => l.label === 'install')
    expect(install && pxelinuxDirective(install, 'APPEND')).toContain(`ks=${ks}`)

    // The installer fetches its kickstart and runs %pre, then %post.
    const kickstart = await (await fetch(ks as string)).text()
    expect(t.app.getHost(host.id).state).toBe('booting')
    const pre = await runSection(section(kickstart, '%pre'))
    expect(pre.stdout).toContain('midwife: reported installing')
    expect(t.app.getHost(host.id)).toMatchObject({ state: 'installing', netbootArmed: true })
    const post = await runSection(section(kickstart, '%post'))
    expect(post.stdout).toContain('midwife: reported installed')
    expect(post.code).toBe(0)

    const installed = t.app.getHost(host.id)
    expect(installed).toMatchObject({ state: 'installed', netbootArmed: false })
    expect(installed.stateReason).toContain('its netboot is disarmed')
    expect(installed.install).toMatchObject({
      state: 'installed',
      sourceIp: '127.0.0.1',
      secureBoot: 'unknown',
      serial: esx.state().platform.serialNumber,
      macMatches: true,
    })
    expect(installed.install?.macs).toContain(host.definition?.mac)

    // Second boot: every per-MAC file boots the local disk; nothing installs.
    const second = await perMacFiles()
    expect(bootCfgGet(second.uefi, 'skip')).toBe('1')
    expect(bootCfgGet(second.uefi, 'kernel')).toBeUndefined()
    expect(second.ipxe.commands.map((c) => c.name)).toEqual(['exit'])
    const material = t.app.getBootMaterial(host.id)
    expect(material.armed).toBe(false)
    const pxeNow = material.artifacts.find((a) => a.path === `pxelinux.cfg/${macFolder}`)
    const local = parsePxelinux(pxeNow?.text ?? '')
    expect(local.labels.map((l) => [l.label, pxelinuxDirective(l, 'LOCALBOOT')])).toEqual([
      ['local', '0'],
    ])
    expect(JSON.stringify(second)).not.toContain(token)

    // The host's first check-in after the reboot binds it as usual.
    const checkin = await esx.sh([join(process.cwd(), 'resources/client/checkin.sh')], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      MIDWIFE_ATTEMPTS: '2',
      MIDWIFE_BACKOFF: '1',
    })
    expect(checkin.code).toBe(0)
    expect(t.app.getHost(host.id).state).toBe('checked_in')

    // Reinstall arms it again, with a new token; the old one is refused.
    t.app.reinstallHost(host.id)
    const fresh = hostToken(t.app, host.id)
    expect(fresh).not.toBe(token)
    const third = await perMacFiles()
    expect(bootCfgGet(third.uefi, 'kernelopt')).toContain(`ks=${t.listenerUrl}/ks/${fresh}.cfg`)
    expect(t.app.getHost(host.id)).toMatchObject({
      state: 'defined',
      netbootArmed: true,
      install: null,
    })
    const stale = await runSection(section(kickstart, '%post'))
    expect(stale.stdout).toContain('the listener refused the installed report')
    expect(t.app.getHost(host.id).state).toBe('defined')
  })

  it('refuses its kickstart once installed, so stale install files on a TFTP server cannot erase it again', async () => {
    const token = hostToken(t.app, host.id)
    // The PXELINUX file from a bundle extracted before the install: Midwife cannot change it.
    const pxe = t.app
      .getBootMaterial(host.id)
      .artifacts.find((a) => a.path === `pxelinux.cfg/${macFolder}`)
    const label = parsePxelinux(pxe?.text ?? '').labels.find((l) => l.label === 'install')
    const ks = (label && pxelinuxDirective(label, 'APPEND'))?.match(/ks=(\S+)/)?.[1] as string
    const kickstart = await (await fetch(ks)).text()
    await runSection(section(kickstart, '%pre'))
    await runSection(section(kickstart, '%post'))
    expect(t.app.getHost(host.id).state).toBe('installed')

    // The server boots from the network first: the stale file loads the installer again.
    const again = await fetch(ks)
    expect(again.status).toBe(409)
    const why = await again.text()
    expect(why).toContain('esx01.lab.local is installed')
    expect(why).toContain('TFTP')
    expect(why).toContain('Reinstall')
    expect(t.app.getHost(host.id).state).toBe('installed')
    expect(t.app.getStatus().listener.refused.recent[0]).toMatchObject({
      status: 409,
      what: 'kickstart',
    })
    // The boot material says so, and where the files that boot the disk now must go.
    expect(t.app.getBootMaterial(host.id).warnings.join('\n')).toMatch(
      /with a fresh bundle\), and its kickstart is refused/,
    )
    // Nor after its check-in, before it is configured.
    const checkin = await esx.sh([join(process.cwd(), 'resources/client/checkin.sh')], {
      MIDWIFE_URL: t.listenerUrl,
      MIDWIFE_TOKEN: token,
      MIDWIFE_ATTEMPTS: '1',
    })
    expect(checkin.code).toBe(0)
    expect(t.app.getHost(host.id).state).toBe('checked_in')
    expect((await fetch(ks)).status).toBe(409)

    // Reinstall arms it, and its new kickstart is served.
    t.app.reinstallHost(host.id)
    const fresh = await fetch(`${t.listenerUrl}/ks/${hostToken(t.app, host.id)}.cfg`)
    expect(fresh.status).toBe(200)
    expect(t.app.getHost(host.id).state).toBe('booting')
  })

  it('records a report sent twice once as a move, then as evidence', async () => {
    const token = hostToken(t.app, host.id)
    const kickstart = await (await fetch(`${t.listenerUrl}/ks/${token}.cfg`)).text()
    await runSection(section(kickstart, '%pre'))
    await runSection(section(kickstart, '%pre'))
    const events = t.app.store.events.about(`host:${host.id}`)
    expect(events.filter((e) => e.type === 'host.state').map((e) => e.data)).toMatchObject([
      { from: 'defined', to: 'booting' },
      { from: 'booting', to: 'installing' },
    ])
    expect(events.filter((e) => e.type === 'host.install_report')).toHaveLength(1)
  })
})

describe('POST /install/<token>/<state>', () => {
  let host: Host
  let token: string

  beforeEach(async () => {
    t = await startTestApp({ listenerLimits: { credentialBurst: 4, credentialPerMinute: 1 } })
    host = t.app.saveHost({ ...sampleHost, mac: '00:50:56:b3:b9:89' })
    token = hostToken(t.app, host.id)
  })
  afterEach(() => t.close())

  const body = (state: string, over: Record<string, unknown> = {}) => ({
    state,
    client: 'ks-test/1',
    secureBoot: 'on',
    outputs: {
      nicList,
      platform,
      ipv4: '',
      bootCmdLine: 'runweasel BOOTIF=01-00-50-56-b3-b9-89',
    },
    ...over,
  })
  const post = (path: string, payload: unknown) =>
    fetch(`${t.listenerUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })

  it('moves the host and keeps what the installer read, Secure Boot included', async () => {
    const res = await post(`/install/${token}/installed`, body('installed'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      accepted: true,
      host: 'esx01.lab.local',
      state: 'installed',
      repeat: false,
    })
    expect(t.app.getHost(host.id).install).toMatchObject({
      secureBoot: 'on',
      bootMac: '00:50:56:b3:b9:89',
      serial: 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99',
      macMatches: true,
    })
    expect(t.logger.lines.join('\n')).not.toContain(token)
  })

  it('refuses, changing nothing: bad JSON, a bad body, a state that disagrees, unknown and spent tokens', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      [`/install/${token}/installing`, '{nope', 400, 'malformed JSON'],
      [`/install/${token}/installing`, { state: 'installing' }, 400, 'client'],
      [`/install/${token}/installing`, body('installed'), 400, 'reports "installed"'],
      [`/install/${'x'.repeat(43)}/installed`, body('installed'), 401, 'unknown deployment token'],
    ]
    for (const [path, payload, status, says] of cases) {
      const res = await post(path, payload)
      expect(res.status, says).toBe(status)
      expect(((await res.json()) as { error: string }).error).toContain(says)
    }
    expect(t.app.getHost(host.id).state).toBe('defined')
    expect((await post(`/install/${token}/finished`, body('installed'))).status).toBe(404)
    expect((await post(`/install/short/installed`, body('installed'))).status).toBe(404)
    const big = await post(`/install/${token}/installed`, 'x'.repeat(70_000))
    expect(big.status).toBe(413)

    t.app.retireHost(host.id)
    const spent = await post(`/install/${token}/installed`, body('installed'))
    expect(spent.status).toBe(410)
    expect(t.app.getHost(host.id).install).toBeNull()
  })

  it('refuses a report the lifecycle cannot take, and audits it', async () => {
    t.app.store.moveHost(host.id, 'needs_attention', 'test: a conflict')
    const res = await post(`/install/${token}/installing`, body('installing'))
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: string }).error).toContain('use Reinstall in Midwife')
    expect(t.app.getHost(host.id).state).toBe('needs_attention')
    const refused = t.app.store.events
      .about(`host:${host.id}`)
      .filter((e) => e.type === 'host.install_refused')
    expect(refused).toHaveLength(1)
  })

  it('rate-limits one token like check-ins', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push((await post(`/install/${token}/installing`, body('installing'))).status)
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200])
    expect(statuses.slice(4)).toEqual([429, 429])
  })
})

// Network boot served by the real listener on loopback: the media library as
// saved under Site, the installer files over HTTP (whole and in ranges), the
// per-MAC boot.cfg and iPXE files behind a live token, the generic files for
// unknown servers, and every refusal.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatch } from '../../main/contract/api'
import type { Host } from '../../main/contract/schemas'
import { bootCfgFiles, bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import { parseIpxe } from '../../main/core/boot/syntax'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import { fakeMediaLibrary, rawGet, saveBoot, type MediaFolders } from '../support/netboot'

const MAC_FOLDER = '01-00-50-56-aa-bb-01'

let t: TestApp
let media: MediaFolders
let host: Host
let token: string

beforeAll(async () => {
  // All requests come from 127.0.0.1: lift the per-source limit a whole
  // installer's worth of files would reach (the limits have their own tests).
  t = await startTestApp({ listenerLimits: { sourceBurst: 10_000, sourcePerMinute: 10_000 } })
  media = fakeMediaLibrary()
  await saveBoot(t.app, { media: { '8.0': media['8.0'], '9.0': media['9.0'] } })
  host = t.app.saveHost({ ...sampleHost, esxiVersion: '8.0' })
  token = hostToken(t.app, host.id)
})
afterAll(async () => {
  await t.close()
  media.remove()
})

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${t.listenerUrl}${path}`, { headers })

describe('the media library under Site', () => {
  it('checks each folder when saved and reports what it found', async () => {
    const status = await t.app.checkMediaLibrary()
    expect(status.map((m) => [m.version, m.ok, m.build])).toEqual([
      ['8.0', true, '8.0.2-0.0.22380479'],
      ['9.0', true, '9.0.0-0.0.24755229'],
    ])
    expect(status[0]).toMatchObject({
      path: media['8.0'],
      url: `${t.listenerUrl}/media/8.0`,
      files: { mbootC32: true, bootx64Efi: true, crypto64Efi: false },
      missing: [],
    })
  })

  it('refuses a folder that is not a usable ISO, naming each missing file, and saves nothing', async () => {
    const partial = join(media.root, 'partial-7.0')
    const { writeFakeIso } = await import('../fixtures/esxi-media')
    writeFakeIso(partial, '7.0', { omit: ['k.b00', 'imgpayld.tgz'] })
    const before = t.app.getSettings()
    const reply = await dispatch(t.app, 'saveSettings', [
      { ...before, boot: { ...before.boot, media: { ...before.boot.media, '7.0': partial } } },
    ])
    expect(reply.ok).toBe(false)
    const message = reply.ok ? '' : reply.error.message
    expect(message).toMatch(/^boot\.media\.7\.0: /)
    expect(message).toContain('lacks /k.b00, which boot.cfg loads')
    expect(message).toContain('lacks /imgpayld.tgz, which boot.cfg loads')
    expect(t.app.getSettings()).toEqual(before)
    // The running library is untouched too.
    expect((await get('/media/8.0/b.b00')).status).toBe(200)
  })

  it('refuses a version folder holding another version', async () => {
    const before = t.app.getSettings()
    const reply = await dispatch(t.app, 'saveSettings', [
      { ...before, boot: { ...before.boot, media: { ...before.boot.media, '7.0': media['8.0'] } } },
    ])
    expect(reply.ok ? null : reply.error.code).toBe('invalid')
    expect(reply.ok ? '' : reply.error.message).toContain(
      'holds ESXi 8.0.2 (build=8.0.2-0.0.22380479), not 7.0',
    )
  })
})

describe('the installer media over HTTP', () => {
  it('serves every file boot.cfg names, whatever the case on disk', async () => {
    for (const [path, body] of [
      ['/media/8.0/b.b00', '8.0:b.b00\n'],
      ['/media/8.0/efi/boot/bootx64.efi', '8.0:efi/boot/bootx64.efi\n'],
      ['/media/9.0/B.B00', '9.0:b.b00\n'],
    ]) {
      const res = await get(path as string)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('accept-ranges')).toBe('bytes')
      expect(await res.text()).toBe(body)
    }
  })

  it('answers byte ranges, a HEAD, and a range past the end', async () => {
    const whole = '8.0:b.b00\n'
    const part = await get('/media/8.0/b.b00', { Range: 'bytes=4-8' })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 4-8/${whole.length}`)
    expect(await part.text()).toBe(whole.slice(4, 9))
    const tail = await get('/media/8.0/b.b00', { Range: 'bytes=-4' })
    expect(await tail.text()).toBe(whole.slice(-4))
    const open = await get('/media/8.0/b.b00', { Range: 'bytes=6-' })
    expect(await open.text()).toBe(whole.slice(6))
    const past = await get('/media/8.0/b.b00', { Range: `bytes=${whole.length}-` })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`)
    // Several ranges at once: the whole file, which RFC 9110 allows.
    const several = await get('/media/8.0/b.b00', { Range: 'bytes=0-1,4-5' })
    expect(several.status).toBe(200)
    expect(await several.text()).toBe(whole)
    const head = await fetch(`${t.listenerUrl}/media/8.0/b.b00`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(whole.length))
  })

  it('refuses paths that leave the media folder, by dots, encodings or a symlink', async () => {
    writeFileSync(join(media.root, 'outside.txt'), 'not media\n')
    symlinkSync(join(media.root, 'outside.txt'), join(media['8.0'], 'ESCAPE.TXT'))
    mkdirSync(join(media['8.0'], 'SUB'))
    symlinkSync(media.root, join(media['8.0'], 'SUB', 'up'))
    // Dot segments never reach the media code: the listener's guard refuses them.
    for (const p of [
      '/media/8.0/../outside.txt',
      '/media/8.0/%2e%2e/outside.txt',
      '/media/8.0/..%2foutside.txt',
      '/media/8.0/efi/../../outside.txt',
    ]) {
      const r = await rawGet(t.listenerUrl, p)
      expect(r.status, p).toBe(400)
      expect(r.body).not.toContain('not media')
    }
    for (const p of ['/media/8.0/escape.txt', '/media/8.0/sub/up/outside.txt']) {
      const r = await rawGet(t.listenerUrl, p)
      expect(r.status, p).toBe(403)
      expect(r.body).toBe('the path leaves the media folder\n')
    }
    expect((await get('/media/8.0/nope.v00')).status).toBe(404)
    expect((await get('/media/7.0/b.b00')).status).toBe(404)
    expect((await get('/media/6.5/b.b00')).status).toBe(404)
  })
})

describe('per-MAC files', () => {
  it('gives the host a UEFI boot.cfg whose prefix= is the media, and every module it loads', async () => {
    const res = await get(`/boot/${MAC_FOLDER}/boot.cfg`)
    expect(res.status).toBe(200)
    const cfg = parseBootCfg(await res.text())
    const prefix = bootCfgGet(cfg, 'prefix')
    expect(prefix).toBe(`${t.listenerUrl}/media/8.0`)
    expect(bootCfgGet(cfg, 'kernelopt')).toContain(`ks=${t.listenerUrl}/ks/${token}.cfg`)
    expect(bootCfgGet(cfg, 'kernelopt')).not.toContain('cdromBoot')
    const files = bootCfgFiles(cfg)
    expect(files.length).toBeGreaterThan(50)
    for (const f of files) {
      const r = await fetch(`${prefix}/${f}`)
      expect(r.status, f).toBe(200)
      expect(await r.text()).toBe(`8.0:${f}\n`)
    }
  })

  it('gives iPXE a script that passes -c with the host’s own boot.cfg URL', async () => {
    const script = await (await get(`/ipxe/${MAC_FOLDER}.ipxe`)).text()
    const kernels = parseIpxe(script).commands.filter((c) => c.name === 'kernel')
    const cfgUrl = `${t.listenerUrl}/ipxe/${MAC_FOLDER}/boot.cfg`
    expect(kernels.map((k) => k.args.slice(0, 3))).toEqual([
      [`${t.listenerUrl}/media/8.0/efi/boot/bootx64.efi`, '-c', cfgUrl],
      [`${t.listenerUrl}/media/8.0/mboot.c32`, '-c', cfgUrl],
    ])
    const cfg = parseBootCfg(await (await fetch(cfgUrl)).text())
    expect(bootCfgGet(cfg, 'prefix')).toBe(`${t.listenerUrl}/media/8.0`)
  })

  it('serves the newest loader, crypto64.efi beside it, and the generic files', async () => {
    expect(await (await get('/boot/mboot.efi')).text()).toBe('9.0:efi/boot/bootx64.efi\n')
    expect(await (await get('/boot/crypto64.efi')).text()).toBe('9.0:efi/boot/crypto64.efi\n')
    // Unknown servers boot their disk unless the site installs them.
    const generic = parseBootCfg(await (await get('/boot/boot.cfg')).text())
    expect(bootCfgGet(generic, 'skip')).toBe('1')
    const menu = await (await get('/ipxe/menu.ipxe')).text()
    expect(menu).toContain('chain --autofree')
    expect(menu).toContain('choose --default local')
    const v8 = parseBootCfg(await (await get('/boot/8.0/boot.cfg')).text())
    expect(bootCfgGet(v8, 'prefix')).toBe(`${t.listenerUrl}/media/8.0`)
    expect(bootCfgGet(v8, 'kernelopt')).not.toContain('ks=')
  })

  it('sends an unknown MAC to the generic file, and refuses upper case and unknown paths', async () => {
    for (const p of [
      '/boot/01-00-50-56-aa-bb-99/boot.cfg',
      '/ipxe/01-00-50-56-aa-bb-99.ipxe',
      `/boot/${MAC_FOLDER.toUpperCase()}/boot.cfg`,
      '/boot/nothing-here',
      '/ipxe/',
    ]) {
      const r = await get(p)
      expect(r.status, p).toBe(404)
      expect(await r.text()).not.toContain(token)
    }
  })

  it('boots a configured (or retired) host from its disk without its token', async () => {
    const other = t.app.saveHost({
      ...sampleHost,
      hostname: 'esx09',
      mac: '00:50:56:aa:bb:09',
    })
    const otherToken = hostToken(t.app, other.id)
    t.app.retireHost(other.id)
    const cfg = await (await get('/boot/01-00-50-56-aa-bb-09/boot.cfg')).text()
    expect(bootCfgGet(parseBootCfg(cfg), 'skip')).toBe('1')
    expect(cfg).not.toContain(otherToken)
    const ipxe = await (await get('/ipxe/01-00-50-56-aa-bb-09.ipxe')).text()
    expect(parseIpxe(ipxe).commands.map((c) => c.name)).toEqual(['exit'])
    // Its own iPXE boot.cfg only exists while armed; disarmed it still boots the disk.
    const ipxeCfg = await (await get('/ipxe/01-00-50-56-aa-bb-09/boot.cfg')).text()
    expect(bootCfgGet(parseBootCfg(ipxeCfg), 'skip')).toBe('1')
    t.app.deleteHost(other.id)
  })

  it('never writes a token to the log, and audits what a host was served', () => {
    expect(t.logger.lines.join('\n')).not.toContain(token)
    const served = t.app.store.events
      .about(`host:${host.id}`)
      .filter((e) => e.type === 'host.netboot_served')
    expect(served.length).toBeGreaterThan(0)
    expect(served[0]?.data).toMatchObject({ armed: true, from: '127.0.0.1' })
  })
})

describe('a media base URL elsewhere', () => {
  it('points prefix= at the site’s own web server, version by version', async () => {
    const before = t.app.getSettings()
    await t.app.saveSettings({ ...before, mediaBaseUrl: 'http://10.0.0.7/esxi' })
    try {
      const cfg = parseBootCfg(await (await get(`/boot/${MAC_FOLDER}/boot.cfg`)).text())
      expect(bootCfgGet(cfg, 'prefix')).toBe('http://10.0.0.7/esxi/8.0')
    } finally {
      await t.app.saveSettings(before)
    }
  })
})

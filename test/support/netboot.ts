// A site with a media library on disk, as the netboot tests set it up: fake
// extracted ISOs in a temp folder, saved under Site through the real API.
import { request } from 'node:http'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { extract } from 'tar-stream'
import type { BootSettingsInput, Settings } from '../../main/contract/schemas'
import type { App } from '../../main/core/app'
import { writeFakeIso } from '../fixtures/esxi-media'
import { tempDir } from './app'

export interface MediaFolders {
  '8.0': string
  '9.0': string
  root: string
  remove(): void
}

/** 8.0 as an ISO extracts (upper-case names), 9.0 lower-cased with crypto64.efi. */
export function fakeMediaLibrary(): MediaFolders {
  const tmp = tempDir('media-lib')
  const m80 = join(tmp.path, 'esxi-8.0')
  const m90 = join(tmp.path, 'esxi-9.0')
  writeFakeIso(m80, '8.0')
  writeFakeIso(m90, '9.0', { lowerCase: true, crypto64: true })
  return { '8.0': m80, '9.0': m90, root: tmp.path, remove: tmp.remove }
}

/** Saves boot settings over the current ones, the way the Site screen does. */
export function saveBoot(app: App, boot: BootSettingsInput): Promise<Settings> {
  const { boot: current, ...rest } = app.getSettings()
  return app.saveSettings({
    ...rest,
    boot: { ...current, ...boot, dhcp: { ...current.dhcp, ...boot.dhcp } },
  })
}

/** A raw GET: fetch() would normalise dots and encodings away, a server's client may not. */
export function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number
  body: string
  headers: Record<string, string | string[] | undefined>
}> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      )
    })
      .on('error', reject)
      .end()
  })
}

/** Every file in a .tar.gz stream, by name. */
export async function untar(stream: Readable): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  const ex = extract()
  ex.on('entry', (header, body, next) => {
    const chunks: Buffer[] = []
    body.on('data', (c: unknown) => void chunks.push(c as Buffer))
    body.on('end', () => {
      files.set(header.name, Buffer.concat(chunks))
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve)
    ex.on('error', reject)
    stream.on('error', reject)
    stream.pipe(createGunzip()).on('error', reject).pipe(ex)
  })
  return files
}

// The TFTP-side files as one .tar.gz, for sites whose TFTP server is another
// machine: extract it in the TFTP root. Built with tar-stream, streamed so a
// bundle that carries whole ISOs never sits in memory.
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { pack as tarPack, type Pack } from 'tar-stream'
import { isTextArtifact, type Artifact, type EsxiVersion } from '../boot/input'
import { resolveMediaPath } from './library'

export interface BundleSource {
  /** Rendered artifacts; only those delivered over TFTP go in. */
  artifacts: readonly Artifact[]
  /** Each version's media folder, for mboot.efi, crypto64.efi and whole-ISO copies. */
  mediaRoots: Partial<Record<EsxiVersion, string>>
  /**
   * Whole ISOs to copy under their TFTP folder (UEFI PXE and PXELINUX load
   * the modules over TFTP). Names are lower-cased, as boot.cfg asks for them
   * and TFTP servers match case-sensitively.
   */
  includeMedia?: readonly { version: EsxiVersion; tftpDir: string }[]
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(p)
    else if (entry.isFile()) yield p
  }
}

function mediaRoot(src: BundleSource, v: EsxiVersion): string {
  const root = src.mediaRoots[v]
  if (root === undefined)
    throw new Error(`the bundle needs the ESXi ${v} media folder, which is not in the library`)
  return root
}

function addFile(pack: Pack, name: string, path: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry({ name, size, mode: 0o644 }, (err) => (err ? reject(err) : resolve()))
    createReadStream(path).on('error', reject).pipe(entry)
  })
}

async function fill(pack: Pack, src: BundleSource): Promise<void> {
  const written = new Set<string>()
  for (const a of src.artifacts) {
    if (a.delivery !== 'tftp' || written.has(a.path)) continue
    written.add(a.path)
    if (isTextArtifact(a)) {
      pack.entry({ name: a.path, mode: 0o644 }, a.text)
    } else {
      const file = await resolveMediaPath(mediaRoot(src, a.media.version), a.media.file)
      await addFile(pack, a.path, file, (await stat(file)).size)
    }
  }
  for (const m of src.includeMedia ?? []) {
    const root = mediaRoot(src, m.version)
    for await (const file of walk(root)) {
      const name = `${m.tftpDir}/${relative(root, file).split('\\').join('/').toLowerCase()}`
      // A rendered file (the network-boot boot.cfg) replaces the ISO's own.
      if (written.has(name)) continue
      written.add(name)
      await addFile(pack, name, file, (await stat(file)).size)
    }
  }
  pack.finalize()
}

/** A .tar.gz stream of the TFTP files; errors (a missing media file) end the stream with that error. */
export function tftpBundle(src: BundleSource): Readable {
  const pack = tarPack()
  const gzip = createGzip()
  fill(pack, src).catch((err: unknown) => {
    gzip.destroy(err instanceof Error ? err : new Error(String(err)))
  })
  pipeline(pack, gzip).catch(() => {
    // The error reaches the reader through gzip; nothing else to do here.
  })
  return gzip
}

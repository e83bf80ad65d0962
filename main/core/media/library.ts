// The media library: an extracted ESXi ISO folder per version. Files on the
// ISO are upper-case (B.B00, EFI/BOOT/BOOTX64.EFI); boot.cfg names them in
// lower case, and mboot asks for them as boot.cfg names them. Extraction
// tools keep or fold case as they please, so every lookup here tries the
// exact name first and then a case-insensitive match.
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { bootCfgFiles, parseBootCfg } from '../boot/boot-cfg'
import type { EsxiVersion, MediaInfo } from '../boot/input'

export interface MediaReport {
  version: EsxiVersion
  /** The folder as given, resolved (symlinks followed). */
  root: string
  ok: boolean
  /** `build=` from boot.cfg, e.g. 8.0.2-0.0.22380479. */
  build?: string
  /** The ISO's boot.cfg text, for the boot kinds. */
  bootCfg?: string
  files: { mbootC32: boolean; bootx64Efi: boolean; crypto64Efi: boolean }
  /** Files boot.cfg lists that the folder lacks, as boot.cfg names them. */
  missing: string[]
  /** One line each, naming the fix. */
  problems: string[]
}

export class MediaPathError extends Error {
  override name = 'MediaPathError'
  constructor(
    /** The HTTP status a server should answer with. */
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message)
  }
}

/** Finds `rel` under `root`, each segment exact or else the one case-insensitive match. */
async function findPath(root: string, segments: string[]): Promise<string | undefined> {
  let dir = root
  for (const seg of segments) {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      return undefined
    }
    if (names.includes(seg)) {
      dir = join(dir, seg)
      continue
    }
    const folded = names.filter((n) => n.toLowerCase() === seg.toLowerCase())
    // Two names differing only in case: refuse to guess which one is meant.
    if (folded.length !== 1) return undefined
    dir = join(dir, folded[0] as string)
  }
  return dir
}

const segmentsOf = (p: string) => p.split('/').filter((s) => s !== '')

async function isFile(path: string | undefined): Promise<boolean> {
  if (path === undefined) return false
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/** Checks that `dir` holds the extracted ISO of `version`: boot.cfg, a loader, every module. */
export async function validateMedia(dir: string, version: EsxiVersion): Promise<MediaReport> {
  const problems: string[] = []
  const empty = { mbootC32: false, bootx64Efi: false, crypto64Efi: false }
  let root: string
  try {
    root = await realpath(dir)
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder')
  } catch {
    return {
      version,
      root: dir,
      ok: false,
      files: empty,
      missing: [],
      problems: [
        `${dir} is not a folder Midwife can read; choose the folder the ISO was extracted to.`,
      ],
    }
  }
  const has = async (rel: string) => isFile(await findPath(root, segmentsOf(rel)))
  const files = {
    mbootC32: await has('mboot.c32'),
    bootx64Efi: await has('efi/boot/bootx64.efi'),
    crypto64Efi: await has('efi/boot/crypto64.efi'),
  }
  if (!files.mbootC32 && !files.bootx64Efi) {
    problems.push(
      `${root} has neither mboot.c32 nor efi/boot/bootx64.efi, so nothing can boot from it; extract the whole ISO, folders included.`,
    )
  }
  const cfgPath = await findPath(root, ['boot.cfg'])
  if (!(await isFile(cfgPath))) {
    problems.push(`${root} has no boot.cfg; is it the top folder of an extracted ESXi ISO?`)
    return { version, root, ok: false, files, missing: ['boot.cfg'], problems }
  }
  const bootCfg = await readFile(cfgPath as string, 'utf8')
  let listed: string[]
  let build: string | undefined
  try {
    const cfg = parseBootCfg(bootCfg)
    listed = bootCfgFiles(cfg)
    build = cfg.entries.findLast((e) => e.key === 'build')?.value
  } catch (err) {
    problems.push(`${root}/boot.cfg cannot be read: ${(err as Error).message}`)
    return { version, root, ok: false, files, missing: [], problems }
  }
  if (listed.length === 0) problems.push(`${root}/boot.cfg lists no kernel or modules.`)
  if (build !== undefined && !build.startsWith(`${version}.`)) {
    problems.push(
      `${root} holds ESXi ${build.split('-')[0]} (build=${build}), not ${version}; add it as ${build.slice(0, 3)} or choose the ${version} ISO.`,
    )
  }
  const missing: string[] = []
  for (const f of listed) if (!(await has(f))) missing.push(f)
  for (const f of missing) {
    problems.push(
      `${root} lacks ${f}, which boot.cfg loads; extract the ISO again (the copy is incomplete).`,
    )
  }
  return {
    version,
    root,
    ok: problems.length === 0,
    ...(build !== undefined ? { build } : {}),
    bootCfg,
    files,
    missing,
    problems,
  }
}

/** The boot kinds' view of a validated folder. */
export function mediaInfo(report: MediaReport, where: { url: string; tftpDir: string }): MediaInfo {
  if (!report.ok || report.bootCfg === undefined) {
    throw new Error(`ESXi ${report.version} media is not usable: ${report.problems.join(' ')}`)
  }
  return {
    url: where.url,
    tftpDir: where.tftpDir,
    bootCfg: report.bootCfg,
    hasMbootC32: report.files.mbootC32,
    hasBootx64Efi: report.files.bootx64Efi,
    hasCrypto64Efi: report.files.crypto64Efi,
  }
}

/**
 * Maps a requested path (the part of the URL after the version, still
 * percent-encoded) to a file inside `root`, for serving over HTTP. Refuses
 * traversal, encoded slashes and NULs, and anything whose real path (symlinks
 * followed) leaves the folder.
 */
export async function resolveMediaPath(root: string, requested: string): Promise<string> {
  const raw = requested.split('?')[0] ?? ''
  const segments: string[] = []
  for (const enc of raw.split('/')) {
    if (enc === '') continue
    let seg: string
    try {
      seg = decodeURIComponent(enc)
    } catch {
      throw new MediaPathError(400, 'the path is not valid percent-encoding')
    }
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) {
      throw new MediaPathError(403, 'the path leaves the media folder')
    }
    segments.push(seg)
  }
  if (segments.length === 0) throw new MediaPathError(404, 'no file named')
  const realRoot = await realpath(root)
  const found = await findPath(realRoot, segments)
  if (found === undefined) throw new MediaPathError(404, 'no such file in the media folder')
  let real: string
  try {
    real = await realpath(found)
  } catch {
    throw new MediaPathError(404, 'no such file in the media folder')
  }
  if (!real.startsWith(realRoot + sep)) {
    throw new MediaPathError(403, 'the path leaves the media folder')
  }
  if (!(await isFile(real))) throw new MediaPathError(404, 'not a file')
  return real
}

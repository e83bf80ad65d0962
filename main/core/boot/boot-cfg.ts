// mboot's boot.cfg: `key=value` lines, read by esx-boot's mboot/config.c.
// Keys it knows: kernel kernelopt modules title prefix nobootif timeout
// noquirks norts crypto runtimewd tftpblksize acpitables runtimewdtimeout
// skip errtimeout. ISO files also carry bootstate, build and updated, which
// mboot ignores; unknown keys are kept as they are.
import { KERNEL_LINE_WARN } from './material'

export interface BootCfgEntry {
  key: string
  value: string
}

export interface BootCfg {
  entries: BootCfgEntry[]
}

const MODULE_SEPARATOR = '---'

export class BootCfgError extends Error {
  override name = 'BootCfgError'
}

export function parseBootCfg(text: string): BootCfg {
  const entries: BootCfgEntry[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const eq = line.indexOf('=')
    const key = eq < 0 ? '' : line.slice(0, eq).trim()
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) {
      throw new BootCfgError(`boot.cfg line ${i + 1} is not key=value: ${JSON.stringify(line)}`)
    }
    entries.push({ key, value: line.slice(eq + 1).trim() })
  })
  return { entries }
}

export function renderBootCfg(cfg: BootCfg): string {
  return cfg.entries.map((e) => `${e.key}=${e.value}\n`).join('')
}

/** The value mboot uses: the last one, as its parser overwrites earlier ones. */
export function bootCfgGet(cfg: BootCfg, key: string): string | undefined {
  return cfg.entries.findLast((e) => e.key === key)?.value
}

/** A copy with `key` set (in place of the first occurrence, or appended), or removed if undefined. */
export function bootCfgWith(cfg: BootCfg, key: string, value: string | undefined): BootCfg {
  const at = cfg.entries.findIndex((e) => e.key === key)
  const rest = cfg.entries.filter((e) => e.key !== key)
  if (value === undefined) return { entries: rest }
  const entries = [...rest]
  entries.splice(at < 0 ? entries.length : at, 0, { key, value })
  return { entries }
}

/** Splits `modules=a --- b opts --- c` into items, each a path and its options. */
export function moduleItems(list: string): { path: string; options: string }[] {
  return list
    .split(MODULE_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const [path = '', ...opts] = s.split(/\s+/)
      return { path, options: opts.join(' ') }
    })
}

/** Every file mboot loads for this boot.cfg, as written (kernel first). */
export function bootCfgFiles(cfg: BootCfg): string[] {
  const kernel = bootCfgGet(cfg, 'kernel')
  const modules = moduleItems(bootCfgGet(cfg, 'modules') ?? '').map((m) => m.path)
  const crypto = bootCfgGet(cfg, 'crypto')
  return [...(kernel ? [kernel] : []), ...modules, ...(crypto ? [crypto] : [])]
}

const stripSlash = (p: string) => p.replace(/^\/+/, '')

/** Kernel options as tokens, without any that `drop` names (by key, before `=`). */
function optionTokens(opts: string, drop: Set<string>): string[] {
  return opts
    .split(/\s+/)
    .filter((t) => t !== '')
    .filter((t) => !drop.has(t.split('=')[0] as string))
}

export interface NetbootOptions {
  /** Installer folder: a TFTP path (esxi/8.0) or a URL (http://10.0.0.5:8080/media/8.0). */
  prefix: string
  /** Appended to kernelopt; any option it sets replaces the ISO's (ks=, ip=, ...). */
  kernelOptions?: string
  title?: string
}

/**
 * The ISO's boot.cfg rewritten for network boot (esxi.md): paths relative to
 * prefix= (no leading /), no `cdromBoot` (the installer would look for its
 * files on a CD), and our kernel options appended.
 */
export function netbootBootCfg(iso: BootCfg, opts: NetbootOptions): BootCfg {
  const kernel = bootCfgGet(iso, 'kernel')
  if (kernel === undefined) throw new BootCfgError('the ISO boot.cfg has no kernel= line')
  const modules = moduleItems(bootCfgGet(iso, 'modules') ?? '')
  if (modules.length === 0) throw new BootCfgError('the ISO boot.cfg has no modules= line')
  const extra = optionTokens(opts.kernelOptions ?? '', new Set())
  const replaced = new Set(['cdromBoot', ...extra.map((t) => t.split('=')[0] as string)])
  const kopts = [...optionTokens(bootCfgGet(iso, 'kernelopt') ?? '', replaced), ...extra]

  let cfg = bootCfgWith(iso, 'kernel', stripSlash(kernel))
  cfg = bootCfgWith(
    cfg,
    'modules',
    modules
      .map((m) => (m.options ? `${stripSlash(m.path)} ${m.options}` : stripSlash(m.path)))
      .join(` ${MODULE_SEPARATOR} `),
  )
  const crypto = bootCfgGet(cfg, 'crypto')
  if (crypto !== undefined) cfg = bootCfgWith(cfg, 'crypto', stripSlash(crypto))
  cfg = bootCfgWith(cfg, 'kernelopt', kopts.join(' '))
  // prefix= right before kernel=, where people look for it.
  cfg = bootCfgWith(cfg, 'prefix', undefined)
  const at = cfg.entries.findIndex((e) => e.key === 'kernel')
  cfg.entries.splice(at, 0, { key: 'prefix', value: opts.prefix.replace(/\/+$/, '') })
  if (opts.title !== undefined) cfg = bootCfgWith(cfg, 'title', opts.title)
  return cfg
}

/**
 * The boot.cfg of a disarmed host: mboot stops before loading anything and
 * exits with an error, so UEFI moves on to the next boot entry (the disk).
 */
export function skipBootCfg(title: string): BootCfg {
  return {
    entries: [
      { key: 'title', value: title },
      { key: 'skip', value: '1' },
    ],
  }
}

/** `BOOTIF=01-aa-bb-cc-dd-ee-ff`, which mboot appends unless nobootif=1. */
const BOOTIF_LENGTH = ' BOOTIF=01-aa-bb-cc-dd-ee-ff'.length

/**
 * Roughly the command line the kernel receives: mboot passes the kernel's
 * full path (prefix included) as the first word, then kernelopt, then any
 * options given after `-c`, then BOOTIF=.
 */
export function kernelCommandLine(cfg: BootCfg, extraOptions = ''): string {
  const prefix = bootCfgGet(cfg, 'prefix') ?? ''
  const kernel = bootCfgGet(cfg, 'kernel') ?? ''
  const path = prefix === '' || /^[a-z]+:\/\//.test(kernel) ? kernel : `${prefix}/${kernel}`
  return [path, bootCfgGet(cfg, 'kernelopt') ?? '', extraOptions].filter((s) => s !== '').join(' ')
}

/** A warning when this boot.cfg's kernel command line is near ESXi's limit, else undefined. */
export function kernelLineWarning(
  what: string,
  cfg: BootCfg,
  extraOptions = '',
): string | undefined {
  const length = kernelCommandLine(cfg, extraOptions).length + BOOTIF_LENGTH
  return lengthWarning(what, length)
}

export function lengthWarning(what: string, length: number): string | undefined {
  if (length <= KERNEL_LINE_WARN) return undefined
  return `${what}: the kernel command line is ${length} characters, over ESXi's limit of about ${KERNEL_LINE_WARN}; shorten the media URL or the kernel options.`
}

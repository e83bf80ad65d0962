// Readers for the PXELINUX and iPXE files the kinds write, strict enough to
// catch a directive or command the loaders would not know. The linter and
// the tests read artifacts through these rather than with ad-hoc regexes.

export class BootSyntaxError extends Error {
  override name = 'BootSyntaxError'
}

// ---- PXELINUX (syslinux 3.86) ------------------------------------------------

const PXELINUX_GLOBAL = new Set(['DEFAULT', 'PROMPT', 'TIMEOUT', 'SAY', 'ONTIMEOUT', 'DISPLAY'])
const PXELINUX_LABEL = new Set(['KERNEL', 'APPEND', 'IPAPPEND', 'LOCALBOOT'])

export interface PxelinuxLabel {
  label: string
  directives: { name: string; value: string }[]
}

export interface PxelinuxConfig {
  globals: { name: string; value: string }[]
  labels: PxelinuxLabel[]
}

export function parsePxelinux(text: string): PxelinuxConfig {
  const globals: PxelinuxConfig['globals'] = []
  const labels: PxelinuxLabel[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)
    const name = (m?.[1] ?? '').toUpperCase()
    const value = (m?.[2] ?? '').trim()
    if (name === 'LABEL') {
      if (value === '') throw new BootSyntaxError(`pxelinux line ${i + 1}: LABEL without a name`)
      labels.push({ label: value, directives: [] })
    } else if (PXELINUX_LABEL.has(name)) {
      const current = labels.at(-1)
      if (current === undefined) {
        throw new BootSyntaxError(`pxelinux line ${i + 1}: ${name} before any LABEL`)
      }
      current.directives.push({ name, value })
    } else if (PXELINUX_GLOBAL.has(name)) {
      globals.push({ name, value })
    } else {
      throw new BootSyntaxError(`pxelinux line ${i + 1}: unknown directive ${name}`)
    }
  })
  const def = globals.find((g) => g.name === 'DEFAULT')?.value
  if (def !== undefined && !labels.some((l) => l.label === def)) {
    throw new BootSyntaxError(`pxelinux: DEFAULT ${def} names no LABEL`)
  }
  return { globals, labels }
}

export function pxelinuxDirective(l: PxelinuxLabel, name: string): string | undefined {
  return l.directives.find((d) => d.name === name)?.value
}

// ---- iPXE ----------------------------------------------------------------------

const IPXE_COMMANDS = new Set([
  'kernel',
  'imgargs',
  'boot',
  'chain',
  'exit',
  'goto',
  'iseq',
  'isset',
  'menu',
  'item',
  'choose',
  'echo',
  'sleep',
  'dhcp',
])

export interface IpxeCommand {
  name: string
  args: string[]
  line: number
}

export interface IpxeScript {
  commands: IpxeCommand[]
  labels: string[]
}

/** Reads an iPXE script; `a && b || c` gives three commands. Every goto must hit a label. */
export function parseIpxe(text: string): IpxeScript {
  const lines = text.split('\n')
  if (lines[0]?.trim() !== '#!ipxe') throw new BootSyntaxError('iPXE script must start with #!ipxe')
  const commands: IpxeCommand[] = []
  const labels: string[] = []
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    if (line.startsWith(':')) {
      labels.push(line.slice(1))
      return
    }
    for (const part of line.split(/\s*(?:&&|\|\|)\s*/)) {
      const [name = '', ...args] = part.split(/\s+/)
      if (!IPXE_COMMANDS.has(name)) {
        throw new BootSyntaxError(`iPXE line ${i + 1}: unknown command ${name}`)
      }
      commands.push({ name, args, line: i + 1 })
    }
  })
  for (const c of commands) {
    const target = c.args[0]
    if (
      c.name === 'goto' &&
      target !== undefined &&
      !target.startsWith('${') &&
      !labels.includes(target)
    ) {
      throw new BootSyntaxError(`iPXE line ${c.line}: goto ${target} names no label`)
    }
  }
  return { commands, labels }
}

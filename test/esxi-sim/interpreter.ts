import { COMMANDS, EsxcliError, NAMESPACES, childrenOf, parseOpts, usage } from './esxcli'
import { FORMATTERS, render } from './format'
import type { Formatter } from './format'
import { loadState, saveState, withStateLock } from './state'
import type { SimState } from './state'

export interface CommandResult {
  stdout: string
  stderr: string
  code: number
}

const ok = (stdout = ''): CommandResult => ({ stdout, stderr: '', code: 0 })

// esxi.md leaves open whether esxcli errors go to stdout or stderr; the state decides.
function failure(s: SimState, text: string, code = 1): CommandResult {
  const body = text.endsWith('\n') ? text : `${text}\n`
  return s.quirks.errorStream === 'stdout'
    ? { stdout: body, stderr: '', code }
    : { stdout: '', stderr: body, code }
}

function esxcli(program: string, args: string[], s: SimState): CommandResult {
  let formatter: Formatter = 'plain'
  let i = 0
  for (; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (!arg.startsWith('-')) break
    const m = /^--formatter(?:=(.*))?$/s.exec(arg)
    if (!m) return failure(s, `Error: Invalid option ${arg}`) // invented
    const value = m[1] ?? args[++i]
    if (!FORMATTERS.includes(value as Formatter)) {
      return failure(s, `Error: Invalid formatter: ${value ?? ''}`) // invented; xml is not simulated
    }
    formatter = value as Formatter
  }
  const words: string[] = []
  for (; i < args.length && !(args[i] ?? '').startsWith('-'); i++) words.push(args[i] ?? '')
  const path = words.join(' ')
  const cmd = COMMANDS.find((c) => c.path === path)
  if (!cmd) {
    if (path === '' || NAMESPACES.has(path)) {
      // invented: a namespace alone prints what it contains.
      const lines = childrenOf(path).map((c) => `  ${c}\n`)
      return ok(
        `Usage: ${program} ${path === '' ? '' : `${path} `}{cmd} [cmd options]\n\nAvailable Namespaces and Commands:\n${lines.join('')}`,
      )
    }
    return failure(s, `Error: Unknown command or namespace ${path}`)
  }
  try {
    const out = cmd.run(parseOpts(cmd, args.slice(i)), s)
    return ok(render(out, formatter))
  } catch (err) {
    if (!(err instanceof EsxcliError)) throw err
    return failure(s, `Error: ${err.message}\n${err.withUsage ? `\n${usage(program, cmd)}` : ''}`)
  }
}

// Not from esxi.md: the exact vim-cmd license output is a plausible rendering of what the host
// agent prints; only `serial:` carries meaning.
function licenseShow(key: string): string {
  const evaluation = /^0{5}(-0{5}){4}$/.test(key)
  return (
    '[200] Sending request for installed licenses...[200] Complete, result is:\n' +
    `  serial: ${key}\n` +
    `  vmodl key: ${evaluation ? 'eval' : 'esx.enterprisePlus.cpuPackage'}\n` +
    `  name: ${evaluation ? 'Evaluation Mode' : 'VMware vSphere 8 Enterprise Plus'}\n` +
    '  total: 0\n' +
    '  used:  1\n' +
    '  unit: cpuPackage\n'
  )
}

function vimCmd(args: string[], s: SimState): CommandResult {
  const [cmd, ...rest] = args
  const services: Record<string, () => void> = {
    'hostsvc/enable_ssh': () => (s.services.ssh.enabled = true),
    'hostsvc/disable_ssh': () => (s.services.ssh.enabled = false),
    'hostsvc/start_ssh': () => (s.services.ssh.running = true),
    'hostsvc/stop_ssh': () => (s.services.ssh.running = false),
    'hostsvc/enable_esx_shell': () => (s.services.esxShell.enabled = true),
    'hostsvc/disable_esx_shell': () => (s.services.esxShell.enabled = false),
    'hostsvc/start_esx_shell': () => (s.services.esxShell.running = true),
    'hostsvc/stop_esx_shell': () => (s.services.esxShell.running = false),
  }
  const service = cmd === undefined ? undefined : services[cmd]
  if (service) {
    service()
    return ok()
  }
  if (cmd === 'vimsvc/license') {
    if (rest[0] === '--show') return ok(licenseShow(s.licenseKey))
    if (rest[0] === '--set' && rest[1] !== undefined) {
      if (!/^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/i.test(rest[1])) {
        return failure(s, `License key is invalid: ${rest[1]}`) // invented
      }
      s.licenseKey = rest[1].toUpperCase()
      return ok(licenseShow(s.licenseKey))
    }
    return failure(s, 'Usage: license --show | --set <key>') // invented
  }
  return failure(s, `Command not found: ${cmd ?? ''}`) // invented
}

function vsish(args: string[], s: SimState): CommandResult {
  // esxi.md leaves the surrounding output unconfirmed: the node prints the stored string as is,
  // so tests that want a wrapper can store it in bootCmdLine.
  if (
    args[0] === '-e' &&
    args[1] === 'get' &&
    args[2] === '/system/bootCmdLine' &&
    args.length === 3
  ) {
    return ok(`${s.bootCmdLine}\n`)
  }
  return failure(s, `vsish: unsupported request: ${args.join(' ')}`) // invented
}

// Extras esxi.md mentions as read-backs, reachable over SSH; not exposed as shims.
function extras(program: string, args: string[], s: SimState): CommandResult | undefined {
  if (program === 'vmware' && args.length === 1 && args[0] === '-v') {
    const build = s.version.build.replace(/^Releasebuild-/, '')
    return ok(`${s.version.product} ${s.version.version} build-${build}\n`)
  }
  if (program === '/etc/init.d/SSH' && args.length === 1) {
    // invented: message wording and exit status 3 for "not running" (LSB convention).
    if (args[0] === 'status') {
      return s.services.ssh.running
        ? ok('SSH is running\n')
        : { stdout: 'SSH is not running\n', stderr: '', code: 3 }
    }
    if (args[0] === 'start' || args[0] === 'stop') {
      s.services.ssh.running = args[0] === 'start'
      return ok()
    }
  }
  return undefined
}

const PROGRAMS = ['esxcli', 'localcli', 'vim-cmd', 'vsish', 'vmware']

// Products may call the tools by absolute path, as ESXi keeps them in /bin (and /sbin).
function programName(arg0: string): string {
  const m = /^\/(?:usr\/)?s?bin\/([^/]+)$/.exec(arg0)
  return m?.[1] !== undefined && PROGRAMS.includes(m[1]) ? m[1] : arg0
}

function execute(argv: string[], s: SimState): { result: CommandResult; delayMs: number } {
  if (argv.length === 0) return { result: ok(), delayMs: 0 }
  const [arg0 = '', ...args] = argv
  const program = programName(arg0)
  const line = [program, ...args].join(' ')
  s.log.push(line)
  const fault = s.faults.find((f) => line.startsWith(f.match))
  if (fault) {
    return {
      result: { stdout: fault.stdout ?? '', stderr: fault.stderr ?? '', code: fault.code ?? 0 },
      delayMs: fault.delayMs ?? 0,
    }
  }
  let result: CommandResult
  if (program === 'esxcli' || program === 'localcli') result = esxcli(program, args, s)
  else if (program === 'vim-cmd') result = vimCmd(args, s)
  else if (program === 'vsish') result = vsish(args, s)
  else {
    result = extras(program, args, s) ?? {
      stdout: '',
      stderr: `sh: ${arg0}: not found\n`,
      code: 127,
    }
  }
  return { result, delayMs: 0 }
}

/** Runs one command against the state (mutating it). Fault delays are not applied here. */
export function runCommand(argv: string[], state: SimState): CommandResult {
  return execute(argv, state).result
}

export class ShellSyntaxError extends Error {}

/**
 * Word splitting for one simple command, as POSIX sh does it, without expansions. Anything that
 * would make the line more than one simple command (or need expansion) is refused, so a product
 * that relies on a pipe or substitution fails loudly here instead of passing by accident.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  let i = 0
  const refuse = (what: string): never => {
    throw new ShellSyntaxError(
      `unsupported shell syntax ${what} at offset ${i} in: ${line} ` +
        '(the ESXi simulator runs one simple command: no pipes, lists, redirections, ' +
        'substitutions or variable expansion)',
    )
  }
  const expansionStart = (next: string | undefined) =>
    next !== undefined && /[A-Za-z0-9_({?#@*!$-]/.test(next)
  while (i < line.length) {
    const c = line[i] ?? ''
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
      i++
    } else if (c === '#' && !inWord) {
      break
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) throw new ShellSyntaxError(`unterminated single quote in: ${line}`)
      cur += line.slice(i + 1, end)
      inWord = true
      i = end + 1
    } else if (c === '"') {
      inWord = true
      i++
      for (;;) {
        if (i >= line.length) throw new ShellSyntaxError(`unterminated double quote in: ${line}`)
        const d = line[i] ?? ''
        if (d === '"') {
          i++
          break
        }
        if (d === '\\') {
          const next = line[i + 1]
          if (next !== undefined && '"\\$`'.includes(next)) {
            cur += next
            i += 2
          } else if (next === '\n') {
            i += 2
          } else {
            cur += d
            i++
          }
        } else if (d === '`') {
          refuse('`')
        } else if (d === '$' && expansionStart(line[i + 1])) {
          refuse(`$${line[i + 1] ?? ''}`)
        } else {
          cur += d
          i++
        }
      }
    } else if (c === '\\') {
      const next = line[i + 1]
      if (next === undefined) throw new ShellSyntaxError(`trailing backslash in: ${line}`)
      if (next !== '\n') {
        cur += next
        inWord = true
      }
      i += 2
    } else if ('|&;<>()`\n'.includes(c)) {
      refuse(c === '\n' ? 'newline' : c)
    } else if (c === '$' && expansionStart(line[i + 1])) {
      refuse(`$${line[i + 1] ?? ''}`)
    } else {
      cur += c
      inWord = true
      i++
    }
  }
  if (inWord) words.push(cur)
  return words
}

/** The words of a command line, or the result a shell gives for a line it refuses (exit 2). */
function splitOrRefuse(line: string): string[] | CommandResult {
  try {
    return splitCommandLine(line)
  } catch (err) {
    if (!(err instanceof ShellSyntaxError)) throw err
    return { stdout: '', stderr: `sh: ${err.message}\n`, code: 2 }
  }
}

/** Splits and runs one command line; a refused line exits 2 like a shell syntax error. */
export function runCommandLine(line: string, state: SimState): CommandResult {
  const argv = splitOrRefuse(line)
  return Array.isArray(argv) ? runCommand(argv, state) : argv
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Load, run, save under the host's lock; a fault's delay is served after the lock is released so
 * a hanging command does not stall other sessions or shims.
 */
export async function runInStateFile(statePath: string, argv: string[]): Promise<CommandResult> {
  const { result, delayMs } = await withStateLock(statePath, () => {
    const s = loadState(statePath)
    const outcome = execute(argv, s)
    saveState(statePath, s)
    return outcome
  })
  if (delayMs > 0) await sleep(delayMs)
  return result
}

/** runCommandLine against a state file, with the same locking and delays as runInStateFile. */
export async function runLineInStateFile(statePath: string, line: string): Promise<CommandResult> {
  const argv = splitOrRefuse(line)
  return Array.isArray(argv) ? runInStateFile(statePath, argv) : argv
}

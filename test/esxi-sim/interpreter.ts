import { COMMANDS, EsxcliError, NAMESPACES, childrenOf, parseOpts, usage } from './esxcli'
import { FORMATTERS, render } from './format'
import type { Formatter } from './format'
import { managementAddress, noteManagementChange } from './net'
import { hasNtpCommands } from './profile'
import { failure, notFound, ok, type CommandResult } from './result'
import { loadState, saveState, withStateLock } from './state'
import type { ExecRecord, SimState } from './state'
import { TOOLS } from './tools'

export type { CommandResult } from './result'

/** Splits esxcli's arguments into its own options, the command path and the command's options. */
function esxcliWords(
  args: string[],
): { formatter: Formatter; path: string; rest: string[] } | { error: string } {
  let formatter: Formatter = 'plain'
  let i = 0
  for (; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (!arg.startsWith('-')) break
    const m = /^--formatter(?:=(.*))?$/s.exec(arg)
    if (!m) return { error: `Error: Invalid option ${arg}` } // invented
    const value = m[1] ?? args[++i]
    if (!FORMATTERS.includes(value as Formatter)) {
      return { error: `Error: Invalid formatter: ${value ?? ''}` } // invented; xml is not simulated
    }
    formatter = value as Formatter
  }
  const words: string[] = []
  for (; i < args.length && !(args[i] ?? '').startsWith('-'); i++) words.push(args[i] ?? '')
  return { formatter, path: words.join(' '), rest: args.slice(i) }
}

// The esxcli commands a host written from esxi.md alone lacks (the `unlisted` quirk).
const UNLISTED_COMMANDS = new Set([
  'network firewall ruleset list',
  'network ip interface list',
  'network vswitch standard policy failover get',
  'network vswitch standard policy failover set',
])

function esxcli(program: string, args: string[], s: SimState): CommandResult {
  const parsed = esxcliWords(args)
  if ('error' in parsed) return failure(s, parsed.error)
  const { formatter, path, rest } = parsed
  // esxi.md: the ntp namespace arrived in 7.0 Update 1.
  const cmd = COMMANDS.find(
    (c) =>
      c.path === path &&
      (hasNtpCommands(s) || !c.path.startsWith('system ntp ')) &&
      (s.quirks.unlisted === 'present' || !UNLISTED_COMMANDS.has(c.path)),
  )
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
    const out = render(cmd.run(parseOpts(cmd, rest), s), formatter)
    return ok(s.quirks.lineEnds === 'padded-crlf' ? out.replaceAll('\n', ' \r\n') : out)
  } catch (err) {
    if (!(err instanceof EsxcliError)) throw err
    return failure(s, `Error: ${err.message}\n${err.withUsage ? `\n${usage(program, cmd)}` : ''}`)
  }
}

/** The programs the simulator runs itself; anything else is left to BusyBox (or not found). */
export const SIM_PROGRAMS: readonly string[] = ['esxcli', 'localcli', ...Object.keys(TOOLS)]

// Products may call the tools by absolute path, as ESXi keeps them in /bin (and /sbin).
function programName(arg0: string): string {
  const m = /^\/(?:usr\/)?s?bin\/([^/]+)$/.exec(arg0)
  return m?.[1] !== undefined && SIM_PROGRAMS.includes(m[1]) ? m[1] : arg0
}

/** Whether the host has this program (vmkping may be switched off by a quirk). */
function installed(program: string, s: SimState): boolean {
  if (program === 'vmkping') return s.quirks.vmkping === 'present'
  if (program === '/etc/init.d/ESXShell') return s.quirks.unlisted === 'present'
  return SIM_PROGRAMS.includes(program)
}

/** Whether argv names a program the simulator runs itself (on a host that has it). */
export function isSimProgram(argv: string[]): boolean {
  return argv[0] !== undefined && SIM_PROGRAMS.includes(programName(argv[0]))
}

/**
 * Whether a command (as `log` records it) changes the host: esxcli commands other than get/list,
 * and the tools' own writes. A run that changed nothing has no such line in its slice of the log.
 */
export function isWriteCommand(line: string): boolean {
  const [program = '', ...args] = line.split(' ').filter((w) => w !== '')
  if (program === 'esxcli' || program === 'localcli') {
    const parsed = esxcliWords(args)
    if ('error' in parsed || !COMMANDS.some((c) => c.path === parsed.path)) return false
    return !/ (get|list)$/.test(parsed.path)
  }
  return TOOLS[program]?.writes(args) ?? false
}

/** The write commands among log lines (see isWriteCommand). */
export const writeCommands = (log: readonly string[]): string[] => log.filter(isWriteCommand)

function execute(argv: string[], s: SimState): { result: CommandResult; delayMs: number } {
  if (argv.length === 0) return { result: ok(), delayMs: 0 }
  const [arg0 = '', ...args] = argv
  const program = programName(arg0)
  if (!installed(program, s)) return { result: notFound(arg0), delayMs: 0 }
  const line = [program, ...args].join(' ')
  s.log.push(line)
  const fault = s.faults.find((f) => line.startsWith(f.match))
  if (fault && !fault.slowOnly) {
    const times = fault.repeat ?? 1
    return {
      result: {
        stdout: (fault.stdout ?? '').repeat(times),
        stderr: (fault.stderr ?? '').repeat(times),
        code: fault.code ?? 0,
      },
      delayMs: fault.delayMs ?? 0,
    }
  }
  const before = managementAddress(s)
  const tool = TOOLS[program]
  const result = tool ? tool.run(args, s) : esxcli(program, args, s)
  noteManagementChange(s, before)
  return { result, delayMs: fault?.delayMs ?? 0 }
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
export function splitOrRefuse(line: string): string[] | CommandResult {
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

/** Adds a line an SSH session asked to run to the host's execLog. */
export function recordExec(statePath: string, record: ExecRecord): Promise<void> {
  return withStateLock(statePath, () => {
    const s = loadState(statePath)
    s.execLog.push(record)
    saveState(statePath, s)
  })
}

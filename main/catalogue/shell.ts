// Command lines for BusyBox ash on the host: Midwife quotes every word, so a
// value can never become shell syntax.
import type { Command } from './types'

/** Single-quotes a value for BusyBox ash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** Builds a command line from words, quoting any word the shell would split or expand. */
export function commandLine(words: readonly string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : shellQuote(w))).join(' ')
}

/**
 * `text` with every occurrence of `secret` replaced by ********, in any letter case: a host may
 * print back a value it took in another case (a licence key is case-blind), and what it prints
 * is not Midwife's to choose.
 */
export function maskSecret(text: string, secret: string): string {
  if (!secret) return text
  return text.replace(secretPattern(secret), () => '********')
}

/** Finds every occurrence of `secret` (not empty) in any letter case, as maskSecret masks it. */
export function secretPattern(secret: string): RegExp {
  return new RegExp(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi')
}

/**
 * A command as the operator may see it: secrets replaced by ********, quoted or not, in any
 * letter case (as maskSecret masks what the host prints, so the two never disagree).
 */
export function shownCommand(c: Command): string {
  let line = commandLine(c.words)
  for (const s of c.secrets ?? []) line = maskSecret(maskSecret(line, shellQuote(s)), s)
  return line
}

export const esxcli = (...words: string[]): string[] => ['esxcli', ...words]

/** Two lists with the same items in the same order. */
export const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i])

export const showList = (v: readonly string[]): string => (v.length ? v.join(', ') : '(none)')

/**
 * Lines that say why a command failed, as esxi.md gives them: `Error: ...` (argument errors,
 * unknown commands), and the messages of its table of adds and removes that fail.
 */
const TELLING = new RegExp(
  '^(?:' +
    [
      'Error:',
      'A portset with this name already exists',
      'Uplink already exists:',
      'No such uplink:',
      'A portgroup with the name .* already exists',
      'Sysinfo error:',
      'A vmkernel nic for the connection point already exists',
      'Vmknic is already tagged with',
    ].join('|') +
    ')',
  'i',
)

/**
 * A stream's lines without blanks and without the login warning (`WARNING:` and the indented
 * lines under it; "commands run on the ESXi shell are logged"), which a host may print on
 * either stream and which says nothing about the command.
 */
function saidLines(text: string): string[] {
  const lines: string[] = []
  let warning = false
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (line === '') {
      warning = false
    } else if (/^\s*WARNING:/.test(line)) {
      warning = true
    } else if (!(warning && /^\s/.test(line))) {
      warning = false
      if (!/commands run on the ESXi shell are logged/i.test(line)) lines.push(line.trim())
    }
  }
  return lines
}

/**
 * What a failed command said, in one line: a line from each stream (stderr first, joined by
 * " / "), '' when it printed nothing. Which stream an error goes to is unconfirmed, and a
 * warning may come first, so each stream gives its line that names the error (esxi.md's
 * `Error:` and messages), else its first line that is not the login warning; a stream that
 * names the error comes first. Output that is all warning is quoted as it is. The step errors
 * and the plan's refusals quote it; the step's output keeps both streams whole.
 */
export function hostSaid(r: { stdout: string; stderr: string }): string {
  const picks = [r.stderr, r.stdout].map((text) => {
    const lines = saidLines(text)
    const telling = lines.find((l) => TELLING.test(l))
    return { line: telling ?? lines[0], telling: telling !== undefined }
  })
  const said = [...picks.filter((p) => p.telling), ...picks.filter((p) => !p.telling)]
    .map((p) => p.line)
    .filter((l): l is string => l !== undefined)
  if (said.length > 0) return [...new Set(said)].join(' / ')
  // Nothing but the warning: better quoted than "no output".
  return (
    [r.stderr, r.stdout]
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .join(' / ')
      .split('\n')[0] ?? ''
  )
}

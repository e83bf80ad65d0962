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

/** A command as the operator may see it: secrets replaced by ********. */
export function shownCommand(c: Command): string {
  let line = commandLine(c.words)
  for (const s of c.secrets ?? []) {
    if (!s) continue
    line = line.split(shellQuote(s)).join('********').split(s).join('********')
  }
  return line
}

export const esxcli = (...words: string[]): string[] => ['esxcli', ...words]

/** Two lists with the same items in the same order. */
export const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i])

export const showList = (v: readonly string[]): string => (v.length ? v.join(', ') : '(none)')

/**
 * What a failed command said, in one line: both streams (stderr first, joined by " / "), cut at
 * the first line break; '' when it printed nothing. The step errors and the plan's refusals
 * quote it.
 */
export function hostSaid(r: { stdout: string; stderr: string }): string {
  return (
    [r.stderr, r.stdout]
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .join(' / ')
      .split('\n')[0] ?? ''
  )
}

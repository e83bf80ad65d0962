import type { SimState } from './state'

export interface CommandResult {
  stdout: string
  stderr: string
  code: number
}

export const ok = (stdout = ''): CommandResult => ({ stdout, stderr: '', code: 0 })

// esxi.md leaves open whether esxcli errors go to stdout or stderr; the state decides.
export function failure(s: SimState, text: string, code = 1): CommandResult {
  const body = text.endsWith('\n') ? text : `${text}\n`
  return s.quirks.errorStream === 'stdout'
    ? { stdout: body, stderr: '', code }
    : { stdout: '', stderr: body, code }
}

/** What BusyBox ash prints for a command it cannot find. */
export const notFound = (name: string): CommandResult => ({
  stdout: '',
  stderr: `sh: ${name}: not found\n`,
  code: 127,
})

// The warning that commands are logged, where the loginWarning quirk puts it in a command's own
// output; the wording is not from esxi.md.
export const LOGIN_WARNING = [
  'WARNING:',
  '   All commands run on the ESXi shell are logged and may be included in',
  '   support bundles. Do not provide passwords directly on the command line.',
  '   Most tools can prompt for secrets or accept them from standard input.',
  '',
  '',
].join('\n')

/** A command's result as a session sees it: opened by the login warning where the quirk says. */
export function withLoginWarning(s: SimState, r: CommandResult): CommandResult {
  const where = s.quirks.loginWarning
  if (where === 'stdout') return { ...r, stdout: LOGIN_WARNING + r.stdout }
  if (where === 'stderr') return { ...r, stderr: LOGIN_WARNING + r.stderr }
  return r
}

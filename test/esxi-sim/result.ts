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

// What a failed step pins above its output: the lines that say why it failed, from its last
// command on, never a read Midwife coped without earlier in the step.
import { describe, expect, it } from 'vitest'
import { errorLines } from '../../renderer/src/servers/durations'

describe('errorLines', () => {
  it('pins the failing last command, not an earlier read the host refused', () => {
    const output = [
      '$ esxcli system ntp get',
      '   Enabled: true',
      '$ esxcli network firewall ruleset list',
      'Error: Unknown command or namespace network firewall ruleset list',
      '(exit 1)',
      '- NTP servers 0.pool.ntp.org',
      '$ esxcli system ntp set -s 0.pool.ntp.org',
      'Error: Invalid server specified: 0.pool.ntp.org. Unable to resolve the host name.',
      '(exit 1)',
      '',
    ].join('\n')
    expect(errorLines(output)).toEqual([
      'Error: Invalid server specified: 0.pool.ntp.org. Unable to resolve the host name.',
    ])
  })

  it('reads the whole output when no command was run', () => {
    expect(errorLines('connection refused by 10.0.0.5\n')).toEqual([
      'connection refused by 10.0.0.5',
    ])
  })
})

import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { commandLine, maskSecret, shownCommand } from '../../main/catalogue/shell'
import { dnsServers } from '../../main/catalogue/settings/dns-servers'
import { hostname } from '../../main/catalogue/settings/hostname'
import { ntp } from '../../main/catalogue/settings/ntp'
import type { Change, PlanContext } from '../../main/catalogue/types'
import {
  applySetting,
  CachedReader,
  CommandFailed,
  runCommand as run,
} from '../../main/core/configure/apply'
import type { EsxShell, ShellResult } from '../../main/core/configure/ssh'

const ctx: PlanContext = {
  hostname: 'esx01',
  domain: 'lab.local',
  address: '10.0.0.11',
  version: '8.0.2',
}
/** The commands of a plan, as word lists. */
const words = (changes: Change[]) => changes.flatMap((c) => c.commands.map((x) => x.words))

/** An EsxShell that answers from a script and records every command line it was given. */
function fakeShell(answer: (command: string) => Partial<ShellResult>) {
  const commands: string[] = []
  const shell: EsxShell = {
    exec(command) {
      commands.push(command)
      return Promise.resolve({ stdout: '', stderr: '', code: 0, ...answer(command) })
    },
  }
  return { shell, commands }
}

const DNS = ['esxcli', 'network', 'ip', 'dns', 'server']

describe('shownCommand', () => {
  it('masks a secret as maskSecret does: bare or quoted, and in any letter case', () => {
    const key = 'AB12C-3DE45-F6G7H-8JK9L-0MN1P'
    const words = ['sh', '-c', `vim-cmd vimsvc/license --set ${key.toLowerCase()}`]
    const shown = shownCommand({ words, secrets: [key] })
    expect(shown).toBe("sh -c 'vim-cmd vimsvc/license --set ********'")
    // The command and what the host prints back are masked alike.
    expect(shown).toBe(maskSecret(commandLine(words), key))
    expect(
      shownCommand({ words: ['esxcli', 'x', '-p', "It's-Secret-9"], secrets: ["it's-secret-9"] }),
    ).toBe('esxcli x -p ********')
  })
})

describe('commandLine', () => {
  it('leaves plain words alone', () => {
    expect(
      commandLine([
        'esxcli',
        'system',
        'hostname',
        'set',
        '--host=esx01',
        '--domain=lab.local',
        '-s',
        '10.0.0.2',
        'user@host:/path,x+y%',
      ]),
    ).toBe(
      'esxcli system hostname set --host=esx01 --domain=lab.local -s 10.0.0.2 user@host:/path,x+y%',
    )
  })

  it('quotes words with spaces, quotes, $ and other shell syntax', () => {
    expect(
      commandLine([
        'esxcli',
        'network',
        'vswitch',
        'standard',
        'portgroup',
        'set',
        '-p',
        'Management Network',
      ]),
    ).toBe("esxcli network vswitch standard portgroup set -p 'Management Network'")
    expect(commandLine(['echo', "it's"])).toBe("echo 'it'\\''s'")
    expect(commandLine(['echo', '$HOME'])).toBe("echo '$HOME'")
    expect(commandLine(['echo', 'a"b'])).toBe("echo 'a\"b'")
    expect(commandLine(['echo', 'a;b', 'x|y', '`id`', '*'])).toBe("echo 'a;b' 'x|y' '`id`' '*'")
    expect(commandLine(['echo', ''])).toBe("echo ''")
  })

  it('gives a line the shell splits back into the same words', () => {
    const words = ['printf', '%s\\n', 'Management Network', "it's", '$HOME', 'a"b', '`id`', '']
    const r = spawnSync('/bin/sh', ['-c', commandLine(words)], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(
      words
        .slice(2)
        .map((w) => `${w}\n`)
        .join(''),
    )
  })
})

describe('DNS servers plan', () => {
  const plan = (current: string[], desired: string[]) =>
    words(dnsServers.diff(current, desired, ctx))

  it('adds each server in order to an empty list', () => {
    expect(plan([], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'add', '--server=10.0.0.2'],
      [...DNS, 'add', '--server=10.0.0.3'],
    ])
  })

  it('adds only what is missing at the end', () => {
    expect(plan(['10.0.0.2'], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'add', '--server=10.0.0.3'],
    ])
  })

  it('removes only what is no longer wanted', () => {
    expect(plan(['10.0.0.2', '10.0.0.3', '10.0.0.4'], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'remove', '--server=10.0.0.4'],
    ])
  })

  it('removes and adds when one server is swapped for another', () => {
    expect(plan(['10.0.0.2', '10.0.0.9'], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'remove', '--server=10.0.0.9'],
      [...DNS, 'add', '--server=10.0.0.3'],
    ])
  })

  it('rebuilds the list when the order is wrong', () => {
    expect(plan(['10.0.0.3', '10.0.0.2'], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'remove', '--all'],
      [...DNS, 'add', '--server=10.0.0.2'],
      [...DNS, 'add', '--server=10.0.0.3'],
    ])
  })

  it('rebuilds when a new server belongs ahead of a kept one', () => {
    expect(plan(['10.0.0.3'], ['10.0.0.2', '10.0.0.3'])).toEqual([
      [...DNS, 'remove', '--all'],
      [...DNS, 'add', '--server=10.0.0.2'],
      [...DNS, 'add', '--server=10.0.0.3'],
    ])
  })

  it('knows when the list is already right, order included', () => {
    expect(plan(['10.0.0.2', '10.0.0.3'], ['10.0.0.2', '10.0.0.3'])).toEqual([])
    expect(plan(['10.0.0.3', '10.0.0.2'], ['10.0.0.2', '10.0.0.3'])).not.toEqual([])
    expect(dnsServers.show([])).toBe('(none)')
    expect(dnsServers.show(['10.0.0.2', '10.0.0.3'])).toBe('10.0.0.2, 10.0.0.3')
  })

  it('reads the list the way ESXi prints it', async () => {
    const { shell, commands } = fakeShell(() => ({
      stdout: '   DNSServers: 192.168.76.2, 8.8.8.8\n',
    }))
    expect(await dnsServers.read(new CachedReader(shell, null), ctx, [])).toEqual([
      '192.168.76.2',
      '8.8.8.8',
    ])
    expect(commands).toEqual(['esxcli network ip dns server list'])
  })

  // What an empty list prints is unconfirmed: a placeholder must not become a server to remove.
  it('reads an empty list however the host spells it, and plans only the adds', async () => {
    for (const nothing of ['', '<none>', 'None', '(none)', 'N/A', '-']) {
      const { shell } = fakeShell(() => ({ stdout: `   DNSServers: ${nothing}\n` }))
      const current = await dnsServers.read(new CachedReader(shell, null), ctx, [])
      expect(current, nothing).toEqual([])
      expect(dnsServers.show(current)).toBe('(none)')
      expect(plan(current, ['10.0.0.2'])).toEqual([[...DNS, 'add', '--server=10.0.0.2']])
    }
  })

  it('keeps every address the host lists, IPv6 too, and nothing else', async () => {
    const { shell } = fakeShell(() => ({
      stdout: '   DNSServers: 10.0.0.9, fe80::1, unknown\n',
    }))
    const current = await dnsServers.read(new CachedReader(shell, null), ctx, [])
    expect(current).toEqual(['10.0.0.9', 'fe80::1'])
    expect(plan(current, ['10.0.0.9'])).toEqual([[...DNS, 'remove', '--server=fe80::1']])
  })
})

describe('NTP plan', () => {
  const servers = ['10.0.0.4', 'ntp.lab.local']
  const ruleset = [
    'esxcli',
    'network',
    'firewall',
    'ruleset',
    'set',
    '-r',
    'ntpClient',
    '-e',
    'true',
  ]
  const wanted = (s: string[]) => ({ servers: s, enabled: true })

  it('only opens the ntpClient ruleset when the servers are already right', () => {
    const current = { enabled: true, servers, firewallOpen: false }
    expect(words(ntp.diff(current, wanted(servers), ctx))).toEqual([ruleset])
  })

  it('resets, sets every server, then enables, when they differ (set -s may append)', () => {
    const current = { enabled: true, servers: ['a'], firewallOpen: true }
    expect(words(ntp.diff(current, wanted(['a', 'b']), ctx))).toEqual([
      ['esxcli', 'system', 'ntp', 'set', '--reset'],
      ['esxcli', 'system', 'ntp', 'set', '-s', 'a', '-s', 'b'],
      ['esxcli', 'system', 'ntp', 'set', '-e', 'true'],
    ])
  })

  it('enables NTP and opens the firewall on a fresh host', () => {
    const current = { enabled: false, servers: [], firewallOpen: false }
    expect(words(ntp.diff(current, wanted(['a', 'b']), ctx))).toEqual([
      ['esxcli', 'system', 'ntp', 'set', '--reset'],
      ['esxcli', 'system', 'ntp', 'set', '-s', 'a', '-s', 'b'],
      ['esxcli', 'system', 'ntp', 'set', '-e', 'true'],
      ruleset,
    ])
    expect(ntp.show(current)).toBe('disabled: (no servers) (ntpClient firewall closed)')
  })

  it('has nothing to do when everything is right', () => {
    const current = { enabled: true, servers, firewallOpen: true }
    expect(ntp.diff(current, wanted(servers), ctx)).toEqual([])
    expect(ntp.show(current)).toBe('enabled: 10.0.0.4, ntp.lab.local')
  })

  it('reads ntp get and the ruleset list', async () => {
    const { shell, commands } = fakeShell((c) =>
      c === 'esxcli system ntp get'
        ? { stdout: '   Enabled: true\n   Servers: a, b\n' }
        : {
            stdout:
              'Name        Enabled\n' +
              '----------  -------\n' +
              'sshServer      true\n' +
              'ntpClient     false\n',
          },
    )
    expect(
      await ntp.read(new CachedReader(shell, null), ctx, { servers: [], enabled: true }),
    ).toEqual({
      enabled: true,
      servers: ['a', 'b'],
      firewallOpen: false,
    })
    expect(commands).toEqual(['esxcli system ntp get', 'esxcli network firewall ruleset list'])
  })

  // `ruleset list` is not in esxi.md: a list without the ruleset's row says nothing about it.
  it('takes a ruleset list without an ntpClient row as not saying, opens it, and verifies', async () => {
    const { shell, commands } = fakeShell((c) =>
      c === 'esxcli system ntp get'
        ? { stdout: '   Enabled: true\n   Servers: 10.0.0.4, ntp.lab.local\n' }
        : c === 'esxcli network firewall ruleset list'
          ? {
              stdout:
                'Name        Enabled\n' +
                '----------  -------\n' +
                'sshServer      true\n' +
                'httpClient    false\n',
            }
          : {},
    )
    const current = await ntp.read(new CachedReader(shell, null), ctx, wanted(servers))
    expect(current).toEqual({ enabled: true, servers })
    expect(ntp.diff(current, wanted(servers), ctx).map((c) => c.summary)).toEqual([
      'open the ntpClient firewall ruleset (the host does not say whether it is open)',
    ])
    const r = await applySetting(
      shell,
      new CachedReader(shell, null),
      ntp,
      wanted(servers),
      ctx,
      () => undefined,
    )
    expect(r.writes).toBe(1)
    expect(commands).toContain(commandLine(ruleset))
  })
})

describe('hostname setting', () => {
  it('plans one set and compares the domain case-insensitively', () => {
    const want = { host: 'esx01', domain: 'lab.local' }
    expect(hostname.diff({ host: 'esx01', domain: 'LAB.local' }, want, ctx)).toEqual([])
    expect(words(hostname.diff({ host: 'localhost', domain: '' }, want, ctx))).toEqual([
      ['esxcli', 'system', 'hostname', 'set', '--host=esx01', '--domain=lab.local'],
    ])
    expect(hostname.show({ host: 'localhost', domain: '' })).toBe('localhost')
    expect(hostname.show(want)).toBe('esx01.lab.local')
  })
})

describe('the read cache', () => {
  it('runs a read once per run, and again after a write made it stale', async () => {
    const { shell, commands } = fakeShell(() => ({ stdout: '   DNSServers: 10.0.0.2\n' }))
    const reader = new CachedReader(shell, null)
    await dnsServers.read(reader, ctx, [])
    await dnsServers.read(new CachedReader(shell, null, reader), ctx, [])
    expect(commands).toEqual(['esxcli network ip dns server list'])
    reader.invalidate()
    await dnsServers.read(reader, ctx, [])
    expect(commands).toHaveLength(2)
  })
})

describe('run', () => {
  const add = ['esxcli', 'network', 'vswitch', 'standard', 'add', '-v', 'vSwitch1']

  it('returns stdout of a command that succeeded, sending the quoted line', async () => {
    const { shell, commands } = fakeShell(() => ({ stdout: 'ok\n' }))
    expect(
      await run(shell, [
        'esxcli',
        'network',
        'vswitch',
        'standard',
        'portgroup',
        'add',
        '-p',
        'VM Network',
        '-v',
        'vSwitch0',
      ]),
    ).toBe('ok\n')
    expect(commands).toEqual([
      "esxcli network vswitch standard portgroup add -p 'VM Network' -v vSwitch0",
    ])
  })

  it('throws CommandFailed with the command and what ESXi said on stderr', async () => {
    const { shell } = fakeShell(() => ({
      code: 1,
      stderr: 'A portset with this name already exists\n',
    }))
    const err = await run(shell, add).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailed)
    expect((err as Error).message).toBe(
      '`esxcli network vswitch standard add -v vSwitch1` failed (exit 1): A portset with this name already exists',
    )
  })

  it('reports an error ESXi printed on stdout only', async () => {
    const { shell } = fakeShell(() => ({ code: 1, stdout: 'Uplink already exists: vmnic0\n' }))
    const err = await run(shell, [
      'esxcli',
      'network',
      'vswitch',
      'standard',
      'uplink',
      'add',
      '-u',
      'vmnic0',
      '-v',
      'vSwitch0',
    ]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandFailed)
    expect((err as Error).message).toContain(
      'esxcli network vswitch standard uplink add -u vmnic0 -v vSwitch0',
    )
    expect((err as Error).message).toContain('Uplink already exists: vmnic0')
  })

  // Which stream gets the error is unconfirmed, and the login warning may come on either.
  it("quotes the host's error, not the warning printed before it on the other stream", async () => {
    const warning =
      'WARNING:\n' +
      '   All commands run on the ESXi shell are logged and may be included in\n' +
      '   support bundles. Do not provide passwords directly on the command line.\n'
    const said = (r: Partial<ShellResult>) =>
      run(fakeShell(() => ({ code: 1, ...r })).shell, add).catch(
        (e: unknown) => (e as Error).message,
      )
    expect(
      await said({ stderr: warning, stdout: 'A portset with this name already exists\n' }),
    ).toBe(
      '`esxcli network vswitch standard add -v vSwitch1` failed (exit 1): A portset with this name already exists',
    )
    // On the same stream, under the warning; and an argument error above its usage text.
    expect(
      await said({ stderr: `\n${warning}\nA portset with this name already exists\n` }),
    ).toMatch(/: A portset with this name already exists$/)
    expect(
      await said({
        stderr: warning,
        stdout:
          'Usage: esxcli network vswitch standard portgroup set [cmd options]\n\n' +
          "Error: While processing '--vlan-id'. Argument type mismatch. Expecting integer value. Got 'x'\n",
      }),
    ).toMatch(
      /: Error: While processing '--vlan-id'\. Argument type mismatch\. Expecting integer value\. Got 'x'$/,
    )
    // A message esxi.md does not list: the first line after the warning.
    expect(await said({ stderr: `${warning}busy\nretry later\n` })).toMatch(/: busy$/)
    // Nothing but the warning is still quoted, not called "no output".
    expect(await said({ stderr: warning })).toMatch(/: WARNING:$/)
  })

  it('reports both streams, and says so when there was no output or no exit code', async () => {
    const both = await run(
      fakeShell(() => ({ code: 1, stderr: 'Sysinfo error: Not found', stdout: 'See VMkernel log' }))
        .shell,
      add,
    ).catch((e: unknown) => (e as Error).message)
    expect(both).toContain('Sysinfo error: Not found / See VMkernel log')

    const silent = await run(fakeShell(() => ({ code: 255 })).shell, add).catch(
      (e: unknown) => (e as Error).message,
    )
    expect(silent).toBe(
      '`esxcli network vswitch standard add -v vSwitch1` failed (exit 255): no output',
    )

    const killed = await run(fakeShell(() => ({ code: null, stderr: 'Killed' })).shell, add).catch(
      (e: unknown) => (e as Error).message,
    )
    expect(killed).toBe(
      '`esxcli network vswitch standard add -v vSwitch1` failed (exit none): Killed',
    )
  })
})

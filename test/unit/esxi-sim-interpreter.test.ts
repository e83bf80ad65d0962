import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  runCommand,
  runCommandLine,
  runInStateFile,
  splitCommandLine,
} from '../esxi-sim/interpreter'
import { defaultState, loadState, saveState } from '../esxi-sim/state'
import type { SimState } from '../esxi-sim/state'

const run = (s: SimState, line: string) => runCommandLine(line, s)

// The expected texts below are copied from esxi.md.
describe('identity commands print what esxi.md shows', () => {
  it('nic list: columns as wide as their longest value, dashes per column', () => {
    const s = defaultState()
    s.nics = [
      {
        name: 'vmnic0',
        pci: '0000:02:01.0',
        driver: 'nvmxnet3',
        admin: 'Up',
        link: 'Up',
        speed: 10000,
        duplex: 'Full',
        mac: '00:50:56:b3:b9:89',
        mtu: 1500,
        description: 'VMware Inc. vmxnet3 Virtual Ethernet Controller',
      },
    ]
    const r = run(s, 'esxcli network nic list')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      'Name    PCI Device    Driver    Admin Status  Link Status  Speed  Duplex  MAC Address         MTU  Description\n' +
        '------  ------------  --------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
        'vmnic0  0000:02:01.0  nvmxnet3  Up            Up           10000  Full    00:50:56:b3:b9:89  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n',
    )
  })

  it('nic list of a fresh host: a longer name widens its column and MACs line up', () => {
    const s = defaultState()
    s.nics.push({ ...s.nics[1]!, name: 'vmnic10', mac: '00:50:56:aa:bb:0a' })
    const lines = run(s, 'esxcli network nic list').stdout.trimEnd().split('\n')
    const dashes = lines[1]!.split('  ').map((d) => d.length)
    expect(dashes).toEqual([7, 12, 8, 12, 11, 5, 6, 17, 4, 11])
    const macAt = lines[0]!.indexOf('MAC Address')
    expect(lines.slice(2).map((l) => l.slice(macAt, macAt + 17))).toEqual([
      '00:50:56:aa:bb:01',
      '00:50:56:aa:bb:02',
      '00:50:56:aa:bb:0a',
    ])
    expect(lines[2]).toMatch(/^vmnic0 {3}0000:/)
  })

  it('hardware platform get', () => {
    expect(run(defaultState(), 'esxcli hardware platform get').stdout).toBe(
      'Platform Information\n' +
        '   UUID: 0xff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13 0x25 0x99\n' +
        '   Product Name: VMware20,1\n' +
        '   Vendor Name: VMware, Inc.\n' +
        '   Serial Number: VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99\n' +
        '   Enclosure Serial Number: None\n' +
        '   BIOS Asset Tag: No Asset Tag\n' +
        '   IPMI Supported: false\n',
    )
  })

  it('system version get, plain and keyvalue', () => {
    const s = defaultState()
    expect(run(s, 'esxcli system version get').stdout).toBe(
      '   Product: VMware ESXi\n' +
        '   Version: 8.0.2\n' +
        '   Build: Releasebuild-22380479\n' +
        '   Update: 2\n' +
        '   Patch: 0\n',
    )
    const kv = run(s, 'esxcli --formatter=keyvalue system version get').stdout.split('\n')
    expect(kv).toContain('VersionGet.Version.string=8.0.2')
    expect(kv).toContain('VersionGet.Build.string=Releasebuild-22380479')
    expect(run(s, 'localcli --formatter keyvalue system version get').stdout).toContain(
      'VersionGet.Product.string=VMware ESXi\n',
    )
    expect(run(s, 'vmware -v').stdout).toBe('VMware ESXi 8.0.2 build-22380479\n')
  })

  it('json and csv formatters render the same records', () => {
    const s = defaultState()
    const json = JSON.parse(run(s, 'esxcli --formatter=json network nic list').stdout) as Array<
      Record<string, unknown>
    >
    expect(json.map((n) => [n.Name, n.MACAddress, n.MTU])).toEqual([
      ['vmnic0', '00:50:56:aa:bb:01', 1500],
      ['vmnic1', '00:50:56:aa:bb:02', 1500],
    ])
    const version = JSON.parse(run(s, 'esxcli --formatter=json system version get').stdout) as {
      Version: string
    }
    expect(version.Version).toBe('8.0.2')
    const csv = run(s, 'esxcli --formatter=csv network firewall ruleset list').stdout.split('\n')
    expect(csv[0]).toBe('Enabled,Name,')
    expect(csv).toContain('false,httpClient,')
  })

  it('ipv4 get right-aligns booleans as in esxi.md', () => {
    const s = defaultState()
    expect(
      run(
        s,
        'esxcli network ip interface ipv4 set -i vmk0 -t static -I 172.30.30.176 -N 255.255.255.0 -g 172.30.30.1',
      ).code,
    ).toBe(0)
    expect(run(s, 'esxcli network ip interface ipv4 get').stdout).toBe(
      'Name  IPv4 Address   IPv4 Netmask   IPv4 Broadcast  Address Type  Gateway      DHCP DNS\n' +
        '----  -------------  -------------  --------------  ------------  -----------  --------\n' +
        'vmk0  172.30.30.176  255.255.255.0  172.30.30.255   STATIC        172.30.30.1     false\n',
    )
  })
})

describe('configuration commands and their read-back', () => {
  let s: SimState
  beforeEach(() => {
    s = defaultState()
  })

  it('hostname set/get, with --host/--domain and with --fqdn', () => {
    expect(run(s, 'esxcli system hostname get').stdout).toBe(
      '   Domain Name: \n   Fully Qualified Domain Name: localhost\n   Host Name: localhost\n',
    )
    const set = run(s, 'esxcli system hostname set --host=esx01 --domain=lab.local')
    expect(set).toEqual({ stdout: '', stderr: '', code: 0 })
    expect(run(s, 'esxcli system hostname get').stdout).toBe(
      '   Domain Name: lab.local\n' +
        '   Fully Qualified Domain Name: esx01.lab.local\n' +
        '   Host Name: esx01\n',
    )
    run(s, 'esxcli system hostname set --fqdn esx02.site.example')
    expect(s.hostname).toBe('esx02')
    expect(s.domain).toBe('site.example')
  })

  it('dns servers: add, list, remove, remove --all', () => {
    expect(run(s, 'esxcli network ip dns server list').stdout).toBe('   DNSServers: \n')
    run(s, 'esxcli network ip dns server add --server=127.0.0.53')
    run(s, 'esxcli network ip dns server add --server 127.0.0.54')
    expect(run(s, 'esxcli network ip dns server list').stdout).toBe(
      '   DNSServers: 127.0.0.53, 127.0.0.54\n',
    )
    run(s, 'esxcli network ip dns server remove --server=127.0.0.53')
    expect(run(s, 'esxcli network ip dns server list').stdout).toBe('   DNSServers: 127.0.0.54\n')
    run(s, 'esxcli network ip dns server add -s 127.0.0.55')
    run(s, 'esxcli network ip dns server remove --all')
    expect(s.dns.servers).toEqual([])
  })

  it('dns search domains', () => {
    run(s, 'esxcli network ip dns search add --domain=localdomain')
    run(s, 'esxcli network ip dns search add -d lab.local')
    expect(run(s, 'esxcli network ip dns search list').stdout).toBe(
      '   DNSSearch Domains: localdomain, lab.local\n',
    )
  })

  it('a duplicate dns add fails by default and is a no-op when the quirk says so', () => {
    run(s, 'esxcli network ip dns server add --server=127.0.0.53')
    expect(run(s, 'esxcli network ip dns server add --server=127.0.0.53').code).not.toBe(0)
    s.quirks.duplicates = 'ignore'
    expect(run(s, 'esxcli network ip dns server add --server=127.0.0.53').code).toBe(0)
    expect(s.dns.servers).toEqual(['127.0.0.53'])
  })

  it('ntp set/get, and names that do not resolve are refused', () => {
    expect(run(s, 'esxcli system ntp get').stdout).toBe('   Enabled: false\n   Servers: \n')
    expect(run(s, 'esxcli system ntp set -s 127.0.0.123 -s ntp.lab.local -e true').code).toBe(0)
    expect(run(s, 'esxcli system ntp get').stdout).toBe(
      '   Enabled: true\n   Servers: 127.0.0.123, ntp.lab.local\n',
    )
    s.resolvableNames = ['ntp.lab.local']
    const bad = run(s, 'esxcli system ntp set --server=ntp.nowhere.invalid --server ntp.lab.local')
    expect(bad.code).toBe(1)
    expect(bad.stdout + bad.stderr).toMatch(/^Error: .*ntp\.nowhere\.invalid/)
    expect(s.ntp.servers).toEqual(['127.0.0.123', 'ntp.lab.local'])
  })

  it('firewall get/set and ruleset toggles', () => {
    expect(run(s, 'esxcli network firewall get').stdout).toBe(
      '   Default Action: DROP\n   Enabled: true\n   Loaded: true\n',
    )
    run(s, 'esxcli network firewall set --enabled false')
    expect(run(s, 'esxcli network firewall get').stdout).toContain('   Enabled: false\n')
    run(s, 'esxcli network firewall set --enabled=true')
    expect(s.firewall.enabled).toBe(true)
    expect(run(s, 'esxcli network firewall ruleset set -r httpClient -e true').code).toBe(0)
    run(s, 'esxcli network firewall ruleset set --ruleset-id=ntpClient --enabled=true')
    const list = run(s, 'esxcli network firewall ruleset list').stdout.split('\n')
    expect(list[0]).toMatch(/^Name {2,}Enabled$/)
    expect(list.find((l) => l.startsWith('httpClient '))).toMatch(/ true$/)
    expect(list.find((l) => l.startsWith('sshClient '))).toMatch(/ false$/)
    expect(run(s, 'esxcli network firewall refresh').code).toBe(0)
    const unknown = run(s, 'esxcli network firewall ruleset set -r noSuchRuleset -e true')
    expect(unknown.code).toBe(1)
  })

  it('vswitch, uplink, port group, VLAN, vmknic and tag', () => {
    expect(run(s, 'esxcli network vswitch standard add -v vSwitch1').code).toBe(0)
    expect(run(s, 'esxcli network vswitch standard uplink add -u vmnic1 -v vSwitch1').code).toBe(0)
    expect(run(s, 'esxcli network vswitch standard set -v vSwitch1 -m 9000').code).toBe(0)
    expect(
      run(s, 'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch1').code,
    ).toBe(0)
    expect(
      run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v 100').code,
    ).toBe(0)
    expect(run(s, 'esxcli network ip interface add -i vmk1 -p vMotion').code).toBe(0)
    run(s, 'esxcli network ip interface ipv4 set -i vmk1 -t static -I 127.0.1.10 -N 255.255.255.0')
    expect(run(s, 'esxcli network ip interface tag add -i vmk1 -t VMotion').code).toBe(0)
    expect(run(s, 'esxcli network ip interface tag get -i vmk1').stdout).toBe('   Tags: VMotion\n')

    const vswitches = run(s, 'esxcli network vswitch standard list').stdout
    expect(vswitches).toContain(
      'vSwitch1\n   Name: vSwitch1\n   Class: cswitch\n   Num Ports: 2560\n   Used Ports: 3\n',
    )
    expect(vswitches).toContain('   MTU: 9000\n')
    expect(vswitches).toContain('   Uplinks: vmnic1\n   Portgroups: vMotion\n')
    expect(vswitches).toContain('   Portgroups: VM Network, Management Network\n')
    expect(run(s, 'esxcli network vswitch standard portgroup list').stdout).toBe(
      'Name                Virtual Switch  Active Clients  VLAN ID\n' +
        '------------------  --------------  --------------  -------\n' +
        'VM Network          vSwitch0                     0        0\n' +
        'Management Network  vSwitch0                     1      100\n' +
        'vMotion             vSwitch1                     1        0\n',
    )
    expect(run(s, 'esxcli network ip interface ipv4 get -i vmk1').stdout).toContain(
      'vmk1  127.0.1.10    255.255.255.0  127.0.1.255     STATIC',
    )
  })

  it('route add and list', () => {
    run(s, 'esxcli network ip route ipv4 add --gateway 127.0.0.254 --network default')
    expect(run(s, 'esxcli network ip route ipv4 list').stdout).toBe(
      'Network    Netmask    Gateway      Interface  Source\n' +
        '---------  ---------  -----------  ---------  ------\n' +
        'default    0.0.0.0    127.0.0.254  vmk0       MANUAL\n' +
        '127.0.0.0  255.0.0.0  0.0.0.0      vmk0       MANUAL\n',
    )
  })

  it('syslog, maintenance mode, advanced settings, account', () => {
    expect(run(s, 'esxcli system syslog config get').stdout).toContain('   Remote Host: <none>\n')
    run(s, "esxcli system syslog config set --loghost='udp://127.0.0.5:514'")
    expect(run(s, 'esxcli system syslog reload').code).toBe(0)
    expect(run(s, 'esxcli system syslog config get').stdout).toContain(
      '   Remote Host: udp://127.0.0.5:514\n',
    )
    expect(run(s, 'esxcli system maintenanceMode get').stdout).toBe('Disabled\n')
    run(s, 'esxcli system maintenanceMode set -e true')
    expect(run(s, 'esxcli system maintenanceMode get').stdout).toBe('Enabled\n')
    run(s, 'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1')
    expect(
      run(s, 'esxcli system settings advanced list -o /UserVars/SuppressShellWarning').stdout,
    ).toContain('   Path: /UserVars/SuppressShellWarning\n   Type: integer\n   Int Value: 1\n')
    expect(run(s, "esxcli system account set -i root -p 'N3w!pass' -c 'N3w!pass'").code).toBe(0)
    expect(s.rootPassword).toBe('N3w!pass')
    expect(run(s, "esxcli system account set -i root -p 'a' -c 'b'").code).toBe(1)
  })

  it('vim-cmd services and licence, vsish boot command line', () => {
    for (const c of ['enable_ssh', 'start_ssh', 'enable_esx_shell', 'start_esx_shell']) {
      expect(run(s, `vim-cmd hostsvc/${c}`)).toEqual({ stdout: '', stderr: '', code: 0 })
    }
    expect(s.services).toEqual({
      ssh: { enabled: true, running: true },
      esxShell: { enabled: true, running: true },
    })
    run(s, 'vim-cmd hostsvc/stop_ssh')
    run(s, 'vim-cmd hostsvc/disable_ssh')
    expect(s.services.ssh).toEqual({ enabled: false, running: false })
    expect(run(s, 'vim-cmd vimsvc/license --set AAAAA-BBBBB-CCCCC-DDDDD-EEEEE').code).toBe(0)
    expect(run(s, 'vim-cmd vimsvc/license --show').stdout).toContain(
      'serial: AAAAA-BBBBB-CCCCC-DDDDD-EEEEE\n',
    )
    s.bootCmdLine = 'runweasel ks=http://127.0.0.1:8080/ks.cfg PBHOST=127.0.0.1:8080'
    expect(run(s, 'vsish -e get /system/bootCmdLine').stdout).toBe(`${s.bootCmdLine}\n`)
  })
})

describe('errors', () => {
  const cases: Array<[string, string[], string]> = [
    [
      'vswitch standard add',
      ['esxcli network vswitch standard add -v vSwitch0'],
      'A portset with this name already exists',
    ],
    [
      'uplink add',
      ['esxcli network vswitch standard uplink add -u vmnic0 -v vSwitch0'],
      'Uplink already exists: vmnic0',
    ],
    [
      'uplink remove',
      ['esxcli network vswitch standard uplink remove -u vmnic2 -v vSwitch0'],
      'No such uplink: vmnic2',
    ],
    [
      'portgroup add',
      ['esxcli network vswitch standard portgroup add -p "VM Network" -v vSwitch0'],
      'A portgroup with the name VM Network already exists',
    ],
    [
      'portgroup remove',
      ['esxcli network vswitch standard portgroup remove -p vMotion -v vSwitch0'],
      'Sysinfo error: Not found',
    ],
    [
      'ip interface add',
      [
        'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch0',
        'esxcli network ip interface add -i vmk1 -p vMotion',
        'esxcli network ip interface add -i vmk1 -p vMotion',
      ],
      'A vmkernel nic for the connection point already exists',
    ],
    [
      'tag add',
      ['esxcli network ip interface tag add -i vmk0 -t Management'],
      'Vmknic is already tagged with Management',
    ],
  ]

  it.each(cases)(
    '%s of an existing/absent object fails with the esxi.md message',
    (_n, lines, message) => {
      const s = defaultState()
      const results = lines.map((l) => run(s, l))
      const last = results.at(-1)!
      expect(results.slice(0, -1).every((r) => r.code === 0)).toBe(true)
      expect(last.code).not.toBe(0)
      expect(last.stdout + last.stderr).toBe(`Error: ${message}\n`)
    },
  )

  it('errors go to stdout or stderr as the quirk says', () => {
    const s = defaultState()
    const onStdout = run(s, 'esxcli network vswitch standard add -v vSwitch0')
    expect(onStdout.stderr).toBe('')
    s.quirks.errorStream = 'stderr'
    const onStderr = run(s, 'esxcli network vswitch standard add -v vSwitch0')
    expect(onStderr).toEqual({
      stdout: '',
      stderr: 'Error: A portset with this name already exists\n',
      code: 1,
    })
  })

  it('argument type mismatch prints the error and then the usage', () => {
    const s = defaultState()
    const r = run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v x')
    expect(r.code).toBe(1)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(
      "Error: While processing '--vlan-id'. Argument type mismatch. Expecting integer value. Got 'x'",
    )
    expect(r.stdout).toContain(
      'Usage: esxcli network vswitch standard portgroup set [cmd options]\n',
    )
    expect(r.stdout).toContain('-v|--vlan-id=<long>')
    expect(s.portgroups.find((p) => p.name === 'Management Network')?.vlanId).toBe(0)
  })

  it('unknown namespace, command and option', () => {
    const s = defaultState()
    expect(run(s, 'esxcli system hostnam get')).toEqual({
      stdout: 'Error: Unknown command or namespace system hostnam get\n',
      stderr: '',
      code: 1,
    })
    const badOpt = run(s, 'esxcli system hostname set --hots=esx01')
    expect(badOpt.code).toBe(1)
    expect(badOpt.stdout).toMatch(/^Error: Invalid option --hots\n/)
    expect(s.hostname).toBe('localhost')
    expect(run(s, 'curl http://127.0.0.1/')).toEqual({
      stdout: '',
      stderr: 'sh: curl: not found\n',
      code: 127,
    })
  })
})

describe('faults and log', () => {
  it('logs every command, and a matching fault replaces the command', () => {
    const s = defaultState({
      faults: [{ match: 'esxcli network ip dns server add', stderr: 'boom\n', code: 2 }],
    })
    run(s, 'esxcli system hostname set --host=esx01')
    const r = runCommand(
      ['esxcli', 'network', 'ip', 'dns', 'server', 'add', '--server=127.0.0.9'],
      s,
    )
    expect(r).toEqual({ stdout: '', stderr: 'boom\n', code: 2 })
    expect(s.dns.servers).toEqual([])
    run(s, '/bin/vim-cmd hostsvc/enable_ssh')
    expect(s.log).toEqual([
      'esxcli system hostname set --host=esx01',
      'esxcli network ip dns server add --server=127.0.0.9',
      'vim-cmd hostsvc/enable_ssh',
    ])
  })

  describe('in a state file', () => {
    let dir: string
    let statePath: string
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'esxi-sim-'))
      statePath = join(dir, 'state.json')
    })
    afterEach(() => rmSync(dir, { recursive: true, force: true }))

    it('a delay-only fault holds the command without blocking others', async () => {
      saveState(
        statePath,
        defaultState({ faults: [{ match: 'esxcli system ntp get', delayMs: 600 }] }),
      )
      const started = Date.now()
      const slow = runInStateFile(statePath, ['esxcli', 'system', 'ntp', 'get'])
      const fast = await runInStateFile(statePath, ['esxcli', 'system', 'hostname', 'get'])
      expect(Date.now() - started).toBeLessThan(450)
      expect(fast.stdout).toContain('Host Name: localhost')
      expect(await slow).toEqual({ stdout: '', stderr: '', code: 0 })
      expect(Date.now() - started).toBeGreaterThanOrEqual(590)
    })

    it('concurrent callers do not lose each other’s changes', async () => {
      saveState(statePath, defaultState())
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          runInStateFile(statePath, [
            'esxcli',
            'network',
            'ip',
            'dns',
            'server',
            'add',
            `--server=127.0.0.${i + 1}`,
          ]),
        ),
      )
      const s = loadState(statePath)
      expect(s.dns.servers).toHaveLength(20)
      expect(s.log).toHaveLength(20)
      expect(JSON.parse(readFileSync(statePath, 'utf8'))).toEqual(s)
    })
  })
})

describe('splitCommandLine', () => {
  it('handles quotes and escapes like sh', () => {
    expect(splitCommandLine(`esxcli a --x='it''s' "b \\"c\\" \\$d \\\\ \\n" e\\ f`)).toEqual([
      'esxcli',
      'a',
      '--x=its',
      'b "c" $d \\ \\n',
      'e f',
    ])
    expect(splitCommandLine(`-p 'P$ss|w;rd&' "a#b" c#d # comment`)).toEqual([
      '-p',
      'P$ss|w;rd&',
      'a#b',
      'c#d',
    ])
    expect(splitCommandLine('  ')).toEqual([])
    expect(splitCommandLine(`x '' ""`)).toEqual(['x', '', ''])
  })

  it.each([
    'esxcli a | grep b',
    'esxcli a; esxcli b',
    'esxcli a && esxcli b',
    'esxcli a &',
    'esxcli a > /tmp/x',
    'esxcli a < /tmp/x',
    'esxcli $(echo a)',
    'esxcli `echo a`',
    'esxcli "$(echo a)"',
    'esxcli "`echo a`"',
    'esxcli $HOME',
  ])('refuses %s', (line) => {
    expect(() => splitCommandLine(line)).toThrow(/unsupported shell syntax/)
    const r = runCommandLine(line, defaultState())
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unsupported shell syntax/)
  })

  it('refuses unterminated quotes', () => {
    expect(() => splitCommandLine(`esxcli 'a`)).toThrow(/unterminated single quote/)
    expect(() => splitCommandLine(`esxcli "a`)).toThrow(/unterminated double quote/)
  })
})

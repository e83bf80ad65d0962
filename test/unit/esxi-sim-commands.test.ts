// Every row of esxi.md's "Configuration commands" table, set and read back, on every release the
// simulator models; then the commands around them that a configuration run needs.
import { beforeEach, describe, expect, it } from 'vitest'
import { passwordProblem } from '../esxi-sim/esxcli'
import { isWriteCommand, runCommandLine, writeCommands } from '../esxi-sim/interpreter'
import { managementAddress } from '../esxi-sim/net'
import { ESXI_PROFILES } from '../esxi-sim/profile'
import { defaultState } from '../esxi-sim/state'
import type { SimState } from '../esxi-sim/state'

const run = (s: SimState, line: string) => runCommandLine(line, s)
const text = (r: { stdout: string; stderr: string }) => r.stdout + r.stderr

/** A host whose vmk0 is 127.0.10.10/24 with default gateway 127.0.10.1. */
function managed(s: SimState): SimState {
  expect(
    run(s, 'esxcli network ip interface ipv4 set -i vmk0 -t static -I 127.0.10.10 -N 255.255.255.0')
      .code,
  ).toBe(0)
  expect(
    run(s, 'esxcli network ip route ipv4 add --gateway 127.0.10.1 --network default').code,
  ).toBe(0)
  return s
}

describe.each(ESXI_PROFILES)('ESXi %s: the configuration table, set then read back', (profile) => {
  let s: SimState
  beforeEach(() => {
    s = defaultState({ profile })
  })

  it('hostname', () => {
    run(s, 'esxcli system hostname set --host=esx01 --domain=lab.local')
    expect(run(s, 'esxcli system hostname get').stdout).toBe(
      '   Domain Name: lab.local\n' +
        '   Fully Qualified Domain Name: esx01.lab.local\n' +
        '   Host Name: esx01\n',
    )
    run(s, 'esxcli system hostname set --fqdn=esx02.site.example')
    expect(run(s, 'esxcli system hostname get').stdout).toContain('   Host Name: esx02\n')
  })

  it('DNS servers and search domains, in order', () => {
    run(s, 'esxcli network ip dns server add --server=192.168.76.2')
    run(s, 'esxcli network ip dns server add --server=8.8.8.8')
    expect(run(s, 'esxcli network ip dns server list').stdout).toBe(
      '   DNSServers: 192.168.76.2, 8.8.8.8\n',
    )
    run(s, 'esxcli network ip dns server remove --server=192.168.76.2')
    expect(s.dns.servers).toEqual(['8.8.8.8'])
    run(s, 'esxcli network ip dns server remove --all')
    expect(run(s, 'esxcli network ip dns server list').stdout).toBe('   DNSServers: \n')

    run(s, 'esxcli network ip dns search add --domain=localdomain')
    run(s, 'esxcli network ip dns search add --domain=lab.local')
    expect(run(s, 'esxcli network ip dns search list').stdout).toBe(
      '   DNSSearch Domains: localdomain, lab.local\n',
    )
    run(s, 'esxcli network ip dns search remove --domain=localdomain')
    expect(run(s, 'esxcli network ip dns search list').stdout).toBe(
      '   DNSSearch Domains: lab.local\n',
    )
  })

  it('management IPv4: static address, and -g as a per-adapter override, not the default route', () => {
    const r = run(
      s,
      'esxcli network ip interface ipv4 set -i vmk0 -t static -I 172.30.30.176 -N 255.255.255.0 -g 172.30.30.1',
    )
    expect(r).toEqual({ stdout: '', stderr: '', code: 0 })
    expect(run(s, 'esxcli network ip interface ipv4 get').stdout).toBe(
      'Name  IPv4 Address   IPv4 Netmask   IPv4 Broadcast  Address Type  Gateway      DHCP DNS\n' +
        '----  -------------  -------------  --------------  ------------  -----------  --------\n' +
        'vmk0  172.30.30.176  255.255.255.0  172.30.30.255   STATIC        172.30.30.1     false\n',
    )
    expect(run(s, 'esxcfg-route').stdout).toBe('VMkernel default gateway is not set\n')
    expect(managementAddress(s)).toBe('172.30.30.176')
    expect(s.managementChanges).toBe(1)
  })

  it('default route: esxcli and esxcfg-route, set and read', () => {
    managed(s)
    expect(run(s, 'esxcli network ip route ipv4 list').stdout).toBe(
      'Network     Netmask        Gateway     Interface  Source\n' +
        '----------  -------------  ----------  ---------  ------\n' +
        'default     0.0.0.0        127.0.10.1  vmk0       MANUAL\n' +
        '127.0.10.0  255.255.255.0  0.0.0.0     vmk0       MANUAL\n',
    )
    expect(run(s, 'esxcfg-route')).toEqual({
      stdout: 'VMkernel default gateway is 127.0.10.1\n',
      stderr: '',
      code: 0,
    })
    expect(run(s, 'esxcfg-route 127.0.10.254').code).toBe(0)
    expect(run(s, 'esxcfg-route').stdout).toBe('VMkernel default gateway is 127.0.10.254\n')
    expect(s.routes.filter((r) => r.network === 'default')).toHaveLength(1)
    expect(run(s, 'esxcfg-route -l').stdout).toContain('127.0.10.254')
  })

  it('a gateway outside every vmknic subnet: "Unable to set VMkernel gateway", nothing changes', () => {
    managed(s)
    const before = structuredClone(s.routes)
    const viaEsxcli = run(
      s,
      'esxcli network ip route ipv4 add --gateway 10.0.0.1 --network 10.1.0.0/16',
    )
    expect(viaEsxcli.code).toBe(1)
    expect(text(viaEsxcli)).toMatch(/^Error: Unable to set VMkernel gateway to 10\.0\.0\.1/)
    const viaEsxcfg = run(s, 'esxcfg-route 10.0.0.1')
    expect(viaEsxcfg.code).toBe(1)
    expect(text(viaEsxcfg)).toMatch(/^Unable to set VMkernel gateway/)
    expect(s.routes).toEqual(before)
  })

  it('management VLAN on the port group (0-4095)', () => {
    expect(
      run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v 100').code,
    ).toBe(0)
    expect(run(s, 'esxcli network vswitch standard portgroup list').stdout).toBe(
      'Name                Virtual Switch  Active Clients  VLAN ID\n' +
        '------------------  --------------  --------------  -------\n' +
        'VM Network          vSwitch0                     0        0\n' +
        'Management Network  vSwitch0                     1      100\n',
    )
    expect(
      run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v 4096').code,
    ).toBe(1)
    expect(s.portgroups.find((p) => p.name === 'Management Network')?.vlanId).toBe(100)
  })

  it('vSwitch: add, MTU, uplinks added and removed; port groups added and removed', () => {
    run(s, 'esxcli network vswitch standard add -v vSwitch1')
    run(s, 'esxcli network vswitch standard uplink add -u vmnic1 -v vSwitch1')
    run(s, 'esxcli network vswitch standard set -v vSwitch1 -m 9000')
    run(s, 'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch1')
    const list = run(s, 'esxcli network vswitch standard list -v vSwitch1').stdout
    expect(list).toMatch(/^vSwitch1\n {3}Name: vSwitch1\n/)
    expect(list).toContain('   MTU: 9000\n')
    expect(list).toContain('   Uplinks: vmnic1\n   Portgroups: vMotion\n')
    expect(run(s, 'esxcli network vswitch standard set -v vSwitch1 -m 9001').code).toBe(1)
    expect(run(s, 'esxcli network vswitch standard uplink remove -u vmnic1 -v vSwitch1').code).toBe(
      0,
    )
    expect(
      run(s, 'esxcli network vswitch standard portgroup remove -p vMotion -v vSwitch1').code,
    ).toBe(0)
    expect(run(s, 'esxcli network vswitch standard list -v vSwitch1').stdout).toContain(
      '   Uplinks: \n   Portgroups: \n',
    )
    expect(run(s, 'esxcli network vswitch standard remove -v vSwitch1').code).toBe(0)
    expect(s.vswitches.map((v) => v.name)).toEqual(['vSwitch0'])
  })

  it('vSwitch teaming (invented): active and standby uplinks, in failover order', () => {
    const failover = () => run(s, 'esxcli network vswitch standard policy failover get -v vSwitch0')
    expect(failover().stdout).toContain(
      '   Active Adapters: vmnic0\n   Standby Adapters: \n   Unused Adapters: \n',
    )
    run(s, 'esxcli network vswitch standard uplink add -u vmnic1 -v vSwitch0')
    expect(failover().stdout).toContain('   Active Adapters: vmnic0, vmnic1\n')
    expect(
      run(s, 'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic1 -s vmnic0')
        .code,
    ).toBe(0)
    expect(failover().stdout).toContain(
      '   Active Adapters: vmnic1\n   Standby Adapters: vmnic0\n   Unused Adapters: \n',
    )
    // A list given alone replaces its own list and takes its uplinks out of the other one.
    run(s, 'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic0,vmnic1')
    expect(failover().stdout).toContain(
      '   Active Adapters: vmnic0, vmnic1\n   Standby Adapters: \n   Unused Adapters: \n',
    )
    run(s, 'esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic1')
    expect(failover().stdout).toContain('   Unused Adapters: vmnic0\n')
    // A removed uplink leaves the failover order; an added one is active.
    run(s, 'esxcli network vswitch standard uplink remove -u vmnic0 -v vSwitch0')
    run(s, 'esxcli network vswitch standard uplink add -u vmnic0 -v vSwitch0')
    expect(failover().stdout).toContain('   Active Adapters: vmnic1, vmnic0\n')
    for (const bad of ['-a vmnic2', '-a vmnic0 -s vmnic0', '']) {
      expect(
        run(s, `esxcli network vswitch standard policy failover set -v vSwitch0 ${bad}`).code,
        bad,
      ).toBe(1)
    }
    expect(failover().stdout).toContain('   Active Adapters: vmnic1, vmnic0\n')
    expect(
      isWriteCommand('esxcli network vswitch standard policy failover set -v vSwitch0 -a vmnic0'),
    ).toBe(true)
    expect(isWriteCommand('esxcli network vswitch standard policy failover get -v vSwitch0')).toBe(
      false,
    )
  })

  it('VMkernel NIC: add on a port group, static or DHCP address, MTU, tags', () => {
    run(s, 'esxcli network vswitch standard portgroup add -p vMotion -v vSwitch0')
    expect(run(s, 'esxcli network ip interface add -i vmk1 -p vMotion').code).toBe(0)
    run(s, 'esxcli network ip interface ipv4 set -i vmk1 -t static -I 127.0.11.10 -N 255.255.255.0')
    expect(run(s, 'esxcli network ip interface ipv4 get -i vmk1').stdout).toContain(
      'vmk1  127.0.11.10   255.255.255.0  127.0.11.255    STATIC',
    )
    expect(run(s, 'esxcli network ip interface set -i vmk1 -m 9000').code).toBe(0)
    expect(run(s, 'esxcli network ip interface list').stdout).toMatch(
      /vmk1\n {3}Name: vmk1\n[\s\S]* {3}Portgroup: vMotion\n[\s\S]* {3}MTU: 9000\n/,
    )
    for (const tag of ['VMotion', 'vSphereProvisioning', 'faultToleranceLogging', 'vSAN']) {
      expect(run(s, `esxcli network ip interface tag add -i vmk1 -t ${tag}`).code).toBe(0)
    }
    expect(run(s, 'esxcli network ip interface tag get -i vmk1').stdout).toBe(
      '   Tags: VMotion, vSphereProvisioning, faultToleranceLogging, vSAN\n',
    )
    run(s, 'esxcli network ip interface tag remove -i vmk1 -t vSAN')
    expect(s.vmknics[1]?.tags).toEqual(['VMotion', 'vSphereProvisioning', 'faultToleranceLogging'])

    // DHCP: the lease the network hands out, or no address when nothing answers.
    s.dhcpLeases.vmk1 = { address: '127.0.12.50', netmask: '255.255.255.0', gateway: '127.0.12.1' }
    run(s, 'esxcli network ip interface ipv4 set -i vmk1 -t dhcp')
    expect(run(s, 'esxcli network ip interface ipv4 get -i vmk1').stdout).toContain(
      'vmk1  127.0.12.50   255.255.255.0  127.0.12.255    DHCP',
    )
    expect(run(s, 'esxcli network ip interface ipv4 get -i vmk1').stdout).toMatch(/ true\n$/)
    expect(run(s, 'esxcli network ip route ipv4 list').stdout).toContain(
      'default     0.0.0.0        127.0.12.1  vmk1       DHCP\n',
    )
    delete s.dhcpLeases.vmk1
    run(s, 'esxcli network ip interface ipv4 set -i vmk1 -t dhcp')
    expect(s.vmknics[1]?.ipv4).toMatchObject({ address: '0.0.0.0', type: 'DHCP' })
    expect(run(s, 'esxcli network ip interface remove -i vmk1').code).toBe(0)
    expect(s.vmknics.map((v) => v.name)).toEqual(['vmk0'])
  })

  it('NTP: reset, servers, enabled, and the ntpClient ruleset', () => {
    run(s, 'esxcli system ntp set -s 127.0.0.200 -e true')
    expect(run(s, 'esxcli system ntp set --reset').code).toBe(0)
    expect(run(s, 'esxcli system ntp get').stdout).toBe('   Enabled: false\n   Servers: \n')
    run(s, 'esxcli system ntp set -s 0.pool.ntp.org -s 127.0.0.123')
    run(s, 'esxcli system ntp set -e true')
    run(s, 'esxcli network firewall ruleset set -r ntpClient -e true')
    expect(run(s, 'esxcli system ntp get').stdout).toBe(
      '   Enabled: true\n   Servers: 0.pool.ntp.org, 127.0.0.123\n',
    )
    expect(
      run(s, 'esxcli network firewall ruleset list -r ntpClient').stdout.split('\n')[2],
    ).toMatch(/^ntpClient +true$/)
  })

  it('syslog: loghost and logdir, reload, the syslog ruleset; the advanced options agree', () => {
    expect(run(s, "esxcli system syslog config set --loghost='udp://127.0.0.5:514'").code).toBe(0)
    expect(
      run(s, 'esxcli system syslog config set --logdir=/vmfs/volumes/datastore1/logs').code,
    ).toBe(0)
    expect(run(s, 'esxcli system syslog reload')).toEqual({ stdout: '', stderr: '', code: 0 })
    run(s, 'esxcli network firewall ruleset set -r syslog -e true')
    const get = run(s, 'esxcli system syslog config get').stdout
    expect(get).toContain('   Remote Host: udp://127.0.0.5:514\n')
    expect(get).toContain('   Local Log Output: /vmfs/volumes/datastore1/logs\n')
    expect(get).toContain('   Local Log Output Is Configured: true\n')
    expect(s.firewall.rulesets.syslog).toBe(true)
    expect(
      run(s, 'esxcli system settings advanced list -o /Syslog/global/logDir').stdout,
    ).toContain('   String Value: /vmfs/volumes/datastore1/logs\n')
    expect(run(s, 'esxcli system syslog config set --loghost=udp://').code).toBe(1)
    expect(run(s, 'esxcli system syslog config set --logdir=relative/dir').code).toBe(1)
    run(s, "esxcli system syslog config set --loghost=''")
    expect(run(s, 'esxcli system syslog config get').stdout).toContain('   Remote Host: <none>\n')
  })

  it('SSH and ESXi Shell services, read back through their init scripts', () => {
    expect(run(s, '/etc/init.d/SSH status')).toEqual({
      stdout: 'SSH is not running\n',
      stderr: '',
      code: 3,
    })
    for (const c of ['enable_ssh', 'start_ssh', 'enable_esx_shell', 'start_esx_shell']) {
      expect(run(s, `vim-cmd hostsvc/${c}`).code).toBe(0)
    }
    expect(run(s, '/etc/init.d/SSH status')).toEqual({
      stdout: 'SSH is running\n',
      stderr: '',
      code: 0,
    })
    expect(run(s, '/etc/init.d/ESXShell status').stdout).toBe('ESXShell is running\n')
    for (const c of ['stop_esx_shell', 'disable_esx_shell', 'stop_ssh', 'disable_ssh']) {
      expect(run(s, `vim-cmd hostsvc/${c}`).code).toBe(0)
    }
    expect(run(s, '/etc/init.d/ESXShell status').code).toBe(3)
    expect(s.services).toEqual({
      ssh: { enabled: false, running: false },
      esxShell: { enabled: false, running: false },
    })
  })

  it('maintenance mode', () => {
    run(s, 'esxcli system maintenanceMode set -e true')
    expect(run(s, 'esxcli system maintenanceMode get').stdout).toBe('Enabled\n')
    run(s, 'esxcli system maintenanceMode set --enable false')
    expect(run(s, 'esxcli system maintenanceMode get').stdout).toBe('Disabled\n')
  })

  it('root password: only one that meets the rules is taken', () => {
    expect(run(s, "esxcli system account set -i root -p 'Weak1' -c 'Weak1'").code).toBe(1)
    expect(s.rootPassword).toBeNull()
    expect(run(s, "esxcli system account set -i root -p 'N3w-Pa55!' -c 'N3w-Pa55!'").code).toBe(0)
    expect(s.rootPassword).toBe('N3w-Pa55!')
  })

  it('advanced settings: integer with -i, string with -s, read back with list -o', () => {
    run(s, 'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1')
    expect(
      run(s, 'esxcli system settings advanced list -o /UserVars/SuppressShellWarning').stdout,
    ).toContain('   Int Value: 1\n')
    run(s, 'esxcli system settings advanced set -o /Net/TcpipHeapMax -i 1536')
    expect(run(s, 'esxcli system settings advanced list -o /Net/TcpipHeapMax').stdout).toContain(
      '   Int Value: 1536\n   Default Int Value: 1024\n',
    )
    run(s, 'esxcli system settings advanced set -o /Syslog/global/logHost -s udp://127.0.0.5:514')
    expect(s.syslog.remoteHost).toBe('udp://127.0.0.5:514')
    // The wrong value type for the option, or one out of its range, changes nothing.
    expect(run(s, 'esxcli system settings advanced set -o /Net/TcpipHeapMax -s big').code).toBe(1)
    expect(run(s, 'esxcli system settings advanced set -o /Syslog/global/logHost -i 1').code).toBe(
      1,
    )
    expect(
      run(s, 'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 2').code,
    ).toBe(1)
    expect(run(s, 'esxcli system settings advanced set -o /Net/TcpipHeapMax -i x').code).toBe(1)
    expect(s.advanced['/Net/TcpipHeapMax']).toBe(1536)
    expect(run(s, 'esxcli system settings advanced set -o /No/Such/Option -i 1').code).toBe(1)
    run(s, 'esxcli system settings advanced set -o /Net/TcpipHeapMax --default')
    expect(s.advanced['/Net/TcpipHeapMax']).toBe(1024)
  })

  it('firewall ruleset, refresh and get', () => {
    expect(run(s, 'esxcli network firewall ruleset set -r sshServer -e true').code).toBe(0)
    expect(run(s, 'esxcli network firewall refresh').code).toBe(0)
    expect(run(s, 'esxcli network firewall get').stdout).toBe(
      '   Default Action: DROP\n   Enabled: true\n   Loaded: true\n',
    )
  })
})

describe('unconfirmed behaviours are quirks', () => {
  it('ntp set -s replaces the servers, or appends to them', () => {
    const s = defaultState()
    run(s, 'esxcli system ntp set -s 127.0.0.1 -s 127.0.0.2')
    run(s, 'esxcli system ntp set -s 127.0.0.3')
    expect(s.ntp.servers).toEqual(['127.0.0.3'])
    s.quirks.ntpSetServers = 'append'
    run(s, 'esxcli system ntp set -s 127.0.0.4 -s 127.0.0.3')
    expect(s.ntp.servers).toEqual(['127.0.0.3', '127.0.0.4'])
    // --reset then -s gives the same list either way: why public scripts reset first.
    run(s, 'esxcli system ntp set --reset')
    run(s, 'esxcli system ntp set -s 127.0.0.5')
    expect(s.ntp.servers).toEqual(['127.0.0.5'])
  })

  it('a duplicate search domain or default route add fails, is a no-op, or adds a second copy', () => {
    const s = managed(defaultState())
    run(s, 'esxcli network ip dns search add -d lab.local')
    expect(run(s, 'esxcli network ip dns search add -d lab.local').code).toBe(1)
    expect(run(s, 'esxcli network ip route ipv4 add -g 127.0.10.1 -n default').code).toBe(1)
    s.quirks.duplicates = 'ignore'
    expect(run(s, 'esxcli network ip dns search add -d lab.local').code).toBe(0)
    // A second default route is not a replacement: the old gateway stays.
    expect(run(s, 'esxcli network ip route ipv4 add -g 127.0.10.254 -n default').code).toBe(0)
    expect(s.dns.search).toEqual(['lab.local'])
    expect(run(s, 'esxcfg-route').stdout).toBe('VMkernel default gateway is 127.0.10.1\n')
    s.quirks.duplicates = 'append'
    expect(run(s, 'esxcli network ip dns search add -d lab.local').code).toBe(0)
    expect(run(s, 'esxcli network ip dns server add -s 10.0.0.2').code).toBe(0)
    expect(run(s, 'esxcli network ip dns server add -s 10.0.0.2').code).toBe(0)
    expect(run(s, 'esxcli network ip route ipv4 add -g 127.0.10.254 -n default').code).toBe(0)
    expect(s.dns).toEqual({ servers: ['10.0.0.2', '10.0.0.2'], search: ['lab.local', 'lab.local'] })
    expect(s.routes.map((r) => [r.network, r.gateway])).toEqual([
      ['default', '127.0.10.1'],
      ['default', '127.0.10.254'],
    ])
    // A removal takes every copy; one of what is not there does nothing.
    expect(run(s, 'esxcli network ip dns search remove -d lab.local').code).toBe(0)
    expect(run(s, 'esxcli network ip dns search remove -d lab.local').code).toBe(0)
    expect(s.dns.search).toEqual([])
  })
})

describe('the management network', () => {
  it('moving vmk0 to another subnet drops routes whose gateway it can no longer reach', () => {
    const s = managed(defaultState())
    run(s, 'esxcli network ip interface ipv4 set -i vmk0 -t static -I 127.0.20.10 -N 255.255.255.0')
    expect(run(s, 'esxcfg-route').stdout).toBe('VMkernel default gateway is not set\n')
    run(s, 'esxcli network ip route ipv4 add --gateway 127.0.20.1 --network default')
    expect(run(s, 'esxcfg-route').stdout).toBe('VMkernel default gateway is 127.0.20.1\n')
    expect(run(s, 'esxcli network ip route ipv4 remove -g 127.0.20.1 -n default').code).toBe(0)
    expect(s.routes).toEqual([])
  })

  it('counts every change of the management address, also one that is undone', () => {
    const s = managed(defaultState())
    const before = s.managementChanges
    run(s, 'esxcli network ip interface ipv4 set -i vmk0 -t static -I 127.0.20.10 -N 255.255.255.0')
    run(s, 'esxcli network ip interface ipv4 set -i vmk0 -t static -I 127.0.10.10 -N 255.255.255.0')
    expect(managementAddress(s)).toBe('127.0.10.10')
    expect(s.managementChanges).toBe(before + 2)
    // A netmask change keeps the address; a disabled vmk0 has none to reach.
    run(s, 'esxcli network ip interface ipv4 set -i vmk0 -t static -I 127.0.10.10 -N 255.255.0.0')
    expect(s.managementChanges).toBe(before + 2)
    run(s, 'esxcli network ip interface set -e false -i vmk0')
    expect(managementAddress(s)).toBeNull()
    run(s, 'esxcli network ip interface set -e true -i vmk0')
    expect(managementAddress(s)).toBe('127.0.10.10')
    expect(s.managementChanges).toBe(before + 4)
  })

  it('a management VLAN that does not reach Midwife leaves the host unreachable', () => {
    const s = managed(defaultState({ managementVlans: [0, 100] }))
    run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v 100')
    expect(managementAddress(s)).toBe('127.0.10.10')
    run(s, 'esxcli network vswitch standard portgroup set -p "Management Network" -v 200')
    expect(managementAddress(s)).toBeNull()
  })
})

describe('vmkping (invented: not in esxi.md)', () => {
  let s: SimState
  beforeEach(() => {
    s = managed(defaultState({ reachable: ['127.0.10.1', '127.0.99.9'] }))
  })

  it('a reachable gateway answers every packet', () => {
    expect(run(s, 'vmkping -I vmk0 -c 2 -W 1 127.0.10.1')).toEqual({
      stdout:
        'PING 127.0.10.1 (127.0.10.1): 56 data bytes\n' +
        '64 bytes from 127.0.10.1: icmp_seq=0 ttl=64 time=0.102 ms\n' +
        '64 bytes from 127.0.10.1: icmp_seq=1 ttl=64 time=0.102 ms\n' +
        '\n' +
        '--- 127.0.10.1 ping statistics ---\n' +
        '2 packets transmitted, 2 packets received, 0% packet loss\n' +
        'round-trip min/avg/max = 0.102/0.102/0.102 ms\n',
      stderr: '',
      code: 0,
    })
    // Beyond the gateway, through the default route.
    expect(run(s, 'vmkping -I vmk0 -c 1 127.0.99.9').code).toBe(0)
  })

  it('an address not in the state does not answer', () => {
    const r = run(s, 'vmkping -I vmk0 -c 3 -W 1 127.0.10.254')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('3 packets transmitted, 0 packets received, 100% packet loss\n')
  })

  it('a packet larger than the vmknic MTU with don’t-fragment does not go out', () => {
    expect(run(s, 'vmkping -I vmk0 -d -s 1472 -c 1 127.0.10.1').code).toBe(0)
    const big = run(s, 'vmkping -I vmk0 -d -s 8972 -c 1 127.0.10.1')
    expect(big.code).toBe(1)
    expect(big.stdout).toContain('sendto() failed (Message too long)\n')
  })

  it('bad arguments and unknown interfaces fail', () => {
    expect(run(s, 'vmkping -I vmk7 127.0.10.1').code).toBe(1)
    expect(run(s, 'vmkping -x 127.0.10.1').code).toBe(1)
    expect(run(s, 'vmkping -I vmk0').code).toBe(1)
  })

  it('the quirk removes it: the shell does not find it', () => {
    s.quirks.vmkping = 'absent'
    const logged = s.log.length
    expect(run(s, 'vmkping -I vmk0 -c 1 127.0.10.1')).toEqual({
      stdout: '',
      stderr: 'sh: vmkping: not found\n',
      code: 127,
    })
    expect(s.log.length).toBe(logged)
  })
})

describe('root password rules (esxi.md)', () => {
  it.each([
    ['Sh0rt!', /at least 7/],
    ['A'.repeat(20) + 'b'.repeat(18) + '1!', /at most 39/],
    ['alllowercase', /3 of/],
    // A leading capital and a trailing digit do not count as classes.
    ['Password1', /3 of/],
    ['Abcdefg1', /3 of/],
    ['pAssword1', /3 of/],
    ['xRootx9!Y', /user name/],
  ])('%s is refused', (pw, why) => {
    expect(passwordProblem(pw)).toMatch(why)
    const s = defaultState()
    const r = run(s, `esxcli system account set -i root -p '${pw}' -c '${pw}'`)
    expect(r.code).toBe(1)
    expect(text(r)).toMatch(/^Error: Password does not meet the password policy requirements: /)
    expect(text(r)).not.toContain(pw)
    expect(s.rootPassword).toBeNull()
  })

  it.each(['pAssw0rd', 'passWord!', 'Pass-w0rd', '1passWORD', 'a'.repeat(35) + 'B1-c'])(
    '%s is taken',
    (pw) => {
      expect(passwordProblem(pw)).toBeNull()
    },
  )

  it('a password without its confirmation, or with a different one, is refused', () => {
    const s = defaultState()
    expect(run(s, "esxcli system account set -i root -p 'N3w-Pa55!'").code).toBe(1)
    expect(run(s, "esxcli system account set -i root -p 'N3w-Pa55!' -c 'N3w-Pa55?'").code).toBe(1)
    expect(s.rootPassword).toBeNull()
  })
})

describe('the command log tells writes from reads', () => {
  it.each([
    ['esxcli system hostname get', false],
    ['esxcli --formatter=keyvalue system version get', false],
    ['esxcli network ip route ipv4 list', false],
    ['esxcli system settings advanced list -o /Net/TcpipHeapMax', false],
    ['esxcli system hostname set --host=esx01', true],
    ['esxcli network ip dns server add --server=127.0.0.1', true],
    ['esxcli system ntp set --reset', true],
    ['esxcli system syslog reload', true],
    ['localcli network firewall ruleset set -r syslog -e true', true],
    ['esxcli no such command', false],
    ['vim-cmd hostsvc/start_ssh', true],
    ['vim-cmd vimsvc/license --show', false],
    ['vim-cmd vimsvc/license --set AAAAA-BBBBB-CCCCC-DDDDD-EEEEE', true],
    ['esxcfg-route', false],
    ['esxcfg-route -l', false],
    ['esxcfg-route 127.0.0.1', true],
    ['vmkping -I vmk0 -c 1 127.0.0.1', false],
    ['/etc/init.d/SSH status', false],
    ['/etc/init.d/SSH stop', true],
    ['vsish -e get /system/bootCmdLine', false],
    ['vmware -v', false],
  ])('%s: write=%s', (line, write) => {
    expect(isWriteCommand(line)).toBe(write)
  })

  it('a re-run that reads only shows no writes', () => {
    const s = defaultState()
    run(s, 'esxcli system hostname set --host=esx01')
    const mark = s.log.length
    run(s, 'esxcli system hostname get')
    run(s, 'esxcli network ip dns server list')
    expect(writeCommands(s.log.slice(mark))).toEqual([])
    expect(writeCommands(s.log)).toEqual(['esxcli system hostname set --host=esx01'])
  })
})

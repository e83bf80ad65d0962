import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  bootMacFrom,
  normalizeMac,
  normalizeUuid,
  parseBlocks,
  parseBootOptions,
  parseHostname,
  parseIpv4Interfaces,
  parseKeyValues,
  parseList,
  parseNicList,
  parseNtp,
  parsePlatform,
  parseRulesets,
  parseTable,
  parseVersion,
} from '../../main/catalogue/parse'
import { fingerprint, parsePublicKeyLine } from '../../main/core/esxi/ssh-keys'

// Fixtures copied verbatim from /work/shared/reference/esxi.md.
const NIC_LIST =
  'Name    PCI Device    Driver    Admin Status  Link Status  Speed  Duplex  MAC Address         MTU  Description\n' +
  '------  ------------  --------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
  'vmnic0  0000:02:01.0  nvmxnet3  Up            Up           10000  Full    00:50:56:b3:b9:89  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n'

const PLATFORM =
  'Platform Information\n' +
  '   UUID: 0xff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13 0x25 0x99\n' +
  '   Product Name: VMware20,1\n' +
  '   Vendor Name: VMware, Inc.\n' +
  '   Serial Number: VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99\n' +
  '   Enclosure Serial Number: None\n' +
  '   BIOS Asset Tag: No Asset Tag\n' +
  '   IPMI Supported: false\n'

const VERSION =
  '   Product: VMware ESXi\n' +
  '   Version: 8.0.2\n' +
  '   Build: Releasebuild-22380479\n' +
  '   Update: 2\n' +
  '   Patch: 0\n'

const IPV4 =
  'Name  IPv4 Address   IPv4 Netmask   IPv4 Broadcast  Address Type  Gateway      DHCP DNS\n' +
  '----  -------------  -------------  --------------  ------------  -----------  --------\n' +
  'vmk0  172.30.30.176  255.255.255.0  172.30.30.255   STATIC        172.30.30.1     false\n'

const HOSTNAME =
  '   Domain Name: lab.local\n' +
  '   Fully Qualified Domain Name: esx01.lab.local\n' +
  '   Host Name: esx01\n'

const DNS_LIST = '   DNSServers: 192.168.76.2, 8.8.8.8\n'

const NTP_GET = '   Enabled: true\n   Servers: a, b\n'

describe('parseTable', () => {
  it('reads the nic list of esxi.md, keeping the long Description whole', () => {
    expect(parseTable(NIC_LIST)).toEqual([
      {
        Name: 'vmnic0',
        'PCI Device': '0000:02:01.0',
        Driver: 'nvmxnet3',
        'Admin Status': 'Up',
        'Link Status': 'Up',
        Speed: '10000',
        Duplex: 'Full',
        'MAC Address': '00:50:56:b3:b9:89',
        MTU: '1500',
        Description: 'VMware Inc. vmxnet3 Virtual Ethernet Controller',
      },
    ])
  })

  it('takes column spans from the dashed line, so wider columns move every later column', () => {
    const wide =
      'Name     PCI Device    Driver  Admin Status  Link Status  Speed  Duplex  MAC Address         MTU   Description\n' +
      '-------  ------------  ------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
      'vmnic0   0000:18:00.0  ixgben  Up            Up           10000  Full    3c:fd:fe:00:00:01  9000  Intel(R) Ethernet Controller X710 for 10GbE SFP+\n' +
      'vmnic10  0000:3b:00.1  ixgben  Up            Down             0  Half    3c:fd:fe:00:00:0a  1500  Intel(R) Ethernet Controller X710 for 10GbE SFP+\n'
    const rows = parseTable(wide)
    expect(
      rows.map((r) => [r['Name'], r['Driver'], r['Link Status'], r['Speed'], r['MTU']]),
    ).toEqual([
      ['vmnic0', 'ixgben', 'Up', '10000', '9000'],
      ['vmnic10', 'ixgben', 'Down', '0', '1500'],
    ])
    expect(rows[1]?.['MAC Address']).toBe('3c:fd:fe:00:00:0a')
    expect(rows[1]?.['Description']).toBe('Intel(R) Ethernet Controller X710 for 10GbE SFP+')
  })

  it('reads a narrow table whose columns are only as wide as their headers', () => {
    const narrow =
      'Name    PCI Device    Driver  Admin Status  Link Status  Speed  Duplex  MAC Address         MTU  Description\n' +
      '------  ------------  ------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
      'vmnic0  0000:00:03.0  e1000   Up            Up            1000  Full    00:0c:29:01:02:03  1500  Intel 82545EM\n'
    expect(parseTable(narrow)).toEqual([
      {
        Name: 'vmnic0',
        'PCI Device': '0000:00:03.0',
        Driver: 'e1000',
        'Admin Status': 'Up',
        'Link Status': 'Up',
        Speed: '1000',
        Duplex: 'Full',
        'MAC Address': '00:0c:29:01:02:03',
        MTU: '1500',
        Description: 'Intel 82545EM',
      },
    ])
  })

  it('reads a row wider than its dashes by the runs of spaces between its cells', () => {
    // Dashes as wide as the headers only, values separated by two spaces: a
    // column cut on the dashed line would split "0000:02:01.0" and the MAC.
    const loose =
      'Name  PCI Device  Driver  Admin Status  Link Status  Speed  Duplex  MAC Address  MTU  Description\n' +
      '----  ----------  ------  ------------  -----------  -----  ------  -----------  ---  -----------\n' +
      'vmnic0  0000:02:01.0  nvmxnet3  Up  Up  10000  Full  00:50:56:b3:b9:89  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n' +
      'vmnic1  0000:03:00.0  e1000     Up            Up           1000   Full    00:50:56:b3:b9:8a   1500  Intel 82545EM\n'
    expect(parseNicList(loose)).toEqual([
      { name: 'vmnic0', mac: '00:50:56:b3:b9:89', driver: 'nvmxnet3', link: 'Up', speed: '10000' },
      { name: 'vmnic1', mac: '00:50:56:b3:b9:8a', driver: 'e1000', link: 'Up', speed: '1000' },
    ])
    expect(parseTable(loose)[0]?.['Description']).toBe(
      'VMware Inc. vmxnet3 Virtual Ethernet Controller',
    )
  })

  it('reads the management address from an ipv4 row wider than its dashes', () => {
    const loose =
      'Name  IPv4 Address  IPv4 Netmask  IPv4 Broadcast  Address Type  Gateway  DHCP DNS\n' +
      '----  ------------  ------------  --------------  ------------  -------  --------\n' +
      'vmk0  172.30.30.176  255.255.255.0  172.30.30.255  STATIC  172.30.30.1  false\n'
    expect(parseIpv4Interfaces(loose)).toEqual([
      {
        name: 'vmk0',
        address: '172.30.30.176',
        netmask: '255.255.255.0',
        gateway: '172.30.30.1',
        type: 'STATIC',
      },
    ])
  })

  it('keeps an empty cell empty instead of shifting the next value into it', () => {
    const text =
      IPV4 +
      'vmk1  10.0.0.5       255.255.255.0  10.0.0.255      STATIC                        false\n'
    const rows = parseTable(text)
    expect(rows).toHaveLength(2)
    expect(rows[1]).toEqual({
      Name: 'vmk1',
      'IPv4 Address': '10.0.0.5',
      'IPv4 Netmask': '255.255.255.0',
      'IPv4 Broadcast': '10.0.0.255',
      'Address Type': 'STATIC',
      Gateway: '',
      'DHCP DNS': 'false',
    })
  })

  it('ignores blank lines and gives nothing for text without a dashed line', () => {
    expect(parseTable(`\n${NIC_LIST}\n\n`)).toHaveLength(1)
    expect(parseTable('Error: Unknown command or namespace network nic lst\n')).toEqual([])
    expect(parseTable('')).toEqual([])
    // A dashed line with no header above it is not a table.
    expect(parseTable('----  ----\nvmk0  x\n')).toEqual([])
  })

  it('reads a table with CRLF line ends', () => {
    expect(parseTable(NIC_LIST.replace(/\n/g, '\r\n'))[0]?.['Description']).toBe(
      'VMware Inc. vmxnet3 Virtual Ethernet Controller',
    )
  })
})

describe('parseNicList', () => {
  it('reads the esxi.md sample', () => {
    expect(parseNicList(NIC_LIST)).toEqual([
      { name: 'vmnic0', mac: '00:50:56:b3:b9:89', driver: 'nvmxnet3', link: 'Up', speed: '10000' },
    ])
  })

  it('reads several NICs, a down link and a description with spaces', () => {
    const text =
      'Name    PCI Device    Driver    Admin Status  Link Status  Speed  Duplex  MAC Address         MTU  Description\n' +
      '------  ------------  --------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
      'vmnic0  0000:02:01.0  nvmxnet3  Up            Up           10000  Full    00:50:56:B3:B9:89  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n' +
      'vmnic1  0000:03:01.0  nvmxnet3  Up            Down             0  Half    00:50:56:b3:b9:8a  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n' +
      'vmnic2  0000:04:01.0            Down          Down             0  Half    00:50:56:b3:b9:8b  1500  Unknown device\n'
    expect(parseNicList(text)).toEqual([
      { name: 'vmnic0', mac: '00:50:56:b3:b9:89', driver: 'nvmxnet3', link: 'Up', speed: '10000' },
      { name: 'vmnic1', mac: '00:50:56:b3:b9:8a', driver: 'nvmxnet3', link: 'Down', speed: '0' },
      { name: 'vmnic2', mac: '00:50:56:b3:b9:8b', link: 'Down', speed: '0' },
    ])
  })

  it('drops rows without a valid MAC', () => {
    const text =
      'Name    PCI Device    Driver    Admin Status  Link Status  Speed  Duplex  MAC Address         MTU  Description\n' +
      '------  ------------  --------  ------------  -----------  -----  ------  -----------------  ----  -----------\n' +
      'vmnic0  0000:02:01.0  nvmxnet3  Up            Up           10000  Full    00:50:56:b3:b9:89  1500  VMware Inc. vmxnet3 Virtual Ethernet Controller\n' +
      'vmnic9  0000:09:00.0  nvmxnet3  Up            Up           10000  Full    N/A                1500  Broken\n'
    expect(parseNicList(text).map((n) => n.name)).toEqual(['vmnic0'])
  })

  it('gives no NICs for an error message', () => {
    expect(parseNicList('sh: esxcli: not found\n')).toEqual([])
  })
})

describe('parseKeyValues and parseList', () => {
  it('reads indented Key: value lines and skips the title, which has no colon', () => {
    const kv = parseKeyValues(PLATFORM)
    expect(kv['Product Name']).toBe('VMware20,1')
    expect(kv['Vendor Name']).toBe('VMware, Inc.')
    expect(kv['IPMI Supported']).toBe('false')
    expect(kv['Platform Information']).toBeUndefined()
    expect(Object.keys(kv)).toEqual([
      'UUID',
      'Product Name',
      'Vendor Name',
      'Serial Number',
      'Enclosure Serial Number',
      'BIOS Asset Tag',
      'IPMI Supported',
    ])
  })

  it('reads the DNS server list of esxi.md', () => {
    expect(parseList(parseKeyValues(DNS_LIST)['DNSServers'])).toEqual(['192.168.76.2', '8.8.8.8'])
  })

  it('reads empty and <none> lists as no entries', () => {
    expect(parseKeyValues('   DNSServers: \n')).toEqual({ DNSServers: '' })
    expect(parseList(parseKeyValues('   DNSServers: \n')['DNSServers'])).toEqual([])
    expect(parseList('<none>')).toEqual([])
    expect(parseList(undefined)).toEqual([])
    expect(parseList('')).toEqual([])
    expect(parseList('a,, b ,')).toEqual(['a', 'b'])
  })

  it('reads the other spellings of an empty list as no entries (esxi.md shows only full lists)', () => {
    for (const nothing of ['None', 'none', '(none)', '<NONE>', 'N/A', 'n/a', '-']) {
      expect(
        parseList(parseKeyValues(`   DNSServers: ${nothing}\n`)['DNSServers']),
        nothing,
      ).toEqual([])
    }
    // Only as the whole value: a name that merely contains one is an entry.
    expect(parseList('none.lab.local, -a')).toEqual(['none.lab.local', '-a'])
  })

  it('reads the DNS search list, whose key has a space', () => {
    expect(
      parseList(
        parseKeyValues('   DNSSearch Domains: localdomain, lab.local\n')['DNSSearch Domains'],
      ),
    ).toEqual(['localdomain', 'lab.local'])
  })

  it('reads Key: value lines that are not indented, as a host may print them', () => {
    const flat = PLATFORM.split('\n')
      .map((l) => l.trimStart())
      .join('\n')
    expect(parseKeyValues(flat)).toEqual(parseKeyValues(PLATFORM))
    expect(parsePlatform(flat)).toEqual(parsePlatform(PLATFORM))
    expect(parseKeyValues('Enabled: true\nServers: a, b\n')).toEqual({
      Enabled: 'true',
      Servers: 'a, b',
    })
  })

  it('keeps colons inside a value', () => {
    expect(parseKeyValues('   Remote Host: udp://10.0.0.5:514\n')).toEqual({
      'Remote Host': 'udp://10.0.0.5:514',
    })
  })
})

describe('parseBlocks', () => {
  it('reads vswitch standard list: one block per switch, titled by its unindented line', () => {
    const text =
      'vSwitch0\n' +
      '   Name: vSwitch0\n' +
      '   Class: cswitch\n' +
      '   Num Ports: 2560\n' +
      '   Used Ports: 4\n' +
      '   Configured Ports: 128\n' +
      '   MTU: 1500\n' +
      '   CDP Status: listen\n' +
      '   Beacon Enabled: false\n' +
      '   Beacon Interval: 1\n' +
      '   Beacon Threshold: 3\n' +
      '   Beacon Required By: \n' +
      '   Uplinks: vmnic0\n' +
      '   Portgroups: VM Network, Management Network\n' +
      '\n' +
      'vSwitch1\n' +
      '   Name: vSwitch1\n' +
      '   Class: cswitch\n' +
      '   MTU: 9000\n' +
      '   Uplinks: vmnic2, vmnic3\n' +
      '   Portgroups: vMotion\n'
    const blocks = parseBlocks(text)
    expect(blocks).toHaveLength(2)
    expect(blocks[0]?.['']).toBe('vSwitch0')
    expect(blocks[0]?.['Name']).toBe('vSwitch0')
    expect(blocks[0]?.['MTU']).toBe('1500')
    expect(blocks[0]?.['Beacon Required By']).toBe('')
    expect(parseList(blocks[0]?.['Portgroups'])).toEqual(['VM Network', 'Management Network'])
    expect(blocks[1]).toEqual({
      '': 'vSwitch1',
      Name: 'vSwitch1',
      Class: 'cswitch',
      MTU: '9000',
      Uplinks: 'vmnic2, vmnic3',
      Portgroups: 'vMotion',
    })
  })

  it('reads blocks without title lines, as esxi.md shows them: a blank line or a repeated key opens the next', () => {
    const fields = (name: string, mtu: string) =>
      `   Name: ${name}\n   MTU: ${mtu}\n   Uplinks: vmnic0\n   Portgroups: VM Network\n`
    const two = [
      { Name: 'vSwitch0', MTU: '1500', Uplinks: 'vmnic0', Portgroups: 'VM Network' },
      { Name: 'vSwitch1', MTU: '9000', Uplinks: 'vmnic0', Portgroups: 'VM Network' },
    ]
    expect(parseBlocks(`${fields('vSwitch0', '1500')}\n${fields('vSwitch1', '9000')}`)).toEqual(two)
    expect(parseBlocks(fields('vSwitch0', '1500') + fields('vSwitch1', '9000'))).toEqual(two)
    // Not indented at all.
    expect(parseBlocks('Name: vSwitch0\nMTU: 1500\n\nName: vSwitch1\nMTU: 9000\n')).toEqual([
      { Name: 'vSwitch0', MTU: '1500' },
      { Name: 'vSwitch1', MTU: '9000' },
    ])
  })

  it('keeps a titled block whole across a blank line after its title', () => {
    expect(parseBlocks('vSwitch0\n\n   Name: vSwitch0\n   MTU: 1500\n')).toEqual([
      { '': 'vSwitch0', Name: 'vSwitch0', MTU: '1500' },
    ])
    expect(parseBlocks('')).toEqual([])
  })
})

describe('identity outputs', () => {
  it('platform get: the UUID loses its unpadded bytes, "None" becomes null', () => {
    expect(parsePlatform(PLATFORM)).toEqual({
      uuid: 'ff003342-dcd6-71ba-0a6a-f91c57132599',
      model: 'VMware20,1',
      vendor: 'VMware, Inc.',
      serial: 'VMware-42 33 00 ff d6 dc ba 71-0a 6a f9 1c 57 13 25 99',
    })
    expect(
      parsePlatform(
        'Platform Information\n   UUID: garbage\n   Product Name: None\n   Serial Number: None\n',
      ),
    ).toEqual({ uuid: null, model: null, vendor: null, serial: null })
  })

  it('normalizeUuid pads bytes, lower-cases, and refuses anything but 16 hex bytes', () => {
    expect(
      normalizeUuid(
        '0xff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13 0x25 0x99',
      ),
    ).toBe('ff003342-dcd6-71ba-0a6a-f91c57132599')
    expect(
      normalizeUuid('  0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9 0xA 0xB 0xC 0xD 0xE 0xF 0x10 '),
    ).toBe('01020304-0506-0708-090a-0b0c0d0e0f10')
    // 15 bytes
    expect(
      normalizeUuid('0xff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13 0x25'),
    ).toBe(null)
    // a three-digit byte
    expect(
      normalizeUuid(
        '0xfff 0x0 0x33 0x42 0xdc 0xd6 0x71 0xba 0xa 0x6a 0xf9 0x1c 0x57 0x13 0x25 0x99',
      ),
    ).toBe(null)
    expect(normalizeUuid('ff003342-dcd6-71ba-0a6a-f91c57132599')).toBe(null)
    expect(normalizeUuid('')).toBe(null)
  })

  it('system version get: version and bare build number, also with 9.0 Maintenance line', () => {
    expect(parseVersion(VERSION)).toEqual({ version: '8.0.2', build: '22380479' })
    expect(
      parseVersion(
        '   Product: VMware ESXi\n   Version: 9.0.0\n   Build: Releasebuild-24755229\n   Update: 0\n   Patch: 0\n   Maintenance: 0\n',
      ),
    ).toEqual({ version: '9.0.0', build: '24755229' })
    expect(parseVersion('')).toEqual({ version: null, build: null })
  })

  it('ipv4 get of esxi.md', () => {
    expect(parseIpv4Interfaces(IPV4)).toEqual([
      {
        name: 'vmk0',
        address: '172.30.30.176',
        netmask: '255.255.255.0',
        gateway: '172.30.30.1',
        type: 'STATIC',
      },
    ])
  })

  it('ipv4 get with an empty and a 0.0.0.0 gateway gives null gateways', () => {
    const text =
      'Name  IPv4 Address   IPv4 Netmask   IPv4 Broadcast  Address Type  Gateway      DHCP DNS\n' +
      '----  -------------  -------------  --------------  ------------  -----------  --------\n' +
      'vmk0  172.30.30.176  255.255.255.0  172.30.30.255   DHCP          0.0.0.0          true\n' +
      'vmk1  10.0.0.5       255.255.255.0  10.0.0.255      STATIC                        false\n'
    expect(parseIpv4Interfaces(text)).toEqual([
      {
        name: 'vmk0',
        address: '172.30.30.176',
        netmask: '255.255.255.0',
        gateway: null,
        type: 'DHCP',
      },
      {
        name: 'vmk1',
        address: '10.0.0.5',
        netmask: '255.255.255.0',
        gateway: null,
        type: 'STATIC',
      },
    ])
  })

  it('hostname get of esxi.md, and of a fresh host without a domain', () => {
    expect(parseHostname(HOSTNAME)).toEqual({
      host: 'esx01',
      domain: 'lab.local',
      fqdn: 'esx01.lab.local',
    })
    expect(
      parseHostname(
        '   Domain Name: \n   Fully Qualified Domain Name: localhost\n   Host Name: localhost\n',
      ),
    ).toEqual({ host: 'localhost', domain: '', fqdn: 'localhost' })
  })

  it('ntp get: enabled flag and servers; <none> and empty mean no servers', () => {
    expect(parseNtp(NTP_GET)).toEqual({ enabled: true, servers: ['a', 'b'] })
    expect(parseNtp('   Enabled: false\n   Servers: \n')).toEqual({ enabled: false, servers: [] })
    expect(parseNtp('   Enabled: false\n   Servers: <none>\n')).toEqual({
      enabled: false,
      servers: [],
    })
  })

  it('firewall ruleset list: right-aligned booleans, name -> enabled', () => {
    const text =
      'Name                Enabled\n' +
      '------------------  -------\n' +
      'sshServer              true\n' +
      'sshClient             false\n' +
      'httpClient            false\n' +
      'ntpClient             false\n' +
      'activeDirectoryAll    false\n' +
      'syslog                 true\n'
    expect(parseRulesets(text)).toEqual({
      sshServer: true,
      sshClient: false,
      httpClient: false,
      ntpClient: false,
      activeDirectoryAll: false,
      syslog: true,
    })
  })
})

describe('MACs and the boot command line', () => {
  it('normalizeMac accepts colon and hyphen forms in any case', () => {
    expect(normalizeMac('AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff')
    expect(normalizeMac(' 00:50:56:B3:B9:89 ')).toBe('00:50:56:b3:b9:89')
    expect(normalizeMac('00:50:56:b3:b9')).toBe(null)
    expect(normalizeMac('00:50:56:b3:b9:8g')).toBe(null)
    expect(normalizeMac('')).toBe(null)
  })

  it('reads BOOTIF from a command line full of other tokens', () => {
    const line =
      'boot command line: runweasel cdromBoot BOOTIF=01-aa-bb-cc-dd-ee-ff ks=http://10.0.0.1:8080/ks/abc.cfg?x=1 PBHOST=10.0.0.1:8080\n'
    const opts = parseBootOptions(line)
    expect(opts).toEqual({
      BOOTIF: '01-aa-bb-cc-dd-ee-ff',
      ks: 'http://10.0.0.1:8080/ks/abc.cfg?x=1',
      PBHOST: '10.0.0.1:8080',
    })
    expect(bootMacFrom(opts)).toBe('aa:bb:cc:dd:ee:ff')
  })

  it('reads a command line printed in quotes, as checkin.sh does', () => {
    expect(
      parseBootOptions('"runweasel PBHOST=10.0.0.1:8080 BOOTIF=01-aa-bb-cc-dd-ee-ff"\n'),
    ).toEqual({
      PBHOST: '10.0.0.1:8080',
      BOOTIF: '01-aa-bb-cc-dd-ee-ff',
    })
    expect(parseBootOptions("'BOOTIF=01-aa-bb-cc-dd-ee-ff'")).toEqual({
      BOOTIF: '01-aa-bb-cc-dd-ee-ff',
    })
  })

  it('reads a key glued to a label, a quote or a brace; a value keeps its colons', () => {
    expect(
      parseBootOptions('bootCmdLine:"BOOTIF=01-aa-bb-cc-dd-ee-ff ks=http://10.0.0.1:80/ks.cfg"\n'),
    ).toEqual({ BOOTIF: '01-aa-bb-cc-dd-ee-ff', ks: 'http://10.0.0.1:80/ks.cfg' })
    expect(parseBootOptions('cmdline:PBHOST=10.0.0.5:8080')).toEqual({ PBHOST: '10.0.0.5:8080' })
    expect(parseBootOptions("{('PBKEY=abc')}")).toEqual({ PBKEY: 'abc' })
    // No key left after the label, or one that is not a name: nothing.
    expect(parseBootOptions('label:=x tag:1a=2')).toEqual({})
  })

  it('upper-case BOOTIF is normalised; a missing or broken one gives null', () => {
    expect(bootMacFrom(parseBootOptions('BOOTIF=01-AA-BB-CC-DD-EE-0F'))).toBe('aa:bb:cc:dd:ee:0f')
    expect(bootMacFrom(parseBootOptions('runweasel cdromBoot'))).toBe(null)
    expect(bootMacFrom(parseBootOptions('BOOTIF=01-aa-bb'))).toBe(null)
    expect(bootMacFrom({})).toBe(null)
  })
})

describe('SSH public keys', () => {
  let dir: string | undefined

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  /** A real key pair from ssh-keygen, with its .pub line and OpenSSH's own fingerprint. */
  function keygen(args: string[]): { line: string; expected: string } {
    dir = mkdtempSync(join(tmpdir(), 'midwife-keys-'))
    const file = join(dir, 'k')
    execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', 'root@esx01', '-f', file])
    const line = readFileSync(`${file}.pub`, 'utf8').trim()
    const printed = execFileSync('ssh-keygen', ['-lf', `${file}.pub`, '-E', 'sha256'], {
      encoding: 'utf8',
    })
    const expected = printed.trim().split(/\s+/)[1] as string
    return { line, expected }
  }

  it('an ECDSA nistp256 key gets the fingerprint ssh-keygen prints', () => {
    const { line, expected } = keygen(['-t', 'ecdsa', '-b', '256'])
    expect(expected).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    const key = parsePublicKeyLine(line)
    expect(key.type).toBe('ecdsa-sha2-nistp256')
    expect(key.fingerprint).toBe(expected)
    expect(fingerprint(key.blob)).toBe(expected)
    expect(key.blob.equals(Buffer.from(line.split(' ')[1] as string, 'base64'))).toBe(true)
  })

  it('an RSA 2048 key gets the fingerprint ssh-keygen prints, with or without a comment', () => {
    const { line, expected } = keygen(['-t', 'rsa', '-b', '2048'])
    const key = parsePublicKeyLine(line)
    expect(key.type).toBe('ssh-rsa')
    expect(key.fingerprint).toBe(expected)
    const [type, b64] = line.split(' ') as [string, string]
    expect(parsePublicKeyLine(`  ${type}\t${b64}  \n`).fingerprint).toBe(expected)
  })

  it('refuses junk', () => {
    expect(() => parsePublicKeyLine('')).toThrow(Error)
    expect(() => parsePublicKeyLine('hello')).toThrow(/not an OpenSSH public key line/)
    expect(() => parsePublicKeyLine('ssh-rsa not!base64')).toThrow(/not an OpenSSH public key line/)
    expect(() => parsePublicKeyLine('not a key at all')).toThrow(Error)
    expect(() => parsePublicKeyLine('ssh-rsa AAAA')).toThrow(Error)
    expect(() => parsePublicKeyLine('ssh-rsa /////////////////////w==')).toThrow(Error)
  })

  it('refuses a key whose base64 was cut short', () => {
    const { line } = keygen(['-t', 'ecdsa', '-b', '256'])
    const [type, b64] = line.split(' ') as [string, string]
    // Cut inside the algorithm name.
    expect(() => parsePublicKeyLine(`${type} ${b64.slice(0, 20)}`)).toThrow(Error)
    // Cut after the name but before the end of the key material.
    expect(() => parsePublicKeyLine(`${type} ${b64.slice(0, 64)}`)).toThrow(Error)
    expect(() => parsePublicKeyLine(`${type} ${b64.slice(0, b64.length - 8)}`)).toThrow(Error)
  })

  it('refuses an RSA key cut short', () => {
    const { line } = keygen(['-t', 'rsa', '-b', '2048'])
    const [type, b64] = line.split(' ') as [string, string]
    expect(() => parsePublicKeyLine(`${type} ${b64.slice(0, 200)}`)).toThrow(Error)
  })

  it('refuses a line whose type word does not match its blob', () => {
    const { line } = keygen(['-t', 'ecdsa', '-b', '256'])
    const b64 = line.split(' ')[1] as string
    expect(() => parsePublicKeyLine(`ssh-rsa ${b64} root@esx01`)).toThrow(
      'public key says "ssh-rsa" but its data is "ecdsa-sha2-nistp256"',
    )
  })
})

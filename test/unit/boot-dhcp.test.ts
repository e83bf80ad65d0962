// DHCP configuration for the servers sites run, against golden files and
// against the servers' own syntax checks (dnsmasq --test, dhcpd -t,
// kea-dhcp4 -t; scripts/test-prereqs.mjs installs them).
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import {
  dhcpBootTargets,
  dnsmasqConfig,
  iscDhcpdConfig,
  keaConfig,
  windowsDhcpScript,
  type DhcpOutput,
} from '../../main/core/boot/dhcp'
import type { DhcpInput } from '../../main/core/boot/dhcp/input'
import { bootContext } from '../../main/core/boot/input'
import { site } from '../support/boot-site'
import { tempDir } from '../support/app'
import { expectGolden } from '../support/golden'

const tmp = tempDir('dhcp')
afterAll(() => tmp.remove())

const targets = dhcpBootTargets(bootContext({ site: site() }))

function input(over: Partial<DhcpInput> = {}): DhcpInput {
  return {
    mode: 'full',
    subnet: {
      network: '10.0.0.0',
      prefixLength: 24,
      rangeStart: '10.0.0.100',
      rangeEnd: '10.0.0.199',
      router: '10.0.0.1',
      dnsServers: ['10.0.0.2', '10.0.0.3'],
    },
    tftpServer: '10.0.0.5',
    ...targets,
    files: { ...targets.files },
    ...over,
  }
}

const FLAVOURS: Record<string, DhcpOutput> = {
  'dnsmasq-full': dnsmasqConfig(input()),
  'dnsmasq-full-ipxe-chain': dnsmasqConfig(input({ chainIpxe: true })),
  'dnsmasq-proxy': dnsmasqConfig(input({ mode: 'proxy' })),
  'isc-dhcpd': iscDhcpdConfig(input()),
  'isc-dhcpd-ipxe-chain': iscDhcpdConfig(input({ chainIpxe: true })),
  kea: keaConfig(input()),
  windows: windowsDhcpScript(input()),
}

function save(name: string, out: DhcpOutput): string {
  const path = join(tmp.path, `${name}-${out.fileName}`)
  writeFileSync(path, out.text)
  return path
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error)
    throw new Error(`${cmd} could not run (${r.error.message}); run scripts/test-prereqs.mjs`)
  return r
}

describe('golden files for every DHCP flavour', () => {
  for (const [name, out] of Object.entries(FLAVOURS)) {
    it(name, () => {
      expectGolden(`dhcp/${name}/${out.fileName}`, out.text)
    })
  }
})

describe('the boot targets come from the boot layout', () => {
  it('uses the listener URLs and the TFTP mboot.efi path', () => {
    expect(targets).toEqual({
      ipxeScriptUrl: 'http://10.0.0.5:8080/ipxe/menu.ipxe',
      httpBootUrl: 'http://10.0.0.5:8080/boot/mboot.efi',
      files: { mbootEfi: 'esxi/mboot.efi' },
    })
  })
})

describe('dnsmasq', () => {
  for (const name of ['dnsmasq-full', 'dnsmasq-full-ipxe-chain', 'dnsmasq-proxy']) {
    it(`${name} passes dnsmasq --test`, () => {
      const r = run('/usr/sbin/dnsmasq', ['--test', '-C', save(name, FLAVOURS[name] as DhcpOutput)])
      expect(r.stderr).toContain('syntax check OK')
      expect(r.status).toBe(0)
    })
  }

  it('really checks: a broken line fails dnsmasq --test', () => {
    const broken = {
      ...(FLAVOURS['dnsmasq-full'] as DhcpOutput),
      text: 'dhcp-match=set:bios,option:nonsense,0\n',
    }
    const r = run('/usr/sbin/dnsmasq', ['--test', '-C', save('broken', broken)])
    expect(r.status).not.toBe(0)
  })

  it('splits BIOS, UEFI, UEFI HTTP and iPXE by option 93, user class and vendor class', () => {
    const lines = (FLAVOURS['dnsmasq-full'] as DhcpOutput).text.split('\n')
    expect(lines).toContain('dhcp-match=set:bios,option:client-arch,0')
    expect(lines).toContain('dhcp-match=set:efi64,option:client-arch,7')
    expect(lines).toContain('dhcp-match=set:efi64,option:client-arch,9')
    expect(lines).toContain('dhcp-match=set:efihttp,option:client-arch,16')
    expect(lines).toContain('dhcp-userclass=set:ipxe,iPXE')
    expect(lines).toContain(
      'dhcp-option-force=tag:efihttp,tag:httpclient,option:vendor-class,HTTPClient',
    )
    const boots = lines.filter((l) => l.startsWith('dhcp-boot='))
    expect(boots).toEqual([
      'dhcp-boot=tag:efihttp,tag:httpclient,http://10.0.0.5:8080/boot/mboot.efi',
      'dhcp-boot=tag:ipxe,http://10.0.0.5:8080/ipxe/menu.ipxe',
      'dhcp-boot=tag:bios,tag:!ipxe,pxelinux.0,,10.0.0.5',
      'dhcp-boot=tag:efi64,tag:!ipxe,esxi/mboot.efi,,10.0.0.5',
    ])
    const chained = (FLAVOURS['dnsmasq-full-ipxe-chain'] as DhcpOutput).text
    expect(chained).toContain('dhcp-boot=tag:bios,tag:!ipxe,undionly.kpxe,,10.0.0.5')
    expect(chained).toContain('dhcp-boot=tag:efi64,tag:!ipxe,snponly.efi,,10.0.0.5')
  })

  it('in proxy mode answers PXE only, and says UEFI HTTP boot needs the real DHCP server', () => {
    const out = FLAVOURS['dnsmasq-proxy'] as DhcpOutput
    expect(out.text).toContain('dhcp-range=10.0.0.0,proxy,255.255.255.0')
    expect(out.text).not.toContain('dhcp-boot=')
    expect(out.text).not.toMatch(/^dhcp-range=.*10\.0\.0\.100/m)
    expect(out.text).toContain(
      'pxe-service=tag:!ipxe,x86PC,"ESXi installer (BIOS)",pxelinux.0,10.0.0.5',
    )
    expect(out.text).toContain(
      'pxe-service=tag:ipxe,x86-64_EFI,"Midwife iPXE menu",http://10.0.0.5:8080/ipxe/menu.ipxe',
    )
    expect(out.warnings[0]).toContain('UEFI HTTP boot')
  })
})

describe('ISC dhcpd', () => {
  for (const name of ['isc-dhcpd', 'isc-dhcpd-ipxe-chain']) {
    it(`${name} passes dhcpd -t`, () => {
      const r = run('/usr/sbin/dhcpd', [
        '-t',
        '-4',
        '-cf',
        save(name, FLAVOURS[name] as DhcpOutput),
      ])
      expect(r.stderr).not.toMatch(/error|expecting/i)
      expect(r.status).toBe(0)
    })
  }

  it('really checks: a broken file fails dhcpd -t', () => {
    const r = run('/usr/sbin/dhcpd', [
      '-t',
      '-4',
      '-cf',
      save('broken', { ...(FLAVOURS['isc-dhcpd'] as DhcpOutput), text: 'subnet 10.0.0.0 {\n' }),
    ])
    expect(r.status).not.toBe(0)
  })

  it('answers iPXE first, then HTTPClient with its vendor class, then UEFI, then BIOS', () => {
    const t = (FLAVOURS['isc-dhcpd'] as DhcpOutput).text
    const order = [
      'option user-class = "iPXE"',
      'option midwife-client-arch = 00:10 and substring(option vendor-class-identifier, 0, 10) = "HTTPClient"',
      'option vendor-class-identifier "HTTPClient";',
      'filename "http://10.0.0.5:8080/boot/mboot.efi";',
      'option midwife-client-arch = 00:07 or option midwife-client-arch = 00:09',
      'filename "esxi/mboot.efi";',
      'option midwife-client-arch = 00:00',
      'filename "pxelinux.0";',
    ].map((s) => t.indexOf(s))
    expect(order.every((at) => at > 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
  })

  it('has no proxy mode', () => {
    expect(() => iscDhcpdConfig(input({ mode: 'proxy' }))).toThrow('use dnsmasq in proxy mode')
  })
})

describe('Kea', () => {
  const out = FLAVOURS.kea as DhcpOutput

  it('is JSON with mutually exclusive client classes', () => {
    const parsed = JSON.parse(out.text) as {
      Dhcp4: { 'client-classes': { name: string; test: string; 'boot-file-name': string }[] }
    }
    const classes = parsed.Dhcp4['client-classes']
    expect(classes.map((c) => [c.name, c['boot-file-name']])).toEqual([
      ['midwife-ipxe', 'http://10.0.0.5:8080/ipxe/menu.ipxe'],
      ['midwife-uefi-http', 'http://10.0.0.5:8080/boot/mboot.efi'],
      ['midwife-uefi-pxe', 'esxi/mboot.efi'],
      ['midwife-bios-pxe', 'pxelinux.0'],
    ])
    for (const c of classes.slice(1)) expect(c.test).toContain("not member('midwife-ipxe')")
    expect(classes[1]?.test).toContain('option[93].hex == 0x0010')
  })

  it('passes kea-dhcp4 -t', () => {
    const r = run('/usr/sbin/kea-dhcp4', ['-t', save('kea', out)])
    expect(r.stdout + r.stderr).not.toMatch(/ERROR|error:/)
    expect(r.status).toBe(0)
  })

  it('really checks: a bad test expression fails kea-dhcp4 -t', () => {
    const bad = out.text.replace("option[77].hex == 'iPXE'", 'option[77].hex === iPXE')
    const r = run('/usr/sbin/kea-dhcp4', ['-t', save('kea-bad', { ...out, text: bad })])
    expect(r.status).not.toBe(0)
  })
})

describe('Windows DHCP', () => {
  const out = FLAVOURS.windows as DhcpOutput
  /** Each cmdlet line as its name and parameters. */
  const commands = out.text
    .split('\n')
    .filter((l) => /^[A-Z][a-z]+-Dhcp/.test(l))
    .map((l) => {
      const [name = '', ...rest] = l.split(' ')
      const params: Record<string, string> = {}
      const text = rest.join(' ')
      for (const m of text.matchAll(/-(\w+) ((?:'[^']*'|[^\s']+)(?:,(?:'[^']*'|[^\s',]+))*)/g)) {
        params[m[1] as string] = m[2] as string
      }
      return { name, params }
    })

  it('defines the classes, then one policy per client kind in processing order', () => {
    const policies = commands.filter((c) => c.name === 'Add-DhcpServerv4Policy')
    expect(policies.map((p) => [p.params.Name, p.params.ProcessingOrder])).toEqual([
      ["'Midwife iPXE'", '1'],
      ["'Midwife UEFI HTTP'", '2'],
      ["'Midwife UEFI PXE'", '3'],
      ["'Midwife BIOS PXE'", '4'],
    ])
    const classes = commands.filter((c) => c.name === 'Add-DhcpServerv4Class')
    expect(classes.map((c) => c.params.Data)).toEqual([
      "'iPXE'",
      "'HTTPClient:Arch:00016'",
      "'PXEClient:Arch:00007'",
      "'PXEClient:Arch:00009'",
      "'PXEClient:Arch:00000'",
    ])
  })

  it('sets option 60 HTTPClient and an http:// boot file for UEFI HTTP boot', () => {
    const values = commands
      .filter((c) => c.name === 'Set-DhcpServerv4OptionValue')
      .map((c) => `${c.params.PolicyName} ${c.params.OptionId}=${c.params.Value}`)
    expect(values).toEqual([
      "'Midwife iPXE' 67='http://10.0.0.5:8080/ipxe/menu.ipxe'",
      "'Midwife UEFI HTTP' 60='HTTPClient'",
      "'Midwife UEFI HTTP' 67='http://10.0.0.5:8080/boot/mboot.efi'",
      "'Midwife UEFI PXE' 66='10.0.0.5'",
      "'Midwife UEFI PXE' 67='esxi/mboot.efi'",
      "'Midwife BIOS PXE' 66='10.0.0.5'",
      "'Midwife BIOS PXE' 67='pxelinux.0'",
    ])
    expect(out.text).toContain('Add-DhcpServerv4OptionDefinition -OptionId 60')
  })
})

describe('bad input', () => {
  it('is refused with the field named', () => {
    expect(() => dnsmasqConfig(input({ tftpServer: 'tftp.lab.local' }))).toThrow(ZodError)
    const noRange = input()
    noRange.subnet = { network: '10.0.0.0', prefixLength: 24 }
    expect(() => keaConfig(noRange)).toThrow('full DHCP needs an address range')
    expect(() =>
      dnsmasqConfig({
        ...input(),
        mode: 'proxy',
        subnet: { network: '10.0.0.0', prefixLength: 24 },
      }),
    ).not.toThrow()
    expect(() => dnsmasqConfig(input({ files: { mbootEfi: 'esxi/mboot.efi; rm -rf /' } }))).toThrow(
      ZodError,
    )
  })
})

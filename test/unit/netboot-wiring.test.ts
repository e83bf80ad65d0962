// The pure pieces that wire network boot into the app: the listener's
// address as the installer needs it, the installer's static address from a
// host's settings, kernel options the install needs on every boot line,
// byte ranges, the DHCP configs' refusals, and serve mode's download URLs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dhcpFiles } from '../../main/core/boot/artifacts'
import { bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import { installerNetworkOf, listenerAddress } from '../../main/core/boot/boot-inputs'
import { isTextArtifact } from '../../main/core/boot/input'
import { renderBoot } from '../../main/core/boot/kinds'
import { parseRange } from '../../main/core/listener/send-file'
import { DhcpFacts, SettingsInput } from '../../main/contract/schemas'
import { defaultSettings } from '../../main/core/store'
import { parseTarget } from '../../main/core/listener/guard'
import { downloadRequest } from '../../main/serve/server'
import { repoRoot } from '../support/app'
import { host, media, site } from '../support/boot-site'

describe('listenerAddress', () => {
  it('takes the IP literal and port from the advertised URL', () => {
    expect(listenerAddress('http://10.0.0.5:8080')).toEqual({
      ok: true,
      value: { address: '10.0.0.5', port: 8080 },
    })
    expect(listenerAddress('http://10.0.0.5')).toEqual({
      ok: true,
      value: { address: '10.0.0.5', port: 80 },
    })
  })

  it('refuses a name, saying the installer may have no DNS', () => {
    const r = listenerAddress('http://midwife.lab.local:8080')
    expect(r.ok).toBe(false)
    expect(r.ok ? '' : r.problem).toContain('the installer may have no DNS')
  })
})

describe('installerNetworkOf', () => {
  it('reads a static address from the settings’ install-time parts', () => {
    expect(
      installerNetworkOf([
        { network: { ip: '10.0.20.11', netmask: '255.255.255.0', gateway: '10.0.20.1' } },
        { network: { nameserver: '10.0.0.2,10.0.0.3' } },
        { network: { vlanid: '20', hostname: 'esx01.lab.local' } },
      ]),
    ).toEqual({
      ip: '10.0.20.11',
      netmask: '255.255.255.0',
      gateway: '10.0.20.1',
      nameserver: '10.0.0.2',
      vlanId: 20,
    })
  })

  it('gives nothing for DHCP, or for values the boot line cannot carry', () => {
    expect(installerNetworkOf([{ network: { nameserver: '10.0.0.2' } }])).toBeUndefined()
    expect(
      installerNetworkOf([
        { network: { ip: '10.0.20.11', netmask: '255.255.255.0', gateway: 'gw' } },
      ]),
    ).toBeUndefined()
  })
})

describe('kernel options the install needs', () => {
  it('ride on every boot line: PXELINUX, boot.cfg, ISO and the generic menus', () => {
    const r = renderBoot({
      site: site({
        enrollment: {
          ...site().enrollment,
          bootOptions: ['allowLegacyCPU=true'],
          installUnknown: true,
        },
      }),
      host: host({ bootOptions: ['allowLegacyCPU=true'] }),
    })
    const text = (path: string) => {
      const a = r.artifacts.find((x) => x.path === path)
      return a && isTextArtifact(a) ? a.text : ''
    }
    expect(text('pxelinux.cfg/01-00-50-56-aa-bb-01')).toMatch(/ks=\S+ allowLegacyCPU=true\n/)
    const cfg = parseBootCfg(text('/boot/01-00-50-56-aa-bb-01/boot.cfg'))
    expect(bootCfgGet(cfg, 'kernelopt')).toMatch(/ks=\S+ allowLegacyCPU=true$/)
    expect(text('esx01-iso-boot-options.txt')).toMatch(
      /^ks=\S+ allowLegacyCPU=true netdevice=\S+\n$/,
    )
    expect(text('pxelinux.cfg/default')).toMatch(/ks=\S+ allowLegacyCPU=true PBHOST=/)
    expect(() => renderBoot({ site: site(), host: host({ bootOptions: ['a b'] }) })).toThrow(
      'must be a kernel option',
    )
  })
})

describe('parseRange', () => {
  it('reads one range of each form, clamped to the file', () => {
    expect(parseRange(undefined, 100)).toBeNull()
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=90-1000', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 })
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 })
  })

  it('says unsatisfiable past the end, and ignores what it does not honour', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable')
    for (const h of ['bytes=0-1,4-5', 'items=0-1', 'bytes=5-2', 'bytes=-', 'bytes=a-b']) {
      expect(parseRange(h, 100), h).toBeNull()
    }
  })
})

describe('dhcpFiles', () => {
  const input = { site: site() }

  it('says what to set when the site has no subnet', () => {
    const files = dhcpFiles(input, DhcpFacts.parse({}))
    expect(files).toHaveLength(5)
    for (const f of files) {
      expect(f.text).toBeNull()
      expect(f.problem).toContain('Set the provisioning subnet under Site')
    }
  })

  it('makes proxy DHCP without a range, and says why full DHCP needs one', () => {
    const files = dhcpFiles(input, DhcpFacts.parse({ subnet: '10.0.0.0/24' }))
    const by = new Map(files.map((f) => [f.flavour, f]))
    expect(by.get('dnsmasq-proxy')?.text).toContain('dhcp-range=10.0.0.0,proxy,255.255.255.0')
    expect(by.get('dnsmasq-proxy')?.warnings[0]).toContain('proxy-DHCP mode')
    for (const f of ['dnsmasq', 'isc-dhcpd', 'kea', 'windows'] as const) {
      expect(by.get(f)?.problem, f).toContain('full DHCP needs an address range')
    }
  })

  it('points next-server at the listener unless the site names its TFTP server', () => {
    const facts = { subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.200' }
    const own = dhcpFiles(input, DhcpFacts.parse(facts))[2]?.text
    expect(own).toContain('next-server 10.0.0.5;')
    const other = dhcpFiles(input, DhcpFacts.parse({ ...facts, tftpServer: '10.0.0.9' }))[2]?.text
    expect(other).toContain('next-server 10.0.0.9;')
  })

  it('writes the network of a subnet typed with a host address, which dhcpd would refuse', () => {
    const facts = { subnet: '10.0.0.5/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.200' }
    const by = new Map(dhcpFiles(input, DhcpFacts.parse(facts)).map((f) => [f.flavour, f.text]))
    expect(by.get('isc-dhcpd')).toContain('subnet 10.0.0.0 netmask 255.255.255.0 {')
    expect(by.get('kea')).toContain('"subnet": "10.0.0.0/24"')
    expect(by.get('dnsmasq-proxy')).toContain('dhcp-range=10.0.0.0,proxy,255.255.255.0')
  })

  it('refuses, when saved, a subnet typed with a host address, and names its network', () => {
    const r = SettingsInput.safeParse({
      ...defaultSettings,
      boot: {
        ...defaultSettings.boot,
        dhcp: { ...defaultSettings.boot.dhcp, subnet: '10.0.0.5/24' },
      },
    })
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(
      ['boot.dhcp.subnet: 10.0.0.5 is a host address in 10.0.0.0/24: the subnet is 10.0.0.0/24'],
    )
  })

  it('refuses a malformed subnet in the settings', () => {
    expect(DhcpFacts.safeParse({ subnet: '10.0.0.0' }).success).toBe(false)
    expect(DhcpFacts.safeParse({ subnet: '10.0.0.0/31' }).success).toBe(false)
    expect(DhcpFacts.safeParse({ subnet: '10.0.0.300/24' }).success).toBe(false)
  })
})

describe('serve mode download URLs', () => {
  const target = (raw: string) => {
    const t = parseTarget(raw)
    if (!t.ok) throw new Error(t.message)
    return t.target
  }

  it('reads the bundle and DHCP requests', () => {
    expect(
      downloadRequest(target('/download/tftp-bundle.tar.gz?host=3&kinds=ipxe,uefi-http&media=1')),
    ).toEqual({
      what: 'tftp-bundle',
      request: { hostId: 3, kinds: ['ipxe', 'uefi-http'], includeMedia: true },
    })
    expect(downloadRequest(target('/download/tftp-bundle.tar.gz'))).toEqual({
      what: 'tftp-bundle',
      request: { hostId: null, includeMedia: false },
    })
    expect(downloadRequest(target('/download/dhcp/kea'))).toEqual({ what: 'dhcp', flavour: 'kea' })
  })

  it('says what is wrong with a bad one', () => {
    expect(downloadRequest(target('/download/dhcp/bootp'))).toContain('no DHCP flavour "bootp"')
    expect(downloadRequest(target('/download/tftp-bundle.tar.gz?host=-1'))).toContain('hostId')
    expect(downloadRequest(target('/download/other'))).toBe('no such download')
  })
})

describe('the README', () => {
  it('shows the dnsmasq file the code generates for its example site', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    const shown = /<!-- dnsmasq-example -->\s*```\n([\s\S]*?)```\s*<!-- \/dnsmasq-example -->/.exec(
      readme,
    )?.[1]
    const [generated] = dhcpFiles(
      { site: site({ media: { '8.0': media('8.0') } }) },
      DhcpFacts.parse({
        subnet: '10.0.0.0/24',
        rangeStart: '10.0.0.100',
        rangeEnd: '10.0.0.199',
        router: '10.0.0.1',
        dnsServers: ['10.0.0.2'],
      }),
    )
    expect(shown).toBe(generated?.text)
  })
})

import { describe, expect, it } from 'vitest'
import type { Artifact, BootInput } from '../../main/core/boot/input'
import { renderBoot } from '../../main/core/boot/kinds'
import { lintBoot, type Finding, type LintInput } from '../../main/core/boot/lint'
import { host, site } from '../support/boot-site'

const INTERFACES = ['127.0.0.1', '10.0.0.5']
const boot: BootInput = { site: site(), host: host() }

const lint = (over: Partial<LintInput> = {}) => lintBoot({ boot, interfaces: INTERFACES, ...over })
const codes = (f: Finding[]) => f.map((x) => x.code)

function artifact(
  path: string,
  text: string,
  syntax: 'boot.cfg' | 'pxelinux' | 'ipxe' = 'boot.cfg',
): Artifact {
  return {
    kind: 'hand-made',
    scope: 'host',
    title: path,
    delivery: 'tftp',
    path,
    text,
    syntax,
    secrets: [],
  }
}

describe('lintBoot', () => {
  it('finds nothing wrong with a well-set site and its generated files', () => {
    expect(lint()).toEqual([])
  })

  it('flags a loopback advertised address, and one on no local interface', () => {
    const loop = lint({
      boot: { ...boot, site: site({ listener: { address: '127.0.0.1', port: 8080 } }) },
    })
    expect(codes(loop)).toEqual(['advertised-loopback'])
    expect(loop[0]?.message).toContain('set the advertised address under Site')
    const away = lint({ interfaces: ['127.0.0.1', '192.168.1.20'] })
    expect(codes(away)).toEqual(['advertised-not-local'])
    expect(away[0]?.message).toContain('127.0.0.1, 192.168.1.20')
  })

  it('flags a kernel command line that is too long, in every syntax', () => {
    const long = `http://10.0.0.5:8080/media/8.0/${'x'.repeat(1000)}`
    const files = renderBoot({
      site: site({ media: { '8.0': { ...site().media['8.0']!, url: long } } }),
      host: host(),
    }).artifacts
    const found = lint({ artifacts: files }).filter((f) => f.code === 'kernel-line-too-long')
    expect(found.map((f) => f.where)).toEqual(
      expect.arrayContaining([
        'http://10.0.0.5:8080/boot/01-00-50-56-aa-bb-01/boot.cfg',
        'http://10.0.0.5:8080/ipxe/01-00-50-56-aa-bb-01.ipxe',
      ]),
    )
    expect(found[0]?.message).toMatch(/is \d+ characters, over ESXi's limit of about 1024; shorten/)
  })

  it('flags ks= URLs that use a DNS name', () => {
    const files = renderBoot(
      { site: site(), host: host({ kickstartUrl: 'http://midwife.lab.local:8080/ks/x.cfg' }) },
      ['iso', 'pxelinux-bios'],
    ).artifacts
    const found = lint({ artifacts: files }).filter((f) => f.code === 'ks-dns-name')
    expect(found.map((f) => f.where).sort()).toEqual([
      'esx01-iso-boot-options.txt',
      'pxelinux.cfg/01-00-50-56-aa-bb-01',
    ])
    expect(found[0]?.message).toContain("use the listener's IP address")
  })

  it('flags a Secure Boot host with the listener off 80/443, and a kickstart relying on %firstboot', () => {
    const secure: BootInput = { site: site(), host: host({ secureBoot: true }) }
    const found = lint({
      boot: secure,
      kickstart: 'vmaccepteula\n%firstboot --interpreter=busybox\nvim-cmd hostsvc/enable_ssh\n',
    })
    expect(codes(found)).toEqual(['secure-boot-port', 'firstboot-with-secure-boot'])
    expect(found[0]?.message).toContain('run the listener on port 80')
    const on80 = lint({
      boot: {
        site: site({ listener: { address: '10.0.0.5', port: 80 } }),
        host: host({ secureBoot: true }),
      },
    })
    expect(codes(on80)).toEqual([])
    expect(codes(lint({ kickstart: '%firstboot\n' }))).toEqual([])
    // With %post reporting `installed`, the Secure Boot path turns SSH on: %firstboot is a spare.
    const reported = lint({
      boot: secure,
      kickstart:
        "vmaccepteula\n%post --interpreter=busybox\nMW_URL='http://10.0.0.5:8080/install/abc/installed'\n%firstboot --interpreter=busybox\nvim-cmd hostsvc/enable_ssh\n",
    })
    expect(codes(reported)).toEqual(['secure-boot-port'])
  })

  it('flags the generic kickstart, which checks in only from %firstboot, at a site expecting Secure Boot', () => {
    const generic: BootInput = { site: site() }
    const kickstart = 'vmaccepteula\n%firstboot --interpreter=busybox\nMIDWIFE_ENROLL=x\n'
    const found = lint({ boot: generic, kickstart, secureBootExpected: true })
    expect(codes(found)).toEqual(['firstboot-with-secure-boot'])
    expect(found[0]?.message).toContain('unknown servers')
    expect(found[0]?.message).toContain('define them as hosts')
    expect(codes(lint({ boot: generic, kickstart, secureBootExpected: false }))).toEqual([])
    expect(codes(lint({ boot: generic, kickstart }))).toEqual([])
  })

  it('flags a per-MAC boot.cfg without prefix= and an upper-case MAC folder', () => {
    const found = lint({
      artifacts: [
        artifact('esxi/01-00-50-56-aa-bb-01/boot.cfg', 'kernel=b.b00\nmodules=a.gz\n'),
        artifact(
          'esxi/01-00-50-56-AA-BB-01/boot.cfg',
          'prefix=esxi/8.0\nkernel=b.b00\nmodules=a.gz\n',
        ),
        artifact(
          'pxelinux.cfg/01-00-50-56-AA-BB-02',
          'DEFAULT local\nLABEL local\n  LOCALBOOT 0\n',
          'pxelinux',
        ),
        // A disarmed boot.cfg loads nothing, so it needs no prefix.
        artifact('esxi/01-00-50-56-aa-bb-03/boot.cfg', 'title=x\nskip=1\n'),
      ],
    })
    expect(found.map((f) => [f.code, f.where])).toEqual([
      ['per-mac-no-prefix', 'esxi/01-00-50-56-aa-bb-01/boot.cfg'],
      ['mac-folder-upper-case', 'esxi/01-00-50-56-AA-BB-01/boot.cfg'],
      ['mac-folder-upper-case', 'pxelinux.cfg/01-00-50-56-AA-BB-02'],
    ])
    expect(found[1]?.message).toContain('rename it to esxi/01-00-50-56-aa-bb-01/boot.cfg')
  })

  it('flags missing media files for the versions in use', () => {
    const found = lint({
      media: [
        { version: '8.0', missing: ['/k.b00', '/imgpayld.tgz'], problems: ['x'] },
        { version: '9.0', missing: [], problems: ['/m holds ESXi 8.0.2, not 9.0; add it as 8.0.'] },
      ],
    })
    expect(found.map((f) => f.message)).toEqual([
      'The ESXi 8.0 media lacks 2 file(s) boot.cfg loads (/k.b00, /imgpayld.tgz); extract the ISO again into its folder.',
      'The ESXi 9.0 media cannot be used: /m holds ESXi 8.0.2, not 9.0; add it as 8.0.',
    ])
  })

  it('flags an http:// boot URL on firmware set to HTTPS-only', () => {
    const found = lint({ boot: { site: site({ firmwareHttpsOnly: true }), host: host() } })
    expect(codes(found)).toEqual(['http-boot-on-https-only'])
    expect(found[0]?.where).toBe('http://10.0.0.5:8080/boot/mboot.efi')
    const fronted = lint({
      boot: {
        site: site({ firmwareHttpsOnly: true, httpsBootBaseUrl: 'https://10.0.0.5' }),
        host: host(),
      },
    })
    expect(codes(fronted)).toEqual([])
  })

  it('writes every finding as one line', () => {
    const all = lint({
      boot: {
        site: site({ listener: { address: '127.0.0.1', port: 8080 }, firmwareHttpsOnly: true }),
        host: host({ secureBoot: true }),
      },
      kickstart: '%firstboot\n',
      media: [{ version: '8.0', missing: ['/a'], problems: [] }],
    })
    expect(all.length).toBeGreaterThanOrEqual(5)
    for (const f of all) expect(f.message).not.toContain('\n')
  })
})

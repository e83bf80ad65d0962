// Every boot kind, rendered for each scenario, against golden files; then
// read back with the parsers, so the structure (not only the text) is
// checked: boot.cfg keys and prefix, PXELINUX directives, iPXE commands.
import { describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import { bootCfgFiles, bootCfgGet, parseBootCfg } from '../../main/core/boot/boot-cfg'
import {
  isTextArtifact,
  type Artifact,
  type BootInput,
  type TextArtifact,
} from '../../main/core/boot/input'
import { BOOT_KINDS, bootKind, renderBoot } from '../../main/core/boot/kinds'
import { oneLiner } from '../../main/core/boot/material'
import { parseIpxe, parsePxelinux, pxelinuxDirective } from '../../main/core/boot/syntax'
import { PBKEY, SCENARIOS, TOKEN, host, media, site } from '../support/boot-site'
import { expectGolden, goldenFiles, resetGoldenDir } from '../support/golden'

const MAC_DIR = '01-00-50-56-aa-bb-01'
const KS = `http://10.0.0.5:8080/ks/${TOKEN}.cfg`

function manifestLine(a: Artifact): string {
  const where = a.url ?? a.path
  const what = isTextArtifact(a)
    ? `${a.syntax} secrets=${a.secrets.length}`
    : `copy of ${a.media.version}/${a.media.file}`
  return `${a.kind} ${a.scope} ${a.delivery} ${where} (${what})`
}

const goldenName = (a: Artifact) => `${a.delivery}/${a.path.replace(/^\//, '')}`

function text(r: ReturnType<typeof renderBoot>, delivery: string, path: string): TextArtifact {
  const a = r.artifacts.find((x) => x.delivery === delivery && x.path === path)
  if (a === undefined || !isTextArtifact(a)) {
    throw new Error(
      `no text artifact ${delivery}:${path}; have ${r.artifacts.map(goldenName).join(', ')}`,
    )
  }
  return a
}

describe('golden files for every boot kind', () => {
  for (const [name, input] of Object.entries(SCENARIOS)) {
    it(`scenario ${name}`, () => {
      resetGoldenDir(`boot/${name}`)
      const r = renderBoot(input)
      const expected: string[] = []
      for (const a of r.artifacts) {
        if (!isTextArtifact(a)) continue
        expectGolden(`boot/${name}/${goldenName(a)}`, a.text)
        expected.push(goldenName(a))
      }
      const manifest = [
        ...r.kinds.map(
          (k) => `kind ${k.id}: ${k.applies ? 'applies' : `does not apply (${k.reason})`}`,
        ),
        ...r.artifacts.map(manifestLine),
        ...r.warnings.map((w) => `warning: ${w}`),
        '',
      ].join('\n')
      expectGolden(`boot/${name}/manifest.txt`, manifest)
      // No golden file is left over from an artifact that is no longer generated.
      expect(goldenFiles(`boot/${name}`)).toEqual([...expected, 'manifest.txt'].sort())
      // Secrets are listed wherever they appear.
      for (const a of r.artifacts.filter(isTextArtifact)) {
        for (const s of [TOKEN, PBKEY]) {
          if (a.text.includes(s)) expect(a.secrets, goldenName(a)).toContain(s)
        }
      }
    })
  }
})

describe('PXELINUX (BIOS)', () => {
  it('gives a host its own lower-case 01-<mac> file: mboot.c32, -c boot.cfg with ks=, IPAPPEND 2', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['pxelinux-bios'])
    const a = text(r, 'tftp', `pxelinux.cfg/${MAC_DIR}`)
    const cfg = parsePxelinux(a.text)
    expect(cfg.globals.find((g) => g.name === 'DEFAULT')?.value).toBe('install')
    const [label] = cfg.labels
    expect(label?.label).toBe('install')
    expect(pxelinuxDirective(label!, 'KERNEL')).toBe('esxi/8.0/mboot.c32')
    expect(pxelinuxDirective(label!, 'APPEND')).toBe(`-c esxi/8.0/boot.cfg ks=${KS}`)
    expect(pxelinuxDirective(label!, 'IPAPPEND')).toBe('2')
    expect(a.secrets).toEqual([TOKEN])
  })

  it('serves the version boot.cfg that -c names, rewritten for network boot', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['pxelinux-bios'])
    const cfg = parseBootCfg(text(r, 'tftp', 'esxi/8.0/boot.cfg').text)
    expect(bootCfgGet(cfg, 'prefix')).toBe('esxi/8.0')
    expect(bootCfgGet(cfg, 'kernel')).toBe('b.b00')
    expect(bootCfgGet(cfg, 'kernelopt')).toBe('runweasel')
    expect(bootCfgFiles(cfg).every((f) => !f.startsWith('/'))).toBe(true)
  })

  it('has a default menu for unknown servers: the local disk only, unless installing them is on', () => {
    // Off: nothing at the boot: prompt erases a disk.
    const off = renderBoot(SCENARIOS.armed as BootInput, ['pxelinux-bios'])
    const local = parsePxelinux(text(off, 'tftp', 'pxelinux.cfg/default').text)
    expect(local.globals.find((g) => g.name === 'DEFAULT')?.value).toBe('local')
    expect(local.labels.map((l) => l.label)).toEqual(['local'])
    expect(pxelinuxDirective(local.labels[0]!, 'LOCALBOOT')).toBe('0')
    // On: install entries with PBHOST, the newest the default.
    const on = renderBoot(SCENARIOS['install-unknown'] as BootInput, ['pxelinux-bios'])
    const cfg = parsePxelinux(text(on, 'tftp', 'pxelinux.cfg/default').text)
    expect(cfg.globals.find((g) => g.name === 'DEFAULT')?.value).toBe('install-9.0')
    expect(cfg.labels.map((l) => l.label)).toEqual([
      'local',
      'install-7.0',
      'install-8.0',
      'install-9.0',
    ])
    for (const l of cfg.labels.slice(1)) {
      expect(pxelinuxDirective(l, 'APPEND')).toContain(
        `ks=http://10.0.0.5:8080/ks/generic.cfg PBHOST=10.0.0.5:8080 PBKEY=${PBKEY}`,
      )
    }
  })

  it('boots a disarmed host from its local disk', () => {
    const r = renderBoot(SCENARIOS.disarmed as BootInput, ['pxelinux-bios'])
    const cfg = parsePxelinux(text(r, 'tftp', `pxelinux.cfg/${MAC_DIR}`).text)
    expect(cfg.labels).toEqual([
      { label: 'local', directives: [{ name: 'LOCALBOOT', value: '0' }] },
    ])
    expect(text(r, 'tftp', `pxelinux.cfg/${MAC_DIR}`).text).not.toContain(TOKEN)
  })
})

describe('UEFI PXE', () => {
  it('serves mboot.efi from the newest media, crypto64.efi beside it, and a per-MAC boot.cfg with prefix=', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['uefi-pxe'])
    const copies = r.artifacts.filter((a) => !isTextArtifact(a))
    expect(copies.map((a) => [a.path, 'media' in a ? a.media : null])).toEqual([
      ['esxi/mboot.efi', { version: '9.0', file: 'efi/boot/bootx64.efi' }],
      ['esxi/crypto64.efi', { version: '9.0', file: 'efi/boot/crypto64.efi' }],
    ])
    const cfg = parseBootCfg(text(r, 'tftp', `esxi/${MAC_DIR}/boot.cfg`).text)
    expect(bootCfgGet(cfg, 'prefix')).toBe('esxi/8.0')
    expect(bootCfgGet(cfg, 'kernelopt')).toBe(`runweasel ks=${KS}`)
    expect(bootCfgGet(cfg, 'kernel')).toBe('b.b00')
  })

  it('leaves crypto64.efi out when the newest media has none', () => {
    const r = renderBoot({ site: site({ media: { '8.0': media('8.0') } }), host: host() }, [
      'uefi-pxe',
    ])
    expect(r.artifacts.map((a) => a.path)).toEqual([
      'esxi/mboot.efi',
      'esxi/boot.cfg',
      `esxi/${MAC_DIR}/boot.cfg`,
    ])
    // 8.0's loader is not confirmed to honour skip=1 (the generic boot.cfg uses it).
    expect(r.warnings.some((w) => w.includes('skip=1'))).toBe(false)
    const disarmed = renderBoot(
      { site: site({ media: { '8.0': media('8.0') } }), host: host({ armed: false }) },
      ['uefi-pxe'],
    )
    expect(disarmed.warnings.find((w) => w.includes('skip=1'))).toContain('add 9.0 media')
  })

  it('skips (skip=1) for a disarmed host and for unknown servers unless installUnknown', () => {
    const r = renderBoot(SCENARIOS.disarmed as BootInput, ['uefi-pxe'])
    for (const path of [`esxi/${MAC_DIR}/boot.cfg`, 'esxi/boot.cfg']) {
      const cfg = parseBootCfg(text(r, 'tftp', path).text)
      expect(bootCfgGet(cfg, 'skip')).toBe('1')
      expect(bootCfgGet(cfg, 'kernel')).toBeUndefined()
    }
    const auto = renderBoot(SCENARIOS['install-unknown'] as BootInput, ['uefi-pxe'])
    const generic = parseBootCfg(text(auto, 'tftp', 'esxi/boot.cfg').text)
    expect(bootCfgGet(generic, 'prefix')).toBe('esxi/9.0')
    expect(bootCfgGet(generic, 'kernelopt')).toBe(
      `runweasel ks=http://10.0.0.5:8080/ks/generic.cfg PBHOST=10.0.0.5:8080 PBKEY=${PBKEY}`,
    )
  })
})

describe('unknown servers that install', () => {
  it("boot the site's default version in every generic file, not the newest media", () => {
    const input: BootInput = {
      site: site({
        defaultVersion: '8.0',
        enrollment: { ...site().enrollment, installUnknown: true },
      }),
    }
    const r = renderBoot(input)
    const pxe = parsePxelinux(text(r, 'tftp', 'pxelinux.cfg/default').text)
    expect(pxe.globals.find((g) => g.name === 'DEFAULT')?.value).toBe('install-8.0')
    const menu = parseIpxe(text(r, 'http', '/ipxe/menu.ipxe').text)
    expect(menu.commands.find((c) => c.name === 'choose')?.args.slice(0, 2)).toEqual([
      '--default',
      'install-8.0',
    ])
    for (const path of ['esxi/boot.cfg', '/boot/boot.cfg']) {
      const cfg = parseBootCfg(text(r, path.startsWith('/') ? 'http' : 'tftp', path).text)
      expect(bootCfgGet(cfg, 'prefix'), path).toMatch(/\/8\.0$/)
    }
    // Every version stays on offer at the prompt.
    expect(pxe.labels.map((l) => l.label)).toContain('install-9.0')
  })

  it('are warned of the reinstall loop where the generic files come from TFTP, and told how the HTTP ones stop it', () => {
    // The generic kickstart's %post reports the install with the boot MAC: Midwife answers that
    // MAC's per-MAC HTTP files with boot-from-disk, but cannot change the site's TFTP copies.
    const loop = (w: string) => w.includes('starts the installer again at every reboot')
    const held = (w: string) => w.includes('with boot-from-disk')
    const expected: Record<string, (w: string) => boolean> = {
      'pxelinux-bios': loop,
      'uefi-pxe': loop,
      'uefi-http': held,
      ipxe: held,
    }
    for (const [kind, says] of Object.entries(expected)) {
      const on = renderBoot(SCENARIOS['install-unknown'] as BootInput, [kind])
      expect(on.warnings.filter(says), kind).toHaveLength(1)
      expect(on.warnings.filter(says === loop ? held : loop), kind).toEqual([])
      expect(on.warnings.find(says), kind).toMatch(/boot order/)
      // Off, the generic files boot the local disk: nothing to warn of.
      const off = renderBoot(SCENARIOS.armed as BootInput, [kind]).warnings
      expect(off.some(loop) || off.some(held), kind).toBe(false)
    }
    // One warning of each for all the kinds that say it.
    const all = renderBoot(SCENARIOS['install-unknown'] as BootInput).warnings
    expect(all.filter(loop)).toHaveLength(1)
    expect(all.filter(held)).toHaveLength(1)
  })
})

describe('UEFI HTTP boot', () => {
  it('serves everything from the listener, the per-MAC boot.cfg with an http:// prefix', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['uefi-http'])
    const a = text(r, 'http', `/boot/${MAC_DIR}/boot.cfg`)
    expect(a.url).toBe(`http://10.0.0.5:8080/boot/${MAC_DIR}/boot.cfg`)
    expect(bootCfgGet(parseBootCfg(a.text), 'prefix')).toBe('http://10.0.0.5:8080/media/8.0')
    expect(r.artifacts.find((x) => x.path === '/boot/mboot.efi')?.url).toBe(
      'http://10.0.0.5:8080/boot/mboot.efi',
    )
  })

  it('moves to the HTTPS front for HTTPS-only firmware, and says why HTTPS exists', () => {
    const r = renderBoot(SCENARIOS['https-only'] as BootInput, ['uefi-http'])
    const a = text(r, 'http', `/boot/${MAC_DIR}/boot.cfg`)
    expect(a.url).toBe(`https://boot.lab.local/boot/${MAC_DIR}/boot.cfg`)
    expect(bootCfgGet(parseBootCfg(a.text), 'prefix')).toBe('https://boot.lab.local/media/8.0')
    // The installer fetches the kickstart itself and does not check certificates.
    expect(bootCfgGet(parseBootCfg(a.text), 'kernelopt')).toContain(`ks=${KS}`)
    expect(bootKind('uefi-http').description).toMatch(/refuses? plain http/i)
    expect(bootKind('uefi-http').description).toMatch(/CAs enrolled in the firmware/)
    const noFront = renderBoot({ site: site({ firmwareHttpsOnly: true }), host: host() }, [
      'uefi-http',
    ])
    expect(noFront.warnings.join('\n')).toContain('HTTPS-only')
  })
})

describe('iPXE', () => {
  it('gives a host a script that passes -c with its boot.cfg URL, for BIOS and UEFI', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['ipxe'])
    const script = parseIpxe(text(r, 'http', `/ipxe/${MAC_DIR}.ipxe`).text)
    const kernels = script.commands.filter((c) => c.name === 'kernel').map((c) => c.args)
    const cfgUrl = `http://10.0.0.5:8080/ipxe/${MAC_DIR}/boot.cfg`
    expect(kernels).toEqual([
      ['http://10.0.0.5:8080/media/8.0/efi/boot/bootx64.efi', '-c', cfgUrl],
      ['http://10.0.0.5:8080/media/8.0/mboot.c32', '-c', cfgUrl],
    ])
    expect(script.commands.filter((c) => c.name === 'boot')).toHaveLength(2)
    const cfg = parseBootCfg(text(r, 'http', `/ipxe/${MAC_DIR}/boot.cfg`).text)
    expect(bootCfgGet(cfg, 'prefix')).toBe('http://10.0.0.5:8080/media/8.0')
    expect(bootCfgGet(cfg, 'kernelopt')).toBe(`runweasel ks=${KS}`)
  })

  it('boots the disk, not the menu that chained it, when a host installer does not load', () => {
    // A failing command would end the script with an error, and the menu takes an error for
    // "no script for this server" and offers its own entries: an install of unknown servers.
    const after = (script: ReturnType<typeof parseIpxe>, name: string) =>
      script.commands
        .filter((c) => c.name === name)
        .map((c) => script.commands.find((d) => d.line === c.line && d.name === 'goto')?.args)
    const host = parseIpxe(
      text(renderBoot(SCENARIOS.armed as BootInput, ['ipxe']), 'http', `/ipxe/${MAC_DIR}.ipxe`)
        .text,
    )
    expect([...after(host, 'kernel'), ...after(host, 'boot')]).toEqual(Array(4).fill(['failed']))
    const failed = host.commands.filter(
      (c) => c.line > host.commands.findLast((d) => d.name === 'boot')!.line,
    )
    expect(failed.map((c) => c.name)).toEqual(['echo', 'sleep', 'exit', 'exit'])
    expect(failed[0]?.args.join(' ')).toMatch(
      /^Midwife: the ESXi 8\.0 installer for esx01\.lab\.local .* did not load/,
    )
    // The menu's own installs fall back to the local disk too.
    const menu = parseIpxe(
      text(
        renderBoot(SCENARIOS['install-unknown'] as BootInput, ['ipxe']),
        'http',
        '/ipxe/menu.ipxe',
      ).text,
    )
    expect(new Set([...after(menu, 'kernel'), ...after(menu, 'boot')].map(String))).toEqual(
      new Set(['local']),
    )
  })

  it('exits (boots the disk) for a disarmed host', () => {
    const r = renderBoot(SCENARIOS.disarmed as BootInput, ['ipxe'])
    const script = parseIpxe(text(r, 'http', `/ipxe/${MAC_DIR}.ipxe`).text)
    expect(script.commands.map((c) => c.name)).toEqual(['exit'])
  })

  it('has a generic menu that tries the per-MAC script first, then offers local boot, and install with PBHOST only when that is on', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['ipxe'])
    const menu = parseIpxe(text(r, 'http', '/ipxe/menu.ipxe').text)
    const [chain, exitAfter, gotoMenu] = menu.commands
    expect(chain).toMatchObject({
      name: 'chain',
      args: ['--autofree', 'http://10.0.0.5:8080/ipxe/01-${netX/mac:hexhyp}.ipxe'],
    })
    // A disarmed host's script returns here with success: leave iPXE rather than show the menu.
    expect(exitAfter?.name).toBe('exit')
    expect(gotoMenu).toMatchObject({ name: 'goto', args: ['menu'] })
    expect(menu.commands.find((c) => c.name === 'choose')?.args).toEqual([
      '--default',
      'local',
      '--timeout',
      '15000',
      'target',
    ])
    // Installing servers no host names is off: no entry offers it.
    expect(menu.commands.filter((c) => c.name === 'kernel')).toEqual([])
    expect(menu.commands.filter((c) => c.name === 'item').map((c) => c.args[0])).toEqual(['local'])
    const on = renderBoot(SCENARIOS['install-unknown'] as BootInput, ['ipxe'])
    const installs = parseIpxe(text(on, 'http', '/ipxe/menu.ipxe').text).commands.filter(
      (c) => c.name === 'kernel',
    )
    expect(installs).toHaveLength(6)
    for (const k of installs) {
      expect(k.args.slice(-3)).toEqual([
        'ks=http://10.0.0.5:8080/ks/generic.cfg',
        'PBHOST=10.0.0.5:8080',
        `PBKEY=${PBKEY}`,
      ])
      expect(k.args[1]).toBe('-c')
      expect(k.args[2]).toMatch(/^http:\/\/10\.0\.0\.5:8080\/boot\/\d\.0\/boot\.cfg$/)
    }
  })
})

describe('ISO, one-liner and PBHOST line', () => {
  it('gives the Shift+O options with an IP-literal ks= and the static installer address', () => {
    const r = renderBoot(SCENARIOS['static-iso'] as BootInput, ['iso'])
    expect(text(r, 'console', 'esx01-iso-boot-options.txt').text).toBe(
      `ks=${KS} ip=10.0.20.11 netmask=255.255.255.0 gateway=10.0.20.1 nameserver=10.0.0.2 vlanid=20 netdevice=00:50:56:aa:bb:01\n`,
    )
    expect(r.warnings).toEqual([])
  })

  it('names the NIC to fetch the kickstart through on a DHCP installer too', () => {
    // Without netdevice= the installer takes the first NIC with a link, which need not be the
    // one that reaches Midwife (nor the one the kickstart's network line configures).
    const r = renderBoot(SCENARIOS.armed as BootInput, ['iso'])
    expect(text(r, 'console', 'esx01-iso-boot-options.txt').text).toBe(
      `ks=${KS} netdevice=00:50:56:aa:bb:01\n`,
    )
  })

  it('warns when the ISO line is too long or its ks= uses a DNS name', () => {
    const r = renderBoot(
      {
        site: site(),
        host: host({ kickstartUrl: `http://deploy.lab.local/${'k'.repeat(1000)}.cfg` }),
      },
      ['iso'],
    )
    expect(r.warnings.some((w) => /kernel command line is \d+ characters/.test(w))).toBe(true)
    expect(r.warnings.some((w) => w.includes('DNS name'))).toBe(true)
  })

  it('hands out the existing one-liner and the generic PBHOST line', () => {
    const r = renderBoot(SCENARIOS.armed as BootInput, ['one-liner', 'enrollment'])
    expect(text(r, 'console', 'esx01-one-liner.sh').text).toBe(
      `${oneLiner('http://10.0.0.5:8080', TOKEN)}\n`,
    )
    expect(text(r, 'console', 'pbhost-boot-options.txt').text).toBe(
      `PBHOST=10.0.0.5:8080 PBKEY=${PBKEY}\n`,
    )
  })
})

describe('disarm', () => {
  it('keeps every per-host file at its path but makes it boot the disk, with no kickstart left in it', () => {
    const armed = renderBoot(SCENARIOS.armed as BootInput, [
      'pxelinux-bios',
      'uefi-pxe',
      'uefi-http',
      'ipxe',
    ])
    const disarmed = renderBoot(SCENARIOS.disarmed as BootInput, [
      'pxelinux-bios',
      'uefi-pxe',
      'uefi-http',
      'ipxe',
    ])
    const perHost = (r: typeof armed) =>
      r.artifacts.filter((a): a is TextArtifact => a.scope === 'host' && isTextArtifact(a))
    const before = perHost(armed)
    const after = new Map(perHost(disarmed).map((a) => [`${a.delivery}:${a.path}`, a]))
    // iPXE's own boot.cfg goes away: the disarmed script exits before it would be read.
    expect(before.map((a) => `${a.delivery}:${a.path}`).filter((k) => !after.has(k))).toEqual([
      `http:/ipxe/${MAC_DIR}/boot.cfg`,
    ])
    // Armed, each installs: the kickstart is in the file, or in the boot.cfg the iPXE script names.
    for (const a of before) expect(a.text).toMatch(a.syntax === 'ipxe' ? /^kernel .* -c /m : /ks=/m)
    for (const a of after.values()) {
      expect(a.text).not.toContain('ks=')
      expect(a.text).toMatch(/^(skip=1| {2}LOCALBOOT 0|exit)$/m)
    }
  })
})

describe('the registry', () => {
  it('lists each kind once, and reports kinds whose media is missing instead of rendering them', () => {
    expect(new Set(BOOT_KINDS.map((k) => k.id)).size).toBe(BOOT_KINDS.length)
    const r = renderBoot({
      site: site({ media: { '8.0': media('8.0', { hasMbootC32: false }) } }),
      host: host(),
    })
    const pxelinux = r.kinds.find((k) => k.id === 'pxelinux-bios')
    expect(pxelinux?.applies).toBe(false)
    expect(pxelinux?.reason).toContain('mboot.c32')
    expect(r.artifacts.some((a) => a.kind === 'pxelinux-bios')).toBe(false)
  })

  it("warns when the host's version has no media", () => {
    const r = renderBoot(
      { site: site({ media: { '8.0': media('8.0') } }), host: host({ esxiVersion: '9.0' }) },
      ['uefi-pxe'],
    )
    expect(r.warnings).toContain(
      'UEFI PXE: no ESXi 9.0 media in the library, so esx01.lab.local gets boot files that boot its local disk, not the installer; add an extracted 9.0 ISO under Media.',
    )
  })

  it("gives an iPXE host whose version has no media a script that boots its disk, not the menu's install", () => {
    const r = renderBoot(
      {
        site: site({
          media: { '8.0': media('8.0') },
          enrollment: { ...site().enrollment, installUnknown: true },
        }),
        host: host({ esxiVersion: '9.0' }),
      },
      ['ipxe'],
    )
    const script = parseIpxe(text(r, 'http', `/ipxe/${MAC_DIR}.ipxe`).text)
    expect(script.commands.map((c) => c.name)).toEqual(['echo', 'sleep', 'exit', 'exit'])
    expect(script.commands[0]?.args.join(' ')).toMatch(
      /^Midwife has no ESXi 9\.0 media to install esx01\.lab\.local .* Booting the local disk instead/,
    )
  })

  it('gives a host whose version has no media PXELINUX and UEFI files that boot its disk', () => {
    const r = renderBoot(
      {
        site: site({
          media: { '8.0': media('8.0') },
          enrollment: { ...site().enrollment, installUnknown: true },
        }),
        host: host({ esxiVersion: '9.0' }),
      },
      ['pxelinux-bios', 'uefi-pxe', 'uefi-http'],
    )
    const own = r.artifacts.filter((a) => a.scope === 'host')
    expect(own.map((a) => a.kind).sort()).toEqual(['pxelinux-bios', 'uefi-http', 'uefi-pxe'])
    for (const a of own) {
      if (!('text' in a)) throw new Error(`${a.path} has no text`)
      if (a.syntax === 'pxelinux') {
        expect(a.text).toMatch(/^DEFAULT local$/m)
        expect(a.text).not.toMatch(/KERNEL|APPEND/)
      } else {
        const cfg = parseBootCfg(a.text)
        expect(bootCfgGet(cfg, 'skip')).toBe('1')
        expect(bootCfgGet(cfg, 'kernel')).toBeUndefined()
        expect(bootCfgGet(cfg, 'title')).toMatch(/no ESXi 9\.0 media to install esx01\.lab\.local/)
      }
    }
  })

  it('refuses bad input with the field named, and unknown kinds by name', () => {
    expect(() => renderBoot({ site: site(), host: host({ mac: 'nope' }) })).toThrow(ZodError)
    expect(() =>
      renderBoot({ site: site({ listener: { address: 'deploy.lab.local', port: 8080 } }) }),
    ).toThrow(/IPv4/)
    expect(() =>
      renderBoot({ site: site({ media: { '8.0': media('8.0', { tftpDir: '../etc' }) } }) }),
    ).toThrow(/TFTP root/)
    expect(() => renderBoot({ site: site() }, ['grub'])).toThrow('unknown boot kind "grub"')
  })
})

// PXELINUX (BIOS): syslinux 3.86's pxelinux.0 loads mboot.c32, which reads
// the boot.cfg named by -c. PXELINUX looks for pxelinux.cfg/01-<mac> first,
// then the hex IP, then `default` (esxi.md).
import { lengthWarning, renderBootCfg } from '../boot-cfg'
import type { BootContext, BootKind, KindResult, TextArtifact } from '../input'
import {
  genericKernelOptions,
  hostKernelOptions,
  hostLabel,
  mediaFor,
  mediaVersions,
  menuDefault,
  tftpPaths,
} from '../layout'
import {
  genericSecrets,
  hostSecrets,
  INSTALL_UNKNOWN_LOOP,
  noMediaWarning,
  versionBootCfg,
} from './shared'

const ID = 'pxelinux-bios'

const biosVersions = (c: BootContext) =>
  mediaVersions(c).filter((v) => mediaFor(c, v)?.hasMbootC32 === true)

function installLabel(label: string, dir: string, options: string): string[] {
  return [
    `LABEL ${label}`,
    `  KERNEL ${dir}/mboot.c32`,
    `  APPEND -c ${dir}/boot.cfg ${options}`,
    // IPAPPEND 2 adds BOOTIF=<mac>, so the installer uses the NIC it booted from.
    '  IPAPPEND 2',
  ]
}

const localLabel = ['LABEL local', '  LOCALBOOT 0']

function appendWarning(what: string, lines: string[]): string[] {
  return lines
    .filter((l) => l.trimStart().startsWith('APPEND '))
    .map((l) =>
      lengthWarning(
        what,
        l.trim().length - 'APPEND '.length + ' BOOTIF=01-aa-bb-cc-dd-ee-ff'.length,
      ),
    )
    .filter((w): w is string => w !== undefined)
}

function render(c: BootContext): KindResult {
  const artifacts: TextArtifact[] = []
  const warnings: string[] = []
  const versions = biosVersions(c)

  for (const v of versions) {
    const m = mediaFor(c, v)
    if (m === undefined) continue
    artifacts.push({
      kind: ID,
      scope: 'generic',
      title: `ESXi ${v} boot.cfg for network boot`,
      delivery: 'tftp',
      path: tftpPaths.versionBootCfg(m),
      text: renderBootCfg(versionBootCfg(m, m.tftpDir, v)),
      syntax: 'boot.cfg',
      secrets: [],
    })
  }

  // Off, a server no host names boots its disk and nothing else: no entry erases it.
  const install = c.site.enrollment.installUnknown
  const offered = install ? versions : []
  const menu = [
    '# Midwife: the menu for servers without their own pxelinux.cfg file.',
    install
      ? '# Type a label at the boot: prompt; without one, this boots the first install entry.'
      : '# Installing servers no host names is off (Site): this boots the local disk.',
    `DEFAULT ${offered.length > 0 ? `install-${menuDefault(c, offered)}` : 'local'}`,
    'PROMPT 1',
    'TIMEOUT 150',
    'SAY local: boot from the local disk',
    ...offered.map(
      (v) => `SAY install-${v}: install ESXi ${v} and enroll with Midwife (erases the first disk)`,
    ),
    '',
    ...localLabel,
    ...offered.flatMap((v) => {
      const m = mediaFor(c, v)
      return m === undefined
        ? []
        : ['', ...installLabel(`install-${v}`, m.tftpDir, genericKernelOptions(c))]
    }),
  ]
  warnings.push(...appendWarning('PXELINUX default menu', menu))
  if (offered.length > 0) warnings.push(INSTALL_UNKNOWN_LOOP)
  artifacts.push({
    kind: ID,
    scope: 'generic',
    title: 'PXELINUX menu for unknown servers',
    delivery: 'tftp',
    path: tftpPaths.pxelinuxDefault,
    text: `${menu.join('\n')}\n`,
    syntax: 'pxelinux',
    secrets: genericSecrets(c),
  })

  const h = c.host
  if (h !== undefined) {
    const m = mediaFor(c, h.esxiVersion)
    const header = `# Midwife: ${hostLabel(h)}`
    let lines: string[] | undefined
    if (!h.armed) {
      lines = [
        `${header}: installed. Booting the local disk; reinstalling re-arms this file.`,
        'DEFAULT local',
        'PROMPT 0',
        ...localLabel,
      ]
    } else if (m === undefined || m.hasMbootC32 !== true) {
      warnings.push(noMediaWarning('PXELINUX', h))
      // Still a file: without one PXELINUX falls back to the menu for servers no host names.
      lines = [
        `${header}: no ESXi ${h.esxiVersion} media to install from. Booting the local disk.`,
        'DEFAULT local',
        'PROMPT 0',
        ...localLabel,
      ]
    } else {
      lines = [
        `${header}: install ESXi ${h.esxiVersion}`,
        'DEFAULT install',
        'PROMPT 0',
        ...installLabel('install', m.tftpDir, hostKernelOptions(c, h)),
      ]
      warnings.push(...appendWarning(`PXELINUX file for ${hostLabel(h)}`, lines))
    }
    if (lines !== undefined) {
      artifacts.push({
        kind: ID,
        scope: 'host',
        title: `PXELINUX file for ${h.hostname}`,
        delivery: 'tftp',
        path: tftpPaths.pxelinuxConfig(h.mac),
        text: `${lines.join('\n')}\n`,
        syntax: 'pxelinux',
        secrets: hostSecrets(h),
      })
    }
  }
  return { artifacts, warnings }
}

export const pxelinuxBios: BootKind = {
  id: ID,
  label: 'PXELINUX (BIOS)',
  firmware: 'bios',
  description:
    "Legacy BIOS PXE: each host gets pxelinux.cfg/01-<mac> (KERNEL <dir>/mboot.c32, APPEND -c <dir>/boot.cfg ks=..., IPAPPEND 2) and unknown servers get pxelinux.cfg/default. The TFTP root also needs syslinux 3.86's pxelinux.0 (core/pxelinux.0 in syslinux-3.86's archive; Midwife does not ship it) named by DHCP, and each ESXi version's folder with its mboot.c32: tick 'Include the ISO files' in the TFTP bundle, or copy the ISO there.",
  applies: (c) =>
    biosVersions(c).length > 0
      ? { applies: true }
      : { applies: false, reason: 'no media in the library has mboot.c32 (BIOS boot loader)' },
  render,
}

// iPXE, BIOS and UEFI in one script: iPXE knows its platform, so a host's
// script needs no firmware setting. Scripts pass -c with the per-host
// boot.cfg URL: with -c given, mboot does no per-MAC lookup of its own.
// snponly.efi (UEFI) uses the firmware's NIC driver; iPXE's native drivers
// fail on some Dell and ConnectX NICs.
import type { Artifact, BootContext, BootKind, EsxiVersion, KindResult } from '../input'
import {
  genericKernelOptions,
  HTTP_PATHS,
  hostLabel,
  httpPaths,
  listenerBase,
  mediaFor,
  mediaVersions,
  menuDefault,
} from '../layout'
import { lengthWarning, renderBootCfg } from '../boot-cfg'
import {
  genericSecrets,
  hostBootCfg,
  hostSecrets,
  INSTALL_UNKNOWN_HELD,
  noMediaWarning,
  versionBootCfg,
} from './shared'

const ID = 'ipxe'

/**
 * Kernel lines for both platforms; iPXE picks one with `iseq ${platform} efi`. A kernel that
 * does not load or boot goes to `failed`: a failing command would end the script with an
 * error, and the menu that chained a host's script takes an error for "no script for this
 * server" and offers its own entries, an install of unknown servers among them.
 */
function bootLines(
  label: string,
  mediaUrl: string,
  cfgUrl: string,
  options: string,
  failed: string,
): string[] {
  const opts = options === '' ? '' : ` ${options}`
  return [
    `iseq \${platform} efi && goto ${label}-uefi || goto ${label}-bios`,
    `:${label}-uefi`,
    `kernel ${mediaUrl}/efi/boot/bootx64.efi -c ${cfgUrl}${opts} || goto ${failed}`,
    `boot || goto ${failed}`,
    `:${label}-bios`,
    `kernel ${mediaUrl}/mboot.c32 -c ${cfgUrl}${opts} || goto ${failed}`,
    `boot || goto ${failed}`,
  ]
}

/**
 * Says why on the console, then exit (status 0), which leaves the menu that chained the host's
 * script too: the firmware boots its next entry, the disk. No quotes in `message`.
 */
function bootDiskInstead(message: string): string[] {
  return [`echo ${message}`, 'sleep 30 || exit', 'exit']
}

function kernelWarnings(what: string, lines: string[]): string[] {
  return lines
    .filter((l) => l.startsWith('kernel '))
    .map((l) => lengthWarning(what, l.replace(/ \|\| goto \S+$/, '').length - 'kernel '.length))
    .filter((w): w is string => w !== undefined)
}

const usable = (c: BootContext): EsxiVersion[] =>
  mediaVersions(c).filter((v) => {
    const m = mediaFor(c, v)
    return m !== undefined && (m.hasBootx64Efi || m.hasMbootC32)
  })

function render(c: BootContext): KindResult {
  const base = listenerBase(c)
  const artifacts: Artifact[] = []
  const warnings: string[] = []
  const versions = usable(c)

  for (const v of versions) {
    const m = mediaFor(c, v)
    if (m === undefined) continue
    const path = httpPaths.versionBootCfg(v)
    artifacts.push({
      kind: ID,
      scope: 'generic',
      title: `ESXi ${v} boot.cfg for iPXE`,
      delivery: 'http',
      path,
      url: `${base}${path}`,
      text: renderBootCfg(versionBootCfg(m, m.url, v)),
      syntax: 'boot.cfg',
      secrets: [],
    })
  }

  // Off, a server no host names boots its disk and nothing else: no entry erases it.
  const offered = c.site.enrollment.installUnknown ? versions : []
  const install = offered.length > 0
  const menu = [
    '#!ipxe',
    '# Midwife: servers with a host definition get their own script; the rest get this menu.',
    // `&& exit`: a disarmed host's script ends with exit, which returns here.
    `chain --autofree ${base}${HTTP_PATHS.ipxe}/01-\${netX/mac:hexhyp}.ipxe && exit || goto menu`,
    ':menu',
    'menu Midwife: this server has no host definition',
    'item local Boot from the local disk',
    ...offered.map(
      (v) => `item install-${v} Install ESXi ${v} and enroll with Midwife (erases the first disk)`,
    ),
    `choose --default ${install ? `install-${menuDefault(c, offered)}` : 'local'} --timeout 15000 target || goto local`,
    'goto ${target}',
    ':local',
    'exit',
    ...offered.flatMap((v) => {
      const m = mediaFor(c, v)
      if (m === undefined) return []
      const cfgUrl = `${base}${httpPaths.versionBootCfg(v)}`
      return [
        `:install-${v}`,
        ...bootLines(`install-${v}`, m.url, cfgUrl, genericKernelOptions(c), 'local'),
      ]
    }),
  ]
  warnings.push(...kernelWarnings('iPXE menu', menu))
  if (install) warnings.push(INSTALL_UNKNOWN_HELD)
  artifacts.push({
    kind: ID,
    scope: 'generic',
    title: 'iPXE menu for unknown servers (DHCP hands this to iPXE)',
    delivery: 'http',
    path: httpPaths.ipxeMenu,
    url: `${base}${httpPaths.ipxeMenu}`,
    text: `${menu.join('\n')}\n`,
    syntax: 'ipxe',
    secrets: genericSecrets(c),
  })

  const h = c.host
  if (h !== undefined) {
    const m = mediaFor(c, h.esxiVersion)
    const scriptPath = httpPaths.ipxeHost(h.mac)
    const cfgPath = httpPaths.ipxeBootCfg(h.mac)
    let lines: string[] | undefined
    if (!h.armed) {
      lines = [
        '#!ipxe',
        `# Midwife: ${hostLabel(h)} is installed. exit hands the server back to its firmware, which boots the next entry (the disk).`,
        'exit',
      ]
    } else if (m === undefined || !(m.hasBootx64Efi || m.hasMbootC32)) {
      warnings.push(noMediaWarning('iPXE', h))
      // Still a script: without one the menu would treat this host as a server no host names.
      lines = [
        '#!ipxe',
        `# Midwife: ${hostLabel(h)}: no ESXi ${h.esxiVersion} media to install from.`,
        ...bootDiskInstead(
          `Midwife has no ESXi ${h.esxiVersion} media to install ${hostLabel(h)} from. Booting the local disk instead. Add the media on the Boot screen of Midwife.`,
        ),
      ]
    } else {
      lines = [
        '#!ipxe',
        `# Midwife: ${hostLabel(h)}: install ESXi ${h.esxiVersion}`,
        ...bootLines('install', m.url, `${base}${cfgPath}`, '', 'failed'),
        ':failed',
        ...bootDiskInstead(
          `Midwife: the ESXi ${h.esxiVersion} installer for ${hostLabel(h)} did not load, see the error above. Booting the local disk instead. Check the ESXi ${h.esxiVersion} media on the Boot screen of Midwife.`,
        ),
      ]
      const cfg = hostBootCfg('iPXE boot.cfg', c, h, m, m.url)
      warnings.push(...cfg.warnings)
      artifacts.push({
        kind: ID,
        scope: 'host',
        title: `boot.cfg for ${hostLabel(h)} (HTTP)`,
        delivery: 'http',
        path: cfgPath,
        url: `${base}${cfgPath}`,
        text: cfg.text,
        syntax: 'boot.cfg',
        secrets: hostSecrets(h),
      })
    }
    if (lines !== undefined) {
      artifacts.push({
        kind: ID,
        scope: 'host',
        title: `iPXE script for ${h.hostname}`,
        delivery: 'http',
        path: scriptPath,
        url: `${base}${scriptPath}`,
        text: `${lines.join('\n')}\n`,
        syntax: 'ipxe',
        secrets: hostSecrets(h),
      })
    }
  }
  return { artifacts, warnings }
}

export const ipxe: BootKind = {
  id: ID,
  label: 'iPXE (BIOS and UEFI)',
  firmware: 'any',
  description:
    "iPXE chain-loaded by PXE (undionly.kpxe for BIOS, snponly.efi for UEFI: it uses the firmware NIC driver, where iPXE's own drivers fail on some Dell and ConnectX NICs). DHCP gives iPXE the menu script; it chains 01-<mac>.ipxe when the server has one, which passes -c with the per-host boot.cfg URL (with -c, mboot does no per-MAC lookup). One script serves BIOS (mboot.c32) and UEFI (bootx64.efi).",
  applies: (c) =>
    usable(c).length > 0
      ? { applies: true }
      : { applies: false, reason: 'no media in the library has mboot.c32 or efi/boot/bootx64.efi' },
  render,
}

// What several kinds share: the per-host boot.cfg, the generic one, and the
// warnings that follow from the media the site has.
import {
  kernelLineWarning,
  netbootBootCfg,
  parseBootCfg,
  renderBootCfg,
  skipBootCfg,
  type BootCfg,
} from '../boot-cfg'
import type {
  Artifact,
  BootContext,
  BootContextHost,
  EsxiVersion,
  KindResult,
  MediaInfo,
} from '../input'
import {
  defaultVersion,
  genericKernelOptions,
  hostKernelOptions,
  hostLabel,
  mediaFor,
  newestUefiMedia,
} from '../layout'

export interface Rendered {
  text: string
  warnings: string[]
}

const fqdn = (h: BootContextHost) => `${h.hostname}.${h.domain}`

export function noMediaWarning(kind: string, h: BootContextHost): string {
  return `${kind}: no ESXi ${h.esxiVersion} media in the library, so ${fqdn(h)} gets boot files that boot its local disk, not the installer; add an extracted ${h.esxiVersion} ISO under Media.`
}

/** The boot.cfg a host gets: its installer with its kickstart, or skip=1 once installed. */
export function hostBootCfg(
  what: string,
  c: BootContext,
  h: BootContextHost,
  media: MediaInfo,
  prefix: string,
): Rendered {
  if (!h.armed) {
    return {
      text: renderBootCfg(skipBootCfg(`Midwife: ${fqdn(h)} is installed; booting the local disk`)),
      warnings: skipWarnings(c),
    }
  }
  const cfg = netbootBootCfg(parseBootCfg(media.bootCfg), {
    prefix,
    kernelOptions: hostKernelOptions(c, h),
    title: `Midwife: installing ESXi ${h.esxiVersion} on ${fqdn(h)}`,
  })
  return { text: renderBootCfg(cfg), warnings: lineWarnings(`${what} for ${hostLabel(h)}`, cfg) }
}

/** The boot.cfg for servers without a per-MAC folder (UEFI PXE and HTTP boot). */
export function genericBootCfg(
  what: string,
  c: BootContext,
  prefixOf: (m: MediaInfo, v: EsxiVersion) => string,
  delivery: 'tftp' | 'http',
): Rendered {
  const v = defaultVersion(c)
  const media = v === undefined ? undefined : mediaFor(c, v)
  if (!c.site.enrollment.installUnknown || v === undefined || media === undefined) {
    return {
      text: renderBootCfg(
        skipBootCfg('Midwife: this server has no host definition; booting the local disk'),
      ),
      warnings: [],
    }
  }
  const cfg = netbootBootCfg(parseBootCfg(media.bootCfg), {
    prefix: prefixOf(media, v),
    kernelOptions: genericKernelOptions(c),
    title: `Midwife: installing ESXi ${v} on an unknown server (enrolls with PBHOST)`,
  })
  return {
    text: renderBootCfg(cfg),
    warnings: [
      ...lineWarnings(`${what} for unknown servers`, cfg),
      delivery === 'tftp' ? INSTALL_UNKNOWN_LOOP : INSTALL_UNKNOWN_HELD,
    ],
  }
}

/** A version's boot.cfg for network boot, with no kickstart: the target of `-c`. */
export function versionBootCfg(media: MediaInfo, prefix: string, v: EsxiVersion): BootCfg {
  return netbootBootCfg(parseBootCfg(media.bootCfg), {
    prefix,
    title: `Midwife: ESXi ${v} installer`,
  })
}

export function lineWarnings(what: string, cfg: BootCfg, extra = ''): string[] {
  const w = kernelLineWarning(what, cfg, extra)
  return w === undefined ? [] : [w]
}

/** skip=1 is confirmed in the 9.0 loader's source only (esxi.md). */
export function skipWarnings(c: BootContext): string[] {
  const v = newestUefiMedia(c)
  if (v === '9.0') return []
  return [
    `Disarm uses skip=1 in boot.cfg, which only the ESXi 9.0 loader is confirmed to honour; add 9.0 media so its mboot.efi is served, or remove the host's per-MAC folder after install.`,
  ]
}

/**
 * The generic files install whatever boots them. The generic kickstart's %post reports the
 * install with the boot MAC, and Midwife then answers that MAC's per-MAC HTTP files (UEFI HTTP
 * boot, iPXE) with boot-from-disk; the TFTP files are the site's static copies, so a server that
 * loads them keeps looping (esxi.md's reinstall loop).
 */
export const INSTALL_UNKNOWN_LOOP =
  "Servers no host names install from the generic files whenever they boot from the network. The generic kickstart's %post tells Midwife which server it installed, but these files come from your TFTP server, which Midwife cannot change: a server that loads them from the network first starts the installer again at every reboot (erasing its first disk again, or stopping at the datastore the last install made) and never checks in. Put the disk before the network in such servers' boot order (an empty disk falls through to the network), boot them by UEFI HTTP boot or iPXE, or define them as hosts first."

/** The same for the files Midwife serves itself: the report stops the loop there. */
export const INSTALL_UNKNOWN_HELD =
  "Servers no host names install from the generic files whenever they boot from the network. Once the generic kickstart's %post reports an install, Midwife answers the per-MAC files of the NIC the server booted from with boot-from-disk, so it does not install again at its next network boot; such servers are listed in Boot material for unknown servers, where Install again undoes it. The report needs the listener advertised as an IP address; a server whose report never arrives installs again at every reboot, so putting the disk before the network in their boot order is still the safe choice (an empty disk falls through to the network)."

export function hostSecrets(h: BootContextHost): string[] {
  return [h.token]
}

export function genericSecrets(c: BootContext): string[] {
  return [c.site.enrollment.pbkey]
}

/** Where one UEFI kind puts its boot.cfg files, and how prefix= reaches the installer. */
export interface BootCfgPlace {
  kind: string
  /** For titles and warnings: "UEFI PXE", "UEFI HTTP boot". */
  label: string
  delivery: 'tftp' | 'http'
  genericPath: string
  hostPath: (mac: string) => string
  prefix: (m: MediaInfo, v: EsxiVersion) => string
  urlOf?: (path: string) => string
}

/**
 * The boot.cfg next to mboot.efi for unknown servers and the per-MAC one for
 * the host: what mboot reads when started without -c (UEFI PXE and HTTP boot).
 */
export function uefiBootCfgs(c: BootContext, p: BootCfgPlace): KindResult {
  const at = (path: string) => (p.urlOf === undefined ? {} : { url: p.urlOf(path) })
  const generic = genericBootCfg(`${p.label} boot.cfg`, c, p.prefix, p.delivery)
  const artifacts: Artifact[] = [
    {
      kind: p.kind,
      scope: 'generic',
      title: `${p.label} boot.cfg for unknown servers`,
      delivery: p.delivery,
      path: p.genericPath,
      ...at(p.genericPath),
      text: generic.text,
      syntax: 'boot.cfg',
      secrets: genericSecrets(c),
    },
  ]
  const warnings = [...generic.warnings]
  const h = c.host
  if (h !== undefined) {
    const m = mediaFor(c, h.esxiVersion)
    let text: string
    if (m === undefined || !m.hasBootx64Efi) {
      warnings.push(noMediaWarning(p.label, h))
      // Still a file: without one mboot falls back to the boot.cfg for servers no host names.
      text = renderBootCfg(
        skipBootCfg(
          `Midwife: no ESXi ${h.esxiVersion} media to install ${hostLabel(h)} from; booting the local disk`,
        ),
      )
    } else {
      const r = hostBootCfg(`${p.label} boot.cfg`, c, h, m, p.prefix(m, h.esxiVersion))
      warnings.push(...r.warnings)
      text = r.text
    }
    const path = p.hostPath(h.mac)
    artifacts.push({
      kind: p.kind,
      scope: 'host',
      title: `${p.label} boot.cfg for ${hostLabel(h)}`,
      delivery: p.delivery,
      path,
      ...at(path),
      text,
      syntax: 'boot.cfg',
      secrets: hostSecrets(h),
    })
  }
  return { artifacts, warnings }
}

/** mboot.efi and crypto64.efi, copied from the newest media that has a UEFI loader. */
export function loaderArtifacts(
  kind: string,
  c: BootContext,
  delivery: 'tftp' | 'http',
  paths: { mbootEfi: string; crypto64Efi: string },
  urlOf?: (path: string) => string,
): Artifact[] {
  const v = newestUefiMedia(c)
  const m = v === undefined ? undefined : mediaFor(c, v)
  if (v === undefined || m === undefined) return []
  const files: [string, string][] = [['mbootEfi', 'efi/boot/bootx64.efi']]
  if (m.hasCrypto64Efi) files.push(['crypto64Efi', 'efi/boot/crypto64.efi'])
  return files.map(([which, file]) => {
    const path = paths[which as keyof typeof paths]
    return {
      kind,
      scope: 'generic',
      title: `${path.split('/').at(-1)} (from the ESXi ${v} media)`,
      delivery,
      path,
      ...(urlOf === undefined ? {} : { url: urlOf(path) }),
      media: { version: v, file },
    }
  })
}

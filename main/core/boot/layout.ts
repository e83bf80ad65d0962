// Where every boot file lives: on the site's TFTP server and on the listener.
// One place, so the kinds, the DHCP generators and the listener routes agree.
import type { BootContext, BootContextHost, EsxiVersion, MediaInfo } from './input'
import { ESXI_VERSIONS } from './input'

/** Listener path prefixes. The lead's routes serve these. */
export const HTTP_PATHS = {
  /** UEFI HTTP boot tree: mboot.efi, crypto64.efi, boot.cfg, 01-<mac>/boot.cfg, <version>/boot.cfg. */
  boot: '/boot',
  /** iPXE scripts: menu.ipxe, 01-<mac>.ipxe and 01-<mac>/boot.cfg. */
  ipxe: '/ipxe',
  /** Extracted ISO files per version: /media/<version>/<file>. */
  media: '/media',
} as const

export function listenerBase(c: BootContext): string {
  return `http://${c.site.listener.address}:${c.site.listener.port}`
}

/**
 * The folder name mboot and PXELINUX look for: `01-` (Ethernet) and the MAC in
 * lower-case hex joined by hyphens. mboot asks for exactly this spelling, and
 * TFTP and HTTP servers on Linux match names case-sensitively.
 */
export function macFolder(mac: string): string {
  return `01-${mac.toLowerCase().replace(/[:-]/g, '-')}`
}

export function kickstartUrlOf(c: BootContext, host: BootContextHost): string {
  return host.kickstartUrl ?? `${listenerBase(c)}/ks/${host.token}.cfg`
}

/** The kernel options a host's installer gets: its kickstart and what the install needs. */
export function hostKernelOptions(c: BootContext, host: BootContextHost): string {
  return [`ks=${kickstartUrlOf(c, host)}`, ...host.bootOptions].join(' ')
}

export function mediaFor(c: BootContext, version: EsxiVersion): MediaInfo | undefined {
  return c.site.media[version]
}

/** Versions with media, oldest first. */
export function mediaVersions(c: BootContext): EsxiVersion[] {
  return ESXI_VERSIONS.filter((v) => c.site.media[v] !== undefined)
}

/** The version generic menus boot: the site's choice, else the newest with media. */
export function defaultVersion(c: BootContext): EsxiVersion | undefined {
  const have = mediaVersions(c)
  if (c.site.defaultVersion !== undefined && have.includes(c.site.defaultVersion)) {
    return c.site.defaultVersion
  }
  return have.at(-1)
}

/** The entry a generic menu boots by default: the default version where offered, else the newest offered. */
export function menuDefault(
  c: BootContext,
  offered: readonly EsxiVersion[],
): EsxiVersion | undefined {
  const v = defaultVersion(c)
  return v !== undefined && offered.includes(v) ? v : offered.at(-1)
}

/**
 * The newest media with a UEFI loader. esxi.md: use the newest mboot.efi for
 * every version booted (it reads older boot.cfg files, and only recent
 * loaders know `skip=1`).
 */
export function newestUefiMedia(c: BootContext): EsxiVersion | undefined {
  return mediaVersions(c)
    .filter((v) => c.site.media[v]?.hasBootx64Efi === true)
    .at(-1)
}

export const tftpPaths = {
  pxelinuxConfig: (mac: string) => `pxelinux.cfg/${macFolder(mac)}`,
  pxelinuxDefault: 'pxelinux.cfg/default',
  mbootEfi: (c: BootContext) => `${c.site.tftpBootDir}/mboot.efi`,
  crypto64Efi: (c: BootContext) => `${c.site.tftpBootDir}/crypto64.efi`,
  genericBootCfg: (c: BootContext) => `${c.site.tftpBootDir}/boot.cfg`,
  perMacBootCfg: (c: BootContext, mac: string) =>
    `${c.site.tftpBootDir}/${macFolder(mac)}/boot.cfg`,
  /** The network-boot copy of a version's boot.cfg, beside its files. */
  versionBootCfg: (m: MediaInfo) => `${m.tftpDir}/boot.cfg`,
}

export const httpPaths = {
  mbootEfi: `${HTTP_PATHS.boot}/mboot.efi`,
  crypto64Efi: `${HTTP_PATHS.boot}/crypto64.efi`,
  genericBootCfg: `${HTTP_PATHS.boot}/boot.cfg`,
  perMacBootCfg: (mac: string) => `${HTTP_PATHS.boot}/${macFolder(mac)}/boot.cfg`,
  versionBootCfg: (v: EsxiVersion) => `${HTTP_PATHS.boot}/${v}/boot.cfg`,
  ipxeMenu: `${HTTP_PATHS.ipxe}/menu.ipxe`,
  ipxeHost: (mac: string) => `${HTTP_PATHS.ipxe}/${macFolder(mac)}.ipxe`,
  /** iPXE's own copy: its prefix is the media URL even where HTTP boot's is the HTTPS front. */
  ipxeBootCfg: (mac: string) => `${HTTP_PATHS.ipxe}/${macFolder(mac)}/boot.cfg`,
  media: (v: EsxiVersion) => `${HTTP_PATHS.media}/${v}`,
}

/** The PBHOST/PBKEY boot options every generic menu carries (issue 5's discovery). */
export function enrollmentOptions(c: BootContext): string {
  return `PBHOST=${c.site.enrollment.pbhost} PBKEY=${c.site.enrollment.pbkey}`
}

/** The generic kernel options: the site's generic kickstart plus PBHOST/PBKEY. */
export function genericKernelOptions(c: BootContext): string {
  return [
    `ks=${c.site.enrollment.kickstartUrl}`,
    ...c.site.enrollment.bootOptions,
    enrollmentOptions(c),
  ].join(' ')
}

export function hostLabel(h: BootContextHost): string {
  return `${h.hostname}.${h.domain} (${h.mac})`
}

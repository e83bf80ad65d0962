// The boot kinds' input, built from what the app keeps: site settings, the
// media library, the enrollment key, a host's definition and its token. One
// place, so the boot-material screen and the files the listener serves are
// rendered from the same facts.
import { storedInstallOptions, type InstallOptions } from '../../catalogue/install'
import { resolveSpec, settingByKey } from '../../catalogue/registry'
import type { KickstartPart } from '../../catalogue/types'
import {
  ESXI_VERSIONS,
  type EsxiVersion,
  type MediaStatus,
  type Settings,
} from '../../contract/schemas'
import { hostName } from '../hosts/host-view'
import { NETBOOT_ARMED } from '../lifecycle/table'
import { mediaInfo } from '../media/library'
import type { MediaLibrary } from '../media/media-service'
import { openNamed, OTHERWISE, type SecretBox } from '../secrets'
import type { SiteService } from '../site/site-service'
import type { HostRecord, Store, StoredDefinition } from '../store'
import {
  InstallerNetwork,
  type BootHost,
  type BootInput,
  type BootSite,
  type MediaInfo,
} from './input'
import { HTTP_PATHS } from './layout'
import { discoveryKickstartUrl, installBootOptions } from './material'

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

export type Built<T> = { ok: true; value: T } | { ok: false; problem: string }

/** The listener's address and port from its advertised URL, if the address is an IP literal. */
export function listenerAddress(url: string): Built<{ address: string; port: number }> {
  const u = new URL(url)
  const port = Number(u.port || 80)
  if (!IPV4.test(u.hostname)) {
    return {
      ok: false,
      problem: `Network boot needs the listener's IPv4 address, and it is advertised as ${u.hostname}: the installer may have no DNS. Set the advertised address under Site to an IP address.`,
    }
  }
  return { ok: true, value: { address: u.hostname, port } }
}

/**
 * The installer's static address, when the host's settings fix its management
 * address before the install (for VLANs without DHCP, on the ISO boot line).
 */
export function installerNetworkOf(parts: readonly KickstartPart[]): InstallerNetwork | undefined {
  const n: Record<string, string> = {}
  for (const p of parts) Object.assign(n, p.network ?? {})
  if (!n.ip || !n.netmask || !n.gateway) return undefined
  const parsed = InstallerNetwork.safeParse({
    ip: n.ip,
    netmask: n.netmask,
    gateway: n.gateway,
    nameserver: n.nameserver?.split(',')[0],
    vlanId: n.vlanid === undefined ? undefined : Number(n.vlanid),
  })
  return parsed.success ? parsed.data : undefined
}

export class BootInputs {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly siteService: SiteService,
    readonly media: MediaLibrary,
    readonly listenerUrl: () => string,
  ) {}

  settings(): Settings {
    return this.store.settings.get()
  }

  install(): InstallOptions {
    return storedInstallOptions(this.store.settings.profile().install)
  }

  /** What the host's resolved spec decides at install time; secret settings add nothing. */
  parts(def: Pick<StoredDefinition, 'hostname' | 'domain' | 'spec'>): KickstartPart[] {
    const parts: KickstartPart[] = []
    for (const r of resolveSpec(def, this.store.settings.profile().spec, def.spec)) {
      const setting = settingByKey(r.key)
      if (setting?.kickstart && !setting.secret) parts.push(setting.kickstart(r.value))
    }
    return parts
  }

  /** Where servers fetch a version's files over HTTP. */
  mediaUrl(v: EsxiVersion): string {
    const base = this.settings().mediaBaseUrl.replace(/\/+$/, '')
    return base === '' ? `${this.listenerUrl()}${HTTP_PATHS.media}/${v}` : `${base}/${v}`
  }

  /** The library as last checked, for the screens. */
  mediaStatus(): MediaStatus[] {
    const out: MediaStatus[] = []
    for (const v of ESXI_VERSIONS) {
      const e = this.media.entry(v)
      if (e === undefined) continue
      const r = e.report
      out.push({
        version: v,
        path: e.path,
        ok: r.ok,
        build: r.build ?? null,
        files: r.files,
        missing: r.missing,
        problems: r.problems,
        url: this.mediaUrl(v),
      })
    }
    return out
  }

  private mediaInfos(tftpBootDir: string): Partial<Record<EsxiVersion, MediaInfo>> {
    const out: Partial<Record<EsxiVersion, MediaInfo>> = {}
    for (const r of this.media.usable()) {
      out[r.version] = mediaInfo(r, {
        url: this.mediaUrl(r.version),
        tftpDir: `${tftpBootDir}/${r.version}`,
      })
    }
    return out
  }

  /** The version a host installs: its own, else the site's default, else the newest there is. */
  versionFor(def: Pick<StoredDefinition, 'esxiVersion'> | null): EsxiVersion {
    const boot = this.settings().boot
    const newest = this.media.usable().at(-1)?.version
    return (
      def?.esxiVersion ??
      (boot.defaultVersion === '' ? undefined : boot.defaultVersion) ??
      newest ??
      (ESXI_VERSIONS.at(-1) as EsxiVersion)
    )
  }

  site(): Built<BootSite> {
    const listener = listenerAddress(this.listenerUrl())
    if (!listener.ok) return listener
    const s = this.settings()
    const { address, port } = listener.value
    const key = this.siteService.enrollmentKey()
    return {
      ok: true,
      value: {
        listener: { address, port },
        media: this.mediaInfos(s.boot.tftpBootDir),
        tftpBootDir: s.boot.tftpBootDir,
        enrollment: {
          pbhost: `${address}:${port}`,
          pbkey: key,
          kickstartUrl: discoveryKickstartUrl(this.listenerUrl(), key),
          installUnknown: s.boot.installUnknown,
          bootOptions: installBootOptions({ install: this.install(), parts: [] }),
        },
        ...(s.boot.defaultVersion === '' ? {} : { defaultVersion: s.boot.defaultVersion }),
        ...(s.boot.httpsBootBaseUrl === '' ? {} : { httpsBootBaseUrl: s.boot.httpsBootBaseUrl }),
        firmwareHttpsOnly: s.boot.firmwareHttpsOnly,
      },
    }
  }

  /** The host's deployment token, opened; undefined for a host without one. */
  token(h: HostRecord): string | undefined {
    const sealed = this.store.hosts.secrets(h.id)?.token
    return sealed
      ? openNamed(this.secrets, sealed, `the deployment token of ${hostName(h)}`, OTHERWISE.token)
      : undefined
  }

  /** A defined host as the boot kinds see it; its netboot is armed only in NETBOOT_ARMED states. */
  host(h: HostRecord, token: string): BootHost | undefined {
    const def = h.definition
    if (!def) return undefined
    const parts = this.parts(def)
    const network = installerNetworkOf(parts)
    return {
      hostname: def.hostname,
      domain: def.domain,
      mac: def.mac,
      token,
      armed: NETBOOT_ARMED.includes(h.state),
      esxiVersion: this.versionFor(def),
      secureBoot: def.secureBoot ?? this.settings().boot.secureBootExpected,
      bootOptions: installBootOptions({ install: this.install(), parts }),
      ...(network === undefined ? {} : { installerNetwork: network }),
    }
  }

  /** The whole input for a host (or for unknown servers without one). */
  input(h?: HostRecord, token?: string): Built<BootInput> {
    const site = this.site()
    if (!site.ok) return site
    if (h === undefined || token === undefined) return { ok: true, value: { site: site.value } }
    const host = this.host(h, token)
    return { ok: true, value: { site: site.value, ...(host === undefined ? {} : { host }) } }
  }
}

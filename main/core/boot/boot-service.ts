import type { Readable } from 'node:stream'
import { encrypt as cryptPassword } from 'unixcrypt'
import { installWarning } from '../../catalogue/install'
import { ApiCallError } from '../../contract/api'
import { STATE_INFO } from '../../contract/lifecycle'
import {
  TftpBundleRequest,
  type BootArtifact,
  type BootMaterial,
  type BootMaterialOptions,
  type DhcpFile,
  type DhcpFlavour,
  type DiscoveryMaterial,
} from '../../contract/schemas'
import { checkToken } from '../checkins/tokens'
import { hostName } from '../hosts/host-view'
import { NETBOOT_ARMED } from '../lifecycle/table'
import type { Served } from '../listener/server'
import { escapeControl, type Logger } from '../log'
import { tftpBundle } from '../media/bundle'
import type { Notifier } from '../notify'
import { openNamed, OTHERWISE, SecretUnreadable, type SecretBox } from '../secrets'
import type { SiteService } from '../site/site-service'
import type { HostRecord, Store } from '../store'
import { dhcpFiles, findings, kindReports, renderChosen, toBootArtifact } from './artifacts'
import { listenerAddress, type BootInputs } from './boot-inputs'
import type { BootInput } from './input'
import { renderBoot } from './kinds'
import {
  discoveryKickstartUrl,
  kickstartUrl,
  pbhostOptions,
  personalClient,
  renderDiscoveryKickstart,
  renderKickstart,
  type BootTemplates,
} from './material'

const DISCOVERY_PASSWORD = 'the site’s discovery root password'

/** What the boot kinds, the linter and the DHCP generators made of one input. */
/** More than a site's hosts; past it the cache starts again rather than grow. */
const MAX_CACHED_HASHES = 50_000

type BootFiles = Pick<BootMaterial, 'kinds' | 'artifacts' | 'findings' | 'dhcp' | 'warnings'>

/**
 * Boot material for the operator and the files the listener serves to
 * servers: per-host kickstarts and clients behind a live token, and the
 * generic kickstart behind the site enrollment key.
 */
export class BootService {
  /** crypt() is slow on purpose; one hash per password, not per request. */
  private readonly hashes = new Map<string, string>()

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly site: SiteService,
    private readonly templates: BootTemplates,
    private readonly inputs: BootInputs,
    /** IPv4 addresses of this machine's interfaces, for the linter. */
    private readonly interfaces: () => string[],
    private readonly notify: Notifier,
    private readonly logger: Logger,
  ) {}

  /**
   * The crypt of a sealed password, computed once per password. Keyed by the
   * sealed bytes (ciphertext), so the cache holds no digest of the plaintext
   * and a cached request does not even open the secret.
   */
  private passwordHash(sealed: Buffer, what: string, otherwise: string): string {
    const key = sealed.toString('base64')
    let hash = this.hashes.get(key)
    if (!hash) {
      hash = cryptPassword(openNamed(this.secrets, sealed, what, otherwise))
      // Rotated passwords leave stale entries behind: keep a site's worth.
      if (this.hashes.size >= MAX_CACHED_HASHES) this.hashes.clear()
      this.hashes.set(key, hash)
    }
    return hash
  }

  private listenerUrl(): string {
    return this.inputs.listenerUrl()
  }

  /** A defined host and its token, for the operator's screens and downloads. */
  private armedWith(hostId: number): { host: HostRecord; hostname: string; token: string } {
    const host = this.store.hosts.get(hostId)
    if (!host?.definition) throw new ApiCallError('not_found', `host ${hostId} has no definition`)
    const token = this.inputs.token(host)
    if (token === undefined) {
      throw new ApiCallError('not_found', `host ${hostId} has no boot material`)
    }
    return { host, hostname: host.definition.hostname, token }
  }

  private kickstartText(host: HostRecord, token: string): { text: string; hash: string } {
    const def = host.definition
    const sealed = this.store.hosts.secrets(host.id)?.rootPassword
    if (!def) throw new ApiCallError('not_found', `host ${host.id} has no definition`)
    if (!sealed) throw new ApiCallError('invalid', `host ${def.hostname} has no root password`)
    const hash = this.passwordHash(
      sealed,
      `the root password of ${hostName(host)}`,
      OTHERWISE.rootPassword,
    )
    const listener = listenerAddress(this.listenerUrl())
    const text = renderKickstart(this.templates, {
      host: { id: host.id, hostname: def.hostname, domain: def.domain, mac: def.mac },
      install: this.inputs.install(),
      parts: this.inputs.parts(def),
      token,
      listenerUrl: this.listenerUrl(),
      rootPasswordHash: hash,
      callbacks: listener.ok ? listener.value : null,
    })
    return { text, hash }
  }

  /** The kinds' artifacts, the linter's findings and the DHCP configs for one input. */
  private files(
    input: { ok: true; value: BootInput } | { ok: false; problem: string },
    o: BootMaterialOptions,
    kickstart: string | undefined,
    generic: { secureBootExpected: boolean } | undefined = undefined,
  ): BootFiles {
    if (!input.ok) {
      return {
        kinds: [],
        artifacts: [],
        findings: [
          { code: 'advertised-name', severity: 'error', where: null, message: input.problem },
        ],
        dhcp: [],
        warnings: [],
      }
    }
    const rendered = renderChosen(input.value, o.kinds)
    const all = o.kinds === undefined ? rendered : renderBoot(input.value)
    return {
      kinds: kindReports(all, o.kinds),
      artifacts: rendered.artifacts.map(toBootArtifact),
      findings: findings(input.value, rendered, {
        interfaces: this.interfaces(),
        ...(kickstart === undefined ? {} : { kickstart }),
        ...generic,
        media: this.inputs.media.reportsNow(),
      }),
      dhcp: dhcpFiles(input.value, this.inputs.settings().boot.dhcp),
      warnings: rendered.warnings,
    }
  }

  material(hostId: number, o: BootMaterialOptions = {}): BootMaterial {
    const { host, hostname, token } = this.armedWith(hostId)
    const ks = this.kickstartText(host, token)
    const url = kickstartUrl(this.listenerUrl(), token)
    const armed = NETBOOT_ARMED.includes(host.state)
    // In the listener's own words: what a server using this material is told.
    const check = checkToken(this.store, token)
    const files = this.files(this.inputs.input(host, token), o, ks.text)
    const kickstart: BootArtifact = {
      kind: 'kickstart',
      scope: 'host',
      title: 'ks.cfg',
      delivery: 'http',
      path: new URL(url).pathname,
      fileName: `${hostname}-ks.cfg`,
      url,
      text: ks.text,
      syntax: 'kickstart',
      media: null,
      secrets: [token, ks.hash],
    }
    const notes = armed
      ? []
      : [
          `${hostName(host)} is past its install: its per-MAC netboot files boot the local disk (put the PXELINUX and UEFI PXE ones on your TFTP server with a fresh bundle), and its kickstart is refused. Reinstall re-arms them.`,
        ]
    // Assigned anyway despite its MACs: the per-MAC files are named for a NIC it does not have.
    const macs = host.identity?.macs ?? []
    const mac = host.definition?.mac
    if (mac !== undefined && macs.length > 0 && !macs.includes(mac)) {
      notes.push(
        `${hostName(host)}'s MAC ${mac} is not one of the NICs its server reported (${macs.join(', ')}): per-MAC boot files named for it never reach that server. Set its MAC under Hosts to the NIC it boots from.`,
      )
    }
    return {
      hostId: host.id,
      kickstartUrl: url,
      erases: installWarning(this.inputs.install()),
      armed,
      tokenRefused: check.ok ? null : check.message,
      secrets: [token, ks.hash],
      ...files,
      artifacts: [kickstart, ...files.artifacts],
      warnings: [...notes, ...files.warnings],
    }
  }

  discovery(o: BootMaterialOptions = {}): DiscoveryMaterial {
    const sealed = this.site.sealedDiscoveryPassword()
    const key = this.site.enrollmentKey()
    // One that cannot be opened (secret.key lost) leaves the kickstart out, said, not the screen.
    let unreadable: string | null = null
    let hash: string | null = null
    try {
      if (sealed !== null)
        hash = this.passwordHash(sealed, DISCOVERY_PASSWORD, OTHERWISE.siteSecret)
    } catch (err) {
      if (!(err instanceof SecretUnreadable)) throw err
      unreadable = err.message
    }
    const url = discoveryKickstartUrl(this.listenerUrl(), key)
    const kickstart = hash === null ? null : this.discoveryKickstartText(key, hash)
    const files = this.files(this.inputs.input(), o, kickstart ?? undefined, {
      secureBootExpected: this.inputs.settings().boot.secureBootExpected,
    })
    const secrets = [key, ...(hash === null ? [] : [hash])]
    const warnings: string[] = []
    if (unreadable !== null) {
      warnings.push(`${unreadable}. Until then the generic kickstart is not served.`)
    } else if (hash === null) {
      warnings.push(
        'Set a discovery root password under Site: until then the generic kickstart is not served.',
      )
    }
    const artifacts: BootArtifact[] =
      kickstart === null
        ? []
        : [
            {
              kind: 'kickstart',
              scope: 'generic',
              title: 'Generic ks.cfg for unknown servers',
              delivery: 'http',
              path: new URL(url).pathname,
              fileName: 'generic-ks.cfg',
              url,
              text: kickstart,
              syntax: 'kickstart',
              media: null,
              secrets,
            },
          ]
    return {
      bootOptions: pbhostOptions(this.listenerUrl(), key),
      kickstartUrl: url,
      kickstart,
      hasRootPassword: sealed !== null,
      rootPasswordUnreadable: unreadable !== null,
      erases: installWarning(this.inputs.install()),
      secrets,
      ...files,
      artifacts: [...artifacts, ...files.artifacts],
      warnings: [...warnings, ...files.warnings],
    }
  }

  /** The site's DHCP configuration in one flavour, or why it cannot be generated. */
  dhcpFile(flavour: DhcpFlavour): DhcpFile {
    const input = this.inputs.input()
    if (!input.ok) throw new ApiCallError('conflict', input.problem)
    const file = dhcpFiles(input.value, this.inputs.settings().boot.dhcp).find(
      (f) => f.flavour === flavour,
    )
    if (!file) throw new ApiCallError('not_found', `no DHCP flavour "${flavour}"`)
    return file
  }

  /**
   * The TFTP-side files as a .tar.gz stream (see main/core/media/bundle.ts):
   * for a host (its files and the generic ones) or for unknown servers only.
   */
  tftpBundle(request: TftpBundleRequest): { fileName: string; stream: Readable } {
    const r = TftpBundleRequest.parse(request)
    const one = r.hostId === null ? null : this.armedWith(r.hostId)
    const name = one?.hostname ?? 'generic'
    const input = one === null ? this.inputs.input() : this.inputs.input(one.host, one.token)
    if (!input.ok) throw new ApiCallError('conflict', input.problem)
    const rendered = renderChosen(input.value, r.kinds)
    const site = input.value.site
    return {
      fileName: `midwife-tftp-${name}.tar.gz`,
      stream: tftpBundle({
        artifacts: rendered.artifacts,
        mediaRoots: this.inputs.media.roots(),
        includeMedia: r.includeMedia
          ? Object.entries(site.media).map(([version, m]) => ({
              version: version as keyof typeof site.media,
              tftpDir: m.tftpDir,
            }))
          : [],
      }),
    }
  }

  /** A host's kickstart; fetching it means its installer is running. */
  kickstart(token: string, sourceIp: string): Served {
    const check = checkToken(this.store, token)
    if (!check.ok) return check
    const host = check.host
    if (!host.definition) return { ok: false, status: 404, message: 'no kickstart for this server' }
    // Past its install, a kickstart fetched is an install starting again over the installed host:
    // a server that boots from the network first, on install files Midwife cannot disarm (the site's
    // TFTP server keeps the PXELINUX and UEFI PXE files of a bundle extracted before the install).
    if (!NETBOOT_ARMED.includes(host.state)) {
      return {
        ok: false,
        status: 409,
        message: `${hostName(host)} is ${STATE_INFO[host.state].label.toLowerCase()}, so its kickstart is not served again: installing would erase it. The server booted install files from before its install, such as a PXELINUX or UEFI PXE file on your TFTP server; extract a fresh TFTP bundle there (it boots the local disk now) or boot the disk before the network. Use Reinstall in Midwife to install it again.`,
      }
    }
    const { text } = this.kickstartText(host, token)
    const from = sourceIp.replace(/^::ffff:/, '')
    if (host.state === 'defined') {
      this.store.moveHost(host.id, 'booting', `fetched its kickstart from ${from}`, { from })
      this.notify.host(host.id)
    } else {
      this.store.events.append('host.kickstart_served', `host:${host.id}`, { from })
    }
    this.logger.info(
      `kickstart for ${escapeControl(hostName(host))} served to ${escapeControl(from)}`,
    )
    return { ok: true, text }
  }

  personalClient(token: string): Served {
    const check = checkToken(this.store, token)
    if (!check.ok) return check
    return { ok: true, text: personalClient(this.templates.client, this.listenerUrl(), token) }
  }

  genericClient(): string {
    return this.templates.client
  }

  discoveryKickstart(key: string): Served {
    if (!this.site.enrollmentMatches(key)) {
      return { ok: false, status: 401, message: 'wrong enrollment key' }
    }
    const sealed = this.site.sealedDiscoveryPassword()
    if (sealed === null) {
      return {
        ok: false,
        status: 404,
        message: 'no generic kickstart: set a discovery root password in Midwife under Site',
      }
    }
    return {
      ok: true,
      text: this.discoveryKickstartText(
        key,
        this.passwordHash(sealed, DISCOVERY_PASSWORD, OTHERWISE.siteSecret),
      ),
    }
  }

  private discoveryKickstartText(key: string, rootPasswordHash: string): string {
    const listener = listenerAddress(this.listenerUrl())
    return renderDiscoveryKickstart(this.templates, {
      listenerUrl: this.listenerUrl(),
      install: this.inputs.install(),
      enrollmentKey: key,
      rootPasswordHash,
      callbacks: listener.ok ? listener.value : null,
    })
  }
}

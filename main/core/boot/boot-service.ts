import { createHash } from 'node:crypto'
import { encrypt as cryptPassword } from 'unixcrypt'
import { ApiCallError } from '../../contract/api'
import type { BootMaterial, DiscoveryMaterial } from '../../contract/schemas'
import { checkToken } from '../checkins/tokens'
import { hostName } from '../hosts/host-view'
import { InstallOptions } from '../../catalogue/install'
import { resolveSpec, settingByKey } from '../../catalogue/registry'
import type { KickstartPart } from '../../catalogue/types'
import type { Served } from '../listener/server'
import { escapeControl, type Logger } from '../log'
import type { Notifier } from '../notify'
import type { SecretBox } from '../secrets'
import type { SiteService } from '../site/site-service'
import type { Store } from '../store'
import {
  bootMaterial,
  discoveryMaterial,
  personalClient,
  renderDiscoveryKickstart,
  renderKickstart,
  type BootTemplates,
} from './material'

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
    private readonly listenerUrl: () => string,
    private readonly notify: Notifier,
    private readonly logger: Logger,
  ) {}

  private passwordHash(password: string): string {
    const key = createHash('sha256').update(password).digest('hex')
    let hash = this.hashes.get(key)
    if (!hash) {
      hash = cryptPassword(password)
      this.hashes.set(key, hash)
    }
    return hash
  }

  private install(): InstallOptions {
    return InstallOptions.parse(this.store.settings.profile().install)
  }

  /** What the host's resolved spec decides at install time; secret settings add nothing. */
  private parts(def: { hostname: string; domain: string; spec: Record<string, unknown> }) {
    const parts: KickstartPart[] = []
    for (const r of resolveSpec(def, this.store.settings.profile().spec, def.spec)) {
      const setting = settingByKey(r.key)
      if (setting?.kickstart && !setting.secret) parts.push(setting.kickstart(r.value))
    }
    return parts
  }

  private context(hostId: number, token: string) {
    const host = this.store.hosts.get(hostId)
    const def = host?.definition
    const sealed = this.store.hosts.secrets(hostId)?.rootPassword
    if (!host || !def) throw new ApiCallError('not_found', `host ${hostId} has no definition`)
    if (!sealed) throw new ApiCallError('invalid', `host ${def.hostname} has no root password`)
    return {
      host: { id: host.id, hostname: def.hostname, domain: def.domain, mac: def.mac },
      install: this.install(),
      parts: this.parts(def),
      token,
      listenerUrl: this.listenerUrl(),
      rootPasswordHash: this.passwordHash(this.secrets.open(sealed)),
      mediaBaseUrl: this.store.settings.get().mediaBaseUrl,
    }
  }

  material(hostId: number): BootMaterial {
    const sealed = this.store.hosts.secrets(hostId)?.token
    if (!sealed) throw new ApiCallError('not_found', `host ${hostId} has no boot material`)
    return bootMaterial(this.templates, this.context(hostId, this.secrets.open(sealed)))
  }

  discovery(): DiscoveryMaterial {
    const password = this.site.discoveryPassword()
    return discoveryMaterial(this.templates, {
      listenerUrl: this.listenerUrl(),
      install: this.install(),
      enrollmentKey: this.site.enrollmentKey(),
      rootPasswordHash: password === null ? null : this.passwordHash(password),
    })
  }

  /** A host's kickstart; fetching it means its installer is running. */
  kickstart(token: string, sourceIp: string): Served {
    const check = checkToken(this.store, token)
    if (!check.ok) return check
    const host = check.host
    if (!host.definition) return { ok: false, status: 404, message: 'no kickstart for this server' }
    const text = renderKickstart(this.templates, this.context(host.id, token))
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
    const password = this.site.discoveryPassword()
    if (password === null) {
      return {
        ok: false,
        status: 404,
        message: 'no generic kickstart: set a discovery root password in Midwife under Site',
      }
    }
    return {
      ok: true,
      text: renderDiscoveryKickstart(this.templates, {
        listenerUrl: this.listenerUrl(),
        install: this.install(),
        enrollmentKey: key,
        rootPasswordHash: this.passwordHash(password),
      }),
    }
  }
}

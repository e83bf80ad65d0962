import { ApiCallError } from '../../contract/api'
import { STATE_INFO } from '../../contract/lifecycle'
import { HostInput, type Checkin, type Host, type HostPage } from '../../contract/schemas'
import { bind } from '../lifecycle/identity'
import { BUSY, IllegalTransition } from '../lifecycle/table'
import type { Notifier } from '../notify'
import { newToken, tokenHash, type SecretBox } from '../secrets'
import type { SiteService } from '../site/site-service'
import { crossCheck, resolveSpec } from '../../catalogue/registry'
import type { DefinitionFields, HostRecord, Store, StoredSpec } from '../store'
import { addressesOf, publicSpec, sealSpec } from './spec'
import { heldElsewhere } from './held-elsewhere'
import { changedSettings, noteOutdated } from './outdated'
import { hostName, toHost } from './host-view'

/**
 * Host definitions and the operator's decisions about servers: define,
 * assign, trust again, reinstall, retire. Every state change goes through the
 * lifecycle table (Store.moveHost) and is audited with its reason.
 */
export class HostsService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly site: SiteService,
    private readonly notify: Notifier,
  ) {}

  private record(id: number): HostRecord {
    const h = this.store.hosts.get(id)
    if (!h) throw new ApiCallError('not_found', `host ${id} does not exist`)
    return h
  }

  private view(id: number): Host {
    return toHost(this.store, this.record(id))
  }

  /** Runs a lifecycle move, turning a refused one into an error the operator can read. */
  private move(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      if (err instanceof IllegalTransition) throw new ApiCallError('conflict', err.message)
      throw err
    }
  }

  private notBusy(h: HostRecord, doing: string): void {
    if (BUSY.includes(h.state)) {
      throw new ApiCallError(
        'conflict',
        `cannot ${doing} ${hostName(h)} while a run is in progress`,
      )
    }
  }

  list(): Host[] {
    const profile = this.store.settings.profile().spec
    return this.store.hosts.list().map((h) => toHost(this.store, h, profile))
  }

  page(afterId: number, limit: number): HostPage {
    const profile = this.store.settings.profile().spec
    // One more than asked says whether another page follows.
    const records = this.store.hosts.listAfter(afterId, limit + 1)
    return {
      hosts: records.slice(0, limit).map((h) => toHost(this.store, h, profile)),
      more: records.length > limit,
    }
  }

  get(id: number): Host {
    return this.view(id)
  }

  checkins(id: number): Checkin[] {
    this.record(id)
    return this.store.checkins.listFor(id)
  }

  save(input: HostInput): Host {
    const { id, rootPassword, spec, clearSecrets, esxiVersion, secureBoot, ...rest } =
      HostInput.parse(input)
    const existing = id === undefined ? undefined : this.record(id)
    const fields: DefinitionFields = {
      ...rest,
      serial: rest.serial ?? null,
      // Left out: as stored (a form that does not show them keeps them).
      esxiVersion:
        esxiVersion === undefined ? (existing?.definition?.esxiVersion ?? null) : esxiVersion,
      secureBoot:
        secureBoot === undefined ? (existing?.definition?.secureBoot ?? null) : secureBoot,
      spec: sealSpec(this.secrets, spec, existing?.definition?.spec ?? {}, clearSecrets),
    }
    const conflict =
      this.store.hosts.findConflict(fields, id) ?? this.addressConflict(fields.spec, id)
    if (conflict) throw new ApiCallError('conflict', conflict)
    // Rules across settings, on what the host will be: the profile and its own values together.
    const problems = resolvedProblems(fields, this.store.settings.profile().spec)
    if (problems.length > 0) throw new ApiCallError('invalid', problems.join('; '))
    const sealedPassword = rootPassword === undefined ? null : this.secrets.seal(rootPassword)

    let hostId: number
    if (!existing) {
      if (!sealedPassword)
        throw new ApiCallError('invalid', 'rootPassword: the root password is required')
      hostId = this.store.transaction(() => this.insertDefinition(fields, sealedPassword))
    } else if (!existing.definition) {
      hostId = this.defineDiscovered(existing, fields, sealedPassword)
    } else {
      // A queued or running run keeps the snapshot it was approved with; edits apply next time.
      hostId = existing.id
      this.store.transaction(() => this.rewriteDefinition(existing.id, fields, sealedPassword))
    }
    this.notify.host(hostId)
    return this.view(hostId)
  }

  /**
   * Stores a new definition with a token of its own, audited. The caller has
   * checked it (save, or a batch) and holds the transaction.
   */
  insertDefinition(
    fields: DefinitionFields,
    sealedPassword: Buffer,
    audit: Record<string, unknown> = {},
  ): number {
    const token = newToken()
    const id = this.store.hosts.insertDefinition(
      fields,
      { rootPassword: sealedPassword, token: this.secrets.seal(token) },
      tokenHash(token),
    )
    this.store.events.append('host.created', `host:${id}`, { ...audited(fields), ...audit })
    return id
  }

  /**
   * Rewrites a checked definition, audited; a null password keeps the stored one. A
   * configured host notes the settings its next run would change (a form, a CSV import).
   */
  rewriteDefinition(
    id: number,
    fields: DefinitionFields,
    sealedPassword: Buffer | null,
    audit: Record<string, unknown> = {},
  ): void {
    const host = this.store.hosts.get(id)
    this.store.hosts.writeDefinition(id, fields, sealedPassword)
    this.store.events.append('host.updated', `host:${id}`, {
      ...audited(fields),
      passwordChanged: sealedPassword !== null,
      ...audit,
    })
    // Only a configured host has a run to be behind: a CSV import of many others reads nothing more.
    const before = host?.definition
    if (!before || host.state !== 'configured') return
    const profile = this.store.settings.profile().spec
    const changed = changedSettings(
      { definition: before, profile },
      { definition: fields, profile },
    )
    noteOutdated(this.store, id, changed, 'its definition')
  }

  /** An address this spec gives the host that another host's resolved spec already uses. */
  private addressConflict(spec: StoredSpec, exceptId?: number): string | null {
    const mine = addressesOf(spec)
    if (mine.length === 0) return null
    const seen = new Set<string>()
    for (const a of mine) {
      if (seen.has(a)) return `address ${a} is used twice in this host's settings`
      seen.add(a)
    }
    for (const other of this.store.hosts.list()) {
      if (other.id === exceptId || !other.definition) continue
      const taken = addressesOf(other.definition.spec).find((a) => seen.has(a))
      if (taken) return `address ${taken} is already used by ${hostName(other)}`
    }
    return null
  }

  /**
   * A discovered server becomes a defined host, keeping the identity it
   * reported. Without a password given, it keeps the one the generic
   * kickstart installed on it: the site's discovery root password.
   */
  private defineDiscovered(h: HostRecord, fields: DefinitionFields, given: Buffer | null): number {
    const discovery = this.site.discoveryPassword()
    const sealedPassword = given ?? (discovery === null ? null : this.secrets.seal(discovery))
    if (!sealedPassword) {
      throw new ApiCallError(
        'invalid',
        'rootPassword: the root password is required (no discovery root password is set under Site)',
      )
    }
    const macs = h.identity?.macs ?? []
    if (!macs.includes(fields.mac)) {
      throw new ApiCallError(
        'invalid',
        `mac: must be one this server reported (${macs.join(', ') || 'none'})`,
      )
    }
    const token = newToken()
    this.move(() =>
      this.store.moveHost(
        h.id,
        'checked_in',
        `defined as ${fields.hostname}.${fields.domain} from what it reported`,
        audited(fields),
        () => {
          this.store.hosts.writeDefinition(h.id, fields, sealedPassword, {
            sealed: this.secrets.seal(token),
            hash: tokenHash(token),
          })
        },
      ),
    )
    return h.id
  }

  delete(id: number): null {
    const h = this.record(id)
    this.notBusy(h, 'delete')
    this.store.transaction(() => {
      this.store.hosts.delete(id)
      this.store.events.append('host.deleted', `host:${id}`, { name: hostName(h), state: h.state })
    })
    this.notify.hostRemoved(id)
    return null
  }

  /**
   * The operator trusts what the server reported last: it was reinstalled, it
   * moved to another address, or its MACs are not the ones defined. Audited
   * with the differences they accepted.
   */
  trustReported(id: number): Host {
    const h = this.record(id)
    const attention = h.attention
    if (h.state !== 'needs_attention' || !attention) {
      throw new ApiCallError(
        'conflict',
        `${hostName(h)} is ${STATE_INFO[h.state].label.toLowerCase()}; there is no reported identity waiting to be trusted`,
      )
    }
    // Never bind a server another host holds, whatever the attention was about.
    const elsewhere = heldElsewhere(this.store, id, attention.reported, attention.checkinId)
    if (elsewhere) throw new ApiCallError('conflict', elsewhere.message)
    const macMismatch = h.definition !== null && !attention.reported.macs.includes(h.definition.mac)
    const how =
      attention.reason === 'mac_mismatch' || (attention.reason === 'bound_elsewhere' && macMismatch)
        ? 'assigned_despite_mac'
        : 'retrusted'
    const reason =
      attention.reason === 'mac_mismatch'
        ? 'assigned anyway: the operator trusts a server whose MACs are not the defined one'
        : attention.reason === 'address_changed'
          ? 'the operator accepted its new management address'
          : attention.reason === 'bound_elsewhere'
            ? 'the host that held this server is retired or deleted; the operator trusts it as this host'
            : 'the operator confirmed this server was reinstalled and trusts its new identity'
    this.move(() =>
      this.store.moveHost(
        id,
        h.definition ? 'checked_in' : 'discovered',
        reason,
        { checkin: attention.checkinId, accepted: attention.differences },
        () => {
          this.store.hosts.setIdentity(id, bind(attention.reported, how, attention.checkinId))
          this.store.hosts.setAttention(id, null)
        },
      ),
    )
    this.notify.host(id)
    return this.view(id)
  }

  /** Gives a discovered server to a definition no server is bound to yet. */
  assignDiscovered(discoveredId: number, hostId: number, confirmMacMismatch: boolean): Host {
    // In the operator's words: the ids are the screen's, never shown to them.
    const found = this.store.hosts.get(discoveredId)
    if (!found) {
      throw new ApiCallError(
        'not_found',
        'that server is no longer listed; it was dismissed or deleted',
      )
    }
    const target = this.store.hosts.get(hostId)
    if (!target) {
      throw new ApiCallError(
        'not_found',
        'that host definition was deleted; choose another, or define a host from this server',
      )
    }
    if (found.definition || found.state !== 'discovered' || !found.identity) {
      throw new ApiCallError('conflict', `${hostName(found)} is not a discovered server`)
    }
    if (!target.definition) {
      throw new ApiCallError('invalid', `${hostName(target)} is not a host definition`)
    }
    if (target.identity) {
      throw new ApiCallError(
        'conflict',
        `${hostName(target)} is already bound to a server; reinstall or retire it first`,
      )
    }
    const identity = found.identity
    const holder = this.store.hosts.heldElsewhere(identity, target.id)
    if (holder && holder.id !== found.id) {
      throw new ApiCallError(
        'conflict',
        `this server is ${hostName(holder)}: what it reports is bound to that host; retire or delete it first`,
      )
    }
    const macMatches = identity.macs.includes(target.definition.mac)
    if (!macMatches && !confirmMacMismatch) {
      throw new ApiCallError(
        'conflict',
        `none of the MACs this server reported (${identity.macs.join(', ')}) is ${target.definition.mac}, ` +
          `the MAC ${hostName(target)} is defined with; confirm to assign it anyway`,
      )
    }
    this.move(() =>
      this.store.transaction(() => {
        this.store.checkins.moveToHost(found.id, target.id)
        this.store.moveHost(
          target.id,
          'checked_in',
          macMatches
            ? `assigned the discovered server ${hostName(found)}`
            : `assigned the discovered server ${hostName(found)} despite its MACs`,
          { discovered: found.id, identity },
          () => {
            this.store.hosts.setIdentity(
              target.id,
              bind(identity, macMatches ? 'assigned' : 'assigned_despite_mac', identity.checkinId),
            )
            this.store.hosts.setAttention(target.id, null)
          },
        )
        this.store.hosts.delete(found.id)
      }),
    )
    this.notify.hostRemoved(found.id)
    this.notify.host(target.id)
    return this.view(target.id)
  }

  /**
   * Re-arms a host for a new install: a new token (the old one answers 410),
   * its netboot armed again (back to defined), and the host waits to check in
   * again. Its hardware identity is kept and checked; its host keys, address
   * and the last install report are forgotten, since a new install has new ones.
   */
  reinstall(id: number): Host {
    const h = this.record(id)
    if (!h.definition) {
      throw new ApiCallError('invalid', 'a discovered server has no installation to re-arm')
    }
    this.notBusy(h, 'reinstall')
    const token = newToken()
    const rearm = () => {
      this.store.hosts.rotateToken(id, this.secrets.seal(token), tokenHash(token))
      if (h.identity) {
        this.store.hosts.setIdentity(id, { ...h.identity, sshHostKeys: [], managementIp: null })
      }
      this.store.hosts.setAttention(id, null)
      this.store.hosts.setInstall(id, null)
      this.store.hosts.setSecureBootPath(id, null)
      this.store.runs.supersede(id)
    }
    this.move(() => {
      if (h.state === 'defined') {
        this.store.transaction(() => {
          rearm()
          this.store.events.append('host.token_rotated', `host:${id}`, {})
        })
      } else {
        this.store.moveHost(
          id,
          'defined',
          're-armed for a reinstall; the old token is retired',
          {},
          rearm,
        )
      }
    })
    this.notify.host(id)
    return this.view(id)
  }

  retire(id: number): Host {
    const h = this.record(id)
    this.notBusy(h, 'retire')
    this.move(() =>
      this.store.moveHost(
        id,
        'retired',
        'retired by the operator; its token no longer works',
        {},
        () => this.store.hosts.setAttention(id, null),
      ),
    )
    this.notify.host(id)
    return this.view(id)
  }
}

/** What the audit log keeps of a definition: its spec with secrets left out. */
function audited(f: DefinitionFields): Record<string, unknown> {
  return {
    fqdn: `${f.hostname}.${f.domain}`,
    mac: f.mac,
    serial: f.serial,
    esxiVersion: f.esxiVersion ?? null,
    secureBoot: f.secureBoot ?? null,
    spec: publicSpec(f.spec).spec,
  }
}

/** Cross-setting problems of a definition's resolved spec, as "spec.key: message". */
export function resolvedProblems(
  def: { hostname: string; domain: string; spec: StoredSpec },
  profile: StoredSpec,
): string[] {
  const values = Object.fromEntries(
    resolveSpec(def, profile, def.spec).map((r) => [r.key, r.value]),
  )
  return crossCheck(values).map((p) => `spec.${[p.key, ...(p.path ?? [])].join('.')}: ${p.message}`)
}

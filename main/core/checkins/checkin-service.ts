import { createHash } from 'node:crypto'
import type { Checkin, ReportedIdentity } from '../../contract/schemas'
import { hostName } from '../hosts/host-view'
import { attentionFor, bind, compare, macMismatch } from '../lifecycle/identity'
import { BUSY } from '../lifecycle/table'
import {
  CheckinRejected,
  interpretCheckin,
  reportedIdentity,
  storablePayload,
  type Credential,
} from '../listener/checkin'
import { escapeControl, type Logger } from '../log'
import type { Notifier } from '../notify'
import type { SiteService } from '../site/site-service'
import type { CheckinReport, HostRecord, Store } from '../store'
import { checkToken } from './tokens'

export interface CheckinAck {
  id: number
  host: string
  /** The same report arrived again and was counted, not stored anew. */
  repeat: boolean
}

/**
 * Accepts check-ins. The credential decides whether a check-in may be stored;
 * what the server reports decides who it is. A host's first accepted check-in
 * binds its identity (trust on first use); a later one that does not match
 * moves the host to needs_attention, and never silently redirects Midwife.
 */
export class CheckinService {
  constructor(
    private readonly store: Store,
    private readonly site: SiteService,
    private readonly notify: Notifier,
    private readonly logger: Logger,
  ) {}

  /** Validates, matches and commits a check-in; returns only once SQLite has it. */
  accept(credential: Credential, body: unknown, sourceIp: string): CheckinAck {
    // The credential is checked before the body is parsed: refusing is cheap.
    let tokenHost: HostRecord | undefined
    if (credential.kind === 'token') {
      const check = checkToken(this.store, credential.value)
      if (!check.ok) throw new CheckinRejected(check.status, check.message)
      tokenHost = check.host
    } else if (!this.site.enrollmentMatches(credential.value)) {
      throw new CheckinRejected(401, 'wrong enrollment key')
    }

    const { payload, report } = interpretCheckin(body)
    const source = sourceIp.replace(/^::ffff:/, '')
    const reported = reportedIdentity(report, source)
    const stored = storablePayload(payload, credential)
    const digest = createHash('sha256')
      .update(`${credential.kind}\n${source}\n${stored}`)
      .digest('hex')

    const touched = new Set<number>()
    let removed: number | null = null
    const result = this.store.transaction(() => {
      const host = tokenHost ?? this.claimant(reported)
      if (host) {
        touched.add(host.id)
        const repeatOf = this.store.checkins.latestWithDigest(host.id, digest)
        if (repeatOf !== undefined) {
          return {
            checkin: this.store.checkins.repeat(repeatOf),
            name: hostName(host),
            repeat: true,
          }
        }
        if (BUSY.includes(host.state)) {
          throw new CheckinRejected(
            409,
            `a configuration run is in progress for ${hostName(host)}; check in again when it ends`,
          )
        }
        const checkin = this.insert(host.id, credential, source, digest, stored, report)
        this.judge(host, reported, checkin.id)
        return { checkin, name: hostName(host), repeat: false }
      }
      const found = this.discover(reported, credential, source, digest, stored, report)
      touched.add(found.hostId)
      if (found.claimedBy !== null) {
        touched.add(found.claimedBy.id)
        removed = found.hostId
      }
      const name = found.claimedBy
        ? hostName(found.claimedBy)
        : hostName({
            id: found.hostId,
            definition: null,
            identity: bind(reported, 'discovered', null),
          })
      return { checkin: found.checkin, name, repeat: false }
    })

    for (const id of touched) if (id !== removed) this.notify.host(id)
    if (removed !== null) this.notify.hostRemoved(removed)
    this.notify.checkin(result.checkin)
    this.logger.info(
      `check-in #${result.checkin.id} from ${escapeControl(source)} ${result.repeat ? 'repeated' : 'stored'} (${escapeControl(result.name)})`,
    )
    return { id: result.checkin.id, host: result.name, repeat: result.repeat }
  }

  /**
   * Which known host an enrollment check-in is: one whose bound identity shares
   * a hardware identifier or a host key with it. Defined hosts come first.
   */
  private claimant(reported: ReportedIdentity): HostRecord | undefined {
    return this.store.hosts.boundLike(reported)[0]
  }

  private insert(
    hostId: number,
    credential: Credential,
    sourceIp: string,
    digest: string,
    payload: string,
    report: CheckinReport,
  ): Checkin {
    const checkin = this.store.checkins.insert({
      hostId,
      kind: credential.kind,
      sourceIp,
      digest,
      payload,
      report,
    })
    this.store.events.append('checkin.accepted', `host:${hostId}`, {
      checkin: checkin.id,
      kind: credential.kind,
      sourceIp,
    })
    return checkin
  }

  /** Compares a new check-in with what the host is trusted to be, and moves it accordingly. */
  private judge(host: HostRecord, reported: ReportedIdentity, checkinId: number): void {
    const { store } = this
    const needsAttention = (attention: NonNullable<ReturnType<typeof attentionFor>>) => {
      if (host.state === 'needs_attention') {
        // Still waiting for the operator: show the newest conflict.
        store.hosts.setAttention(host.id, attention)
        store.events.append('host.attention', `host:${host.id}`, {
          reason: attention.reason,
          checkin: checkinId,
        })
        return
      }
      store.moveHost(
        host.id,
        'needs_attention',
        attention.message,
        { checkin: checkinId, conflict: attention.reason, differences: attention.differences },
        () => store.hosts.setAttention(host.id, attention),
      )
    }

    const waiting = host.state === 'defined' || host.state === 'booting'
    const mismatch =
      waiting && host.definition ? macMismatch(host.definition.mac, reported, checkinId) : null
    const conflict =
      mismatch ??
      (host.identity ? attentionFor(compare(host.identity, reported), reported, checkinId) : null)
    if (conflict) return needsAttention(conflict)
    if (waiting) {
      // First contact, or the first after a reinstall re-armed it: bind what it reports.
      store.moveHost(
        host.id,
        'checked_in',
        'checked in; its identity is bound (trust on first use)',
        { checkin: checkinId, identity: reported },
        () => {
          store.hosts.setIdentity(host.id, bind(reported, 'first_checkin', checkinId))
          store.hosts.setAttention(host.id, null)
        },
      )
      return
    }
    // The same server again: new evidence for the same host (its check-in is
    // audited above), not a new card.
  }

  /**
   * A server no host knows, checked in with the enrollment key: recorded as
   * discovered, bound to what it reported. With auto-match on, it claims the
   * one unbound definition that has one of its MACs, if exactly one does.
   */
  private discover(
    reported: ReportedIdentity,
    credential: Credential,
    sourceIp: string,
    digest: string,
    payload: string,
    report: CheckinReport,
  ): { checkin: Checkin; hostId: number; claimedBy: HostRecord | null } {
    const { store } = this
    const hostId = store.hosts.insertDiscovered(
      bind(reported, 'discovered', null),
      'checked in with the site enrollment key',
    )
    const checkin = this.insert(hostId, credential, sourceIp, digest, payload, report)
    store.hosts.setIdentity(hostId, bind(reported, 'discovered', checkin.id))
    store.events.append('host.discovered', `host:${hostId}`, {
      checkin: checkin.id,
      identity: reported,
    })
    if (!this.site.settings().autoMatch) return { checkin, hostId, claimedBy: null }
    const candidates = store.hosts.unboundWithMac(reported.macs).filter((h) => h.definition)
    const only = candidates.length === 1 ? candidates[0] : undefined
    if (!only || (only.state !== 'defined' && only.state !== 'booting')) {
      return { checkin, hostId, claimedBy: null }
    }
    store.checkins.moveToHost(hostId, only.id)
    store.moveHost(
      only.id,
      'checked_in',
      `claimed by the auto-match rule: the only definition with MAC ${only.definition?.mac ?? ''}`,
      { checkin: checkin.id, discovered: hostId },
      () => {
        store.hosts.setIdentity(only.id, bind(reported, 'auto_matched', checkin.id))
        store.hosts.setAttention(only.id, null)
      },
    )
    store.hosts.delete(hostId)
    return { checkin: { ...checkin, hostId: only.id }, hostId, claimedBy: only }
  }
}

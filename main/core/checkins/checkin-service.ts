import { hash } from 'node:crypto'
import type {
  Attention,
  BindingKind,
  Checkin,
  InstallEvidence,
  ReportedIdentity,
} from '../../contract/schemas'
import { heldElsewhere } from '../hosts/held-elsewhere'
import { hostName } from '../hosts/host-view'
import { attentionFor, bind, compare, macMismatch } from '../lifecycle/identity'
import { AWAITING_CHECKIN, BUSY } from '../lifecycle/table'
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

interface Pending {
  credential: Credential
  /** The host its token names, as read when the check-in arrived. */
  tokenHost: HostRecord | null
  /** The hosts table's write count then: if it moved, the host is read again. */
  generation: number
  report: CheckinReport
  reported: ReportedIdentity
  source: string
  stored: string
  digest: string
  resolve: (ack: CheckinAck) => void
  reject: (error: unknown) => void
}

type Outcome = { ok: true; value: Stored } | { ok: false; error: unknown }

interface Stored {
  checkin: Checkin
  name: string
  repeat: boolean
  touched: number[]
  removed: number | null
}

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

  /** Check-ins validated and waiting for the next group commit. */
  private pending: Pending[] = []

  /**
   * Validates, matches and commits a check-in; resolves only once SQLite has
   * it. Everything that can refuse a check-in cheaply (its credential, its
   * body) runs at once; the store step is group-committed: the check-ins
   * that arrive while the event loop is busy share one transaction (each in
   * its own savepoint, so one refusal rolls back only itself), which is what
   * lets the listener keep up with a rack booting at once.
   */
  accept(
    credential: Credential,
    body: unknown,
    rawBody: string,
    sourceIp: string,
  ): Promise<CheckinAck> {
    // The credential is checked before the body is parsed: refusing is cheap.
    let tokenHost: HostRecord | null = null
    const generation = this.store.hosts.generation
    if (credential.kind === 'token') {
      const check = checkToken(this.store, credential.value)
      if (!check.ok) throw new CheckinRejected(check.status, check.message)
      tokenHost = check.host
    } else if (!this.site.enrollmentMatches(credential.value)) {
      throw new CheckinRejected(401, 'wrong enrollment key')
    }
    const { report } = interpretCheckin(body)
    const source = sourceIp.replace(/^::ffff:/, '')
    const stored = storablePayload(rawBody, credential)
    const reported = reportedIdentity(report, source)
    // The payload is hashed on its own: joined to the rest it would be copied first.
    const digest = hash(
      'sha256',
      `${credential.kind}\n${source}\n${hash('sha256', stored, 'hex')}`,
      'hex',
    )
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.commitPending())
      this.pending.push({
        credential,
        tokenHost,
        generation,
        report,
        reported,
        source,
        stored,
        digest,
        resolve,
        reject,
      })
    })
  }

  /**
   * Stores the waiting check-ins in one transaction. Refusals are rare (a
   * check-in during a run), so the batch runs optimistically: if any
   * check-in throws, the whole transaction rolls back and each is stored
   * again in a transaction of its own, so one refusal costs only itself.
   */
  private commitPending(): void {
    const batch = this.pending
    this.pending = []
    let outcomes: Outcome[]
    try {
      outcomes = this.store
        .transaction(() => batch.map((item) => this.storeOne(item)))
        .map((value): Outcome => ({ ok: true, value }))
    } catch {
      outcomes = batch.map((item): Outcome => {
        try {
          return { ok: true, value: this.store.transaction(() => this.storeOne(item)) }
        } catch (error) {
          return { ok: false, error }
        }
      })
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]
      if (!outcome?.ok) return item.reject(outcome?.error)
      const r = outcome.value
      for (const id of r.touched) if (id !== r.removed) this.notify.hostWritten(id)
      if (r.removed !== null) this.notify.hostRemoved(r.removed)
      this.notify.checkin(r.checkin)
      this.logger.info(
        `check-in #${r.checkin.id} from ${escapeControl(item.source)} ${r.repeat ? 'repeated' : 'stored'} (${escapeControl(r.name)})`,
      )
      item.resolve({ id: r.checkin.id, host: r.name, repeat: r.repeat })
    })
  }

  /** One check-in, inside the group commit: matched, compared, stored, judged. */
  private storeOne(item: Pending): Stored {
    const { credential, source, digest, stored, report, reported } = item
    const touched: number[] = []
    // The host its token named, unless a host was written since: then read it again.
    const host = !item.tokenHost
      ? this.claimant(reported)
      : this.store.hosts.generation === item.generation
        ? item.tokenHost
        : this.store.hosts.get(item.tokenHost.id)
    if (item.tokenHost && !host) {
      throw new CheckinRejected(401, 'unknown deployment token')
    }
    if (host) {
      touched.push(host.id)
      const repeatOf = this.store.checkins.latestWithDigest(host.id, digest)
      if (repeatOf !== undefined) {
        const checkin = this.store.checkins.repeat(repeatOf)
        return { checkin, name: hostName(host), repeat: true, touched, removed: null }
      }
      if (BUSY.includes(host.state)) {
        throw new CheckinRejected(
          409,
          `a configuration run is in progress for ${hostName(host)}; check in again when it ends`,
        )
      }
      const checkin = this.insert(host.id, credential, source, digest, stored, report)
      this.judge(host, reported, checkin.id)
      return { checkin, name: hostName(host), repeat: false, touched, removed: null }
    }
    const found = this.discover(reported, credential, source, digest, stored, report)
    touched.push(found.hostId)
    if (found.claimedBy === null) {
      const name = hostName({
        id: found.hostId,
        definition: null,
        identity: bind(reported, 'discovered', null),
      })
      return { checkin: found.checkin, name, repeat: false, touched, removed: null }
    }
    touched.push(found.claimedBy.id)
    return {
      checkin: found.checkin,
      name: hostName(found.claimedBy),
      repeat: false,
      touched,
      removed: found.hostId,
    }
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
    return checkin
  }

  /**
   * The check-in the Secure Boot path synthesizes: what Midwife read over SSH
   * from a host whose %firstboot (and so its check-in client) never ran. It is
   * stored as evidence of its own kind and judged like any first check-in;
   * before binding, what SSH read is also held against what the installer's
   * %post reported (serial, UUID, MACs), so another machine answering at that
   * address is a conflict, not a binding. Refuses (returns null, writes
   * nothing) when the host is no longer the installed host the path began for.
   */
  recordSecureBoot(
    hostId: number,
    install: InstallEvidence,
    report: CheckinReport,
    source: string,
    payload: string,
    reason: string,
  ): { checkin: Checkin; state: HostRecord['state'] } | null {
    const result = this.store.transaction(() => {
      const host = this.store.hosts.get(hostId)
      if (!host || host.state !== 'installed' || host.install?.at !== install.at) return null
      const reported = reportedIdentity(report, source)
      const digest = hash('sha256', `secure_boot\n${source}\n${payload}`, 'hex')
      const checkin = this.store.checkins.insert({
        hostId,
        kind: 'secure_boot',
        sourceIp: source,
        digest,
        payload,
        report,
      })
      this.judge(host, reported, checkin.id, {
        how: 'secure_boot',
        reason,
        installed: host.identity ? null : install,
      })
      const after = this.store.hosts.get(hostId)
      return { checkin, state: after?.state ?? host.state }
    })
    if (result) {
      this.notify.host(hostId)
      this.notify.checkin(result.checkin)
    }
    return result
  }

  /** Compares a new check-in with what the host is trusted to be, and moves it accordingly. */
  private judge(
    host: HostRecord,
    reported: ReportedIdentity,
    checkinId: number,
    first: { how: BindingKind; reason: string; installed: InstallEvidence | null } = {
      how: 'first_checkin',
      reason: 'checked in; its identity is bound (trust on first use)',
      installed: null,
    },
  ): void {
    const { store } = this
    const needsAttention = (attention: Attention) => {
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

    const waiting = AWAITING_CHECKIN.includes(host.state)
    const mismatch =
      waiting && host.definition ? macMismatch(host.definition.mac, reported, checkinId) : null
    const conflict =
      mismatch ??
      (host.identity
        ? attentionFor(compare(host.identity, reported), reported, checkinId)
        : first.installed
          ? notAsInstalled(first.installed, reported, checkinId)
          : null)
    // About to be bound, or offered to the operator to trust: first, is it another host?
    // (A host that matches what it is bound to was checked when it was bound.)
    const elsewhere =
      waiting || conflict ? heldElsewhere(store, host.id, reported, checkinId) : null
    if (elsewhere ?? conflict) return needsAttention((elsewhere ?? conflict) as Attention)
    if (waiting) {
      // First contact, or the first after a reinstall re-armed it: bind what it reports.
      store.moveHost(
        host.id,
        'checked_in',
        first.reason,
        { checkin: checkinId, identity: reported, via: first.how },
        () => {
          store.hosts.setIdentity(host.id, bind(reported, first.how, checkinId))
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
    if (!only || !AWAITING_CHECKIN.includes(only.state)) {
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

/**
 * What SSH read on the Secure Boot path, held against what the installer's
 * %post reported: a serial, UUID or every MAC that differs means another
 * machine answered at the installed host's address.
 */
function notAsInstalled(
  install: InstallEvidence,
  reported: ReportedIdentity,
  checkinId: number,
): Attention | null {
  const c = compare(
    {
      macs: install.macs,
      serial: install.serial,
      uuid: install.uuid,
      sshHostKeys: [],
      managementIp: null,
    },
    reported,
  )
  if (!c.identityChanged) return null
  const what = c.differences.map((d) => d.label).join(', ')
  return {
    reason: 'identity_changed',
    message:
      `The server Midwife reached over SSH at ${reported.managementIp ?? 'its address'} reports ` +
      `${what} other than its installer reported: another machine may hold that address. ` +
      'Nothing runs on it until you trust it.',
    checkinId,
    differences: c.differences.map((d) => ({ ...d, trusted: `${d.trusted} (installer)` })),
    reported,
  }
}

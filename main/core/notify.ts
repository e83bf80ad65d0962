import { NEEDS_OPERATOR } from '../contract/lifecycle'
import type { Checkin, Notice, Settings, Status } from '../contract/schemas'
import type { EventBus } from './events'
import { hostName, toHost } from './hosts/host-view'
import type { HostRecord, Store } from './store'

/** How many servers a check-in notice names. */
const NAMED = 5

/**
 * Publishes what changed, one entity at a time. Payloads are built only when a
 * screen is listening, and never as whole lists. Also says what is worth a
 * notification (a new check-in, a failed run, a batch done): check-ins that
 * arrive together (a rack powered on at once) make one notice, not one each.
 */
export class Notifier {
  /** The first few names of the check-ins gathered for the next notice, and how many there are. */
  private arrived: string[] = []
  private arrivedCount = 0
  private arrivedTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly bus: EventBus,
    private readonly store: Store,
    private readonly site: () => { settings: Settings; status: Status },
    /** How long new check-ins are gathered into one notice. */
    private readonly gatherMs = 1500,
  ) {
    // A screen catching up gets each host and check-in as it is now.
    bus.replayWith('host.changed', (id) => {
      const record = store.hosts.get(id)
      return record ? toHost(store, record) : null
    })
    bus.replayWith('checkin.changed', (id) => store.checkins.get(id) ?? null)
  }

  host(id: number): void {
    // With no screen open, the record is not read at all (an import of
    // 10,000 hosts would read each one back only to keep its id).
    const record = this.bus.listening ? this.store.hosts.get(id) : undefined
    if (record === undefined && !this.store.hosts.has(id)) return this.hostRemoved(id)
    this.emitHost(id, record)
  }

  /**
   * A host the caller has just written in a committed transaction, so it
   * exists: with no screen open nothing is read at all (each check-in's host
   * was looked up again only to learn that: a SELECT, about 10 µs in a CPU
   * profile of the listener at one connection).
   */
  hostWritten(id: number): void {
    if (this.bus.listening) this.host(id)
    else this.emitHost(id, undefined)
  }

  private emitHost(id: number, record: HostRecord | undefined): void {
    this.bus.emitEntity('host.changed', id, () =>
      toHost(this.store, record ?? (this.store.hosts.get(id) as HostRecord)),
    )
  }

  hostRemoved(id: number): void {
    this.bus.emit('host.removed', { id })
  }

  checkin(c: Checkin): void {
    this.bus.emitEntity('checkin.changed', c.id, c)
    if (c.repeats > 0) return
    // A notice names five at most: a rack checking in keeps five names, not thousands.
    if (this.arrivedCount++ < NAMED) {
      const record = c.hostId === null ? undefined : this.store.hosts.get(c.hostId)
      this.arrived.push(record ? hostName(record) : `a server at ${c.sourceIp}`)
    }
    this.arrivedTimer ??= setTimeout(() => this.flushCheckins(), this.gatherMs)
    this.arrivedTimer.unref?.()
  }

  /** Sends the gathered check-in notice now (also on shutdown). */
  flushCheckins(): void {
    if (this.arrivedTimer) clearTimeout(this.arrivedTimer)
    this.arrivedTimer = null
    const names = this.arrived
    const count = this.arrivedCount
    this.arrived = []
    this.arrivedCount = 0
    if (count === 0) return
    this.notice({
      kind: 'checkin',
      title: count === 1 ? `${names[0]} checked in` : `${count} servers checked in`,
      body:
        count === 1
          ? 'It waits on the Servers screen.'
          : `${names.join(', ')}${count > NAMED ? ', …' : ''}: they wait on the Servers screen.`,
      hostId: null,
    })
  }

  runFailed(hostId: number, runId: number, error: string | null): void {
    const record = this.store.hosts.get(hostId)
    this.notice({
      kind: 'run_failed',
      title: `Run ${runId} failed on ${record ? hostName(record) : `host ${hostId}`}`,
      body: error ?? 'See its run on the Servers screen.',
      hostId,
    })
  }

  /** A batch's runs all ended: say how. */
  batchDone(batchId: string): void {
    const states = this.store.runs.batchStates(batchId)
    if ((states.queued ?? 0) + (states.running ?? 0) > 0) return
    const done = states.done ?? 0
    const total = Object.values(states).reduce((a, n) => a + n, 0)
    const notDone = Object.entries(states)
      .filter(([s, n]) => s !== 'done' && n > 0)
      .map(([s, n]) => `${n} ${s}`)
    this.notice({
      kind: 'batch_done',
      title: `Batch finished: ${done} of ${total} configured`,
      body: notDone.length === 0 ? 'Every run is done.' : `Also ${notDone.join(', ')}.`,
      hostId: null,
    })
  }

  notice(n: Notice): void {
    this.bus.emit('notice', n)
  }

  /** Servers waiting for the operator (the app's badge). */
  needsOperator(): number {
    return this.store.hosts.countIn(NEEDS_OPERATOR)
  }

  siteChanged(): void {
    this.bus.emit('site.changed', this.site)
  }
}

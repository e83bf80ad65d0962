import type { Checkin, Settings, Status } from '../contract/schemas'
import type { EventBus } from './events'
import { toHost } from './hosts/host-view'
import type { Store } from './store'

/**
 * Publishes what changed, one entity at a time. Payloads are built only when a
 * screen is listening, and never as whole lists.
 */
export class Notifier {
  constructor(
    private readonly bus: EventBus,
    private readonly store: Store,
    private readonly site: () => { settings: Settings; status: Status },
  ) {}

  host(id: number): void {
    const record = this.store.hosts.get(id)
    if (!record) return this.hostRemoved(id)
    this.bus.emit('host.changed', () => toHost(this.store, record))
  }

  hostRemoved(id: number): void {
    this.bus.emit('host.removed', { id })
  }

  checkin(c: Checkin): void {
    this.bus.emit('checkin.changed', c)
  }

  siteChanged(): void {
    this.bus.emit('site.changed', this.site)
  }
}

import type { Host, Profile, Run, Settings, Status } from '../../../main/contract/schemas'
import type { Lost, Transport } from './api'

function upsert<T extends { id: number }>(list: T[], item: T, order: (a: T, b: T) => number): T[] {
  const i = list.findIndex((x) => x.id === item.id)
  if (i === -1) return [...list, item].sort(order)
  const copy = [...list]
  copy[i] = item
  return copy
}

/** Definitions by name, then discovered servers, as the core lists them. */
function byName(a: Host, b: Host): number {
  const da = a.definition ? 0 : 1
  const db = b.definition ? 0 : 1
  return da - db || a.name.localeCompare(b.name) || a.id - b.id
}

const newestFirst = (a: Run, b: Run) => b.id - a.id

/**
 * Everything the screens show, kept current by the core's events. Each event
 * carries one entity, so one host or run is replaced, never the whole list.
 */
export class MidwifeState {
  status = $state<Status | null>(null)
  settings = $state<Settings | null>(null)
  /** The site profile: defaults every host takes unless it sets its own, and the install options. */
  profile = $state<Profile | null>(null)
  hosts = $state<Host[]>([])
  runs = $state<Run[]>([])
  connected = $state(true)
  lost = $state<Lost | null>(null)
  loadError = $state<string | null>(null)

  constructor(readonly transport: Transport) {
    const t = transport
    t.on('site.changed', (s) => {
      this.status = s.status
      this.settings = s.settings
    })
    t.on('host.changed', (h) => (this.hosts = upsert(this.hosts, h, byName)))
    t.on('host.removed', ({ id }) => (this.hosts = this.hosts.filter((h) => h.id !== id)))
    t.on('run.changed', (r) => (this.runs = upsert(this.runs, r, newestFirst)))
    t.onConnection((up) => {
      const wasDown = !this.connected
      this.connected = up
      // Events missed while disconnected are not replayed; reload instead.
      if (up && wasDown) void this.load()
    })
    t.onLost((why) => (this.lost = why))
  }

  get api() {
    return this.transport.api
  }

  async load(): Promise<void> {
    try {
      const [status, settings, profile, hosts, runs] = await Promise.all([
        this.api.getStatus(),
        this.api.getSettings(),
        this.api.getProfile(),
        this.api.listHosts(),
        this.api.listRuns(),
      ])
      this.status = status
      this.settings = settings
      this.profile = profile
      this.hosts = hosts
      this.runs = runs
      this.loadError = null
    } catch (err) {
      this.loadError = (err as Error).message
    }
  }

  /** Replaces one host with what an action returned (its event may arrive later). */
  put(host: Host): void {
    this.hosts = upsert(this.hosts, host, byName)
  }

  putRun(run: Run): void {
    this.runs = upsert(this.runs, run, newestFirst)
  }

  get definitions(): Host[] {
    return this.hosts.filter((h) => h.definition !== null)
  }

  runById(id: number | null): Run | undefined {
    return id === null ? undefined : this.runs.find((r) => r.id === id)
  }
}

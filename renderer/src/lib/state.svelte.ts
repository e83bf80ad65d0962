import type { Checkin, Host, Run, Settings, Status } from '../../../main/contract/schemas'
import type { Transport } from './api'

function upsert<T extends { id: number }>(list: T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id)
  if (i === -1) return [item, ...list].sort((a, b) => b.id - a.id)
  const copy = [...list]
  copy[i] = item
  return copy
}

/** Everything the screens show, kept current by the core's events. */
export class MidwifeState {
  status = $state<Status | null>(null)
  settings = $state<Settings | null>(null)
  hosts = $state<Host[]>([])
  checkins = $state<Checkin[]>([])
  runs = $state<Run[]>([])
  connected = $state(true)
  loadError = $state<string | null>(null)

  constructor(readonly transport: Transport) {
    const t = transport
    t.on('status', (s) => (this.status = s))
    t.on('hosts', (h) => (this.hosts = h))
    t.on('checkin', (c) => (this.checkins = upsert(this.checkins, c)))
    t.on('run', (r) => {
      this.runs = upsert(this.runs, r)
      this.checkins = this.checkins.map((c) =>
        c.id === r.checkinId && (c.latestRunId === null || c.latestRunId <= r.id)
          ? { ...c, latestRunId: r.id, latestRunState: r.state }
          : c,
      )
    })
    t.onConnection((up) => {
      const wasDown = !this.connected
      this.connected = up
      // Events missed while disconnected are not replayed; reload instead.
      if (up && wasDown) void this.load()
    })
  }

  get api() {
    return this.transport.api
  }

  async load(): Promise<void> {
    try {
      const [status, settings, hosts, checkins, runs] = await Promise.all([
        this.api.getStatus(),
        this.api.getSettings(),
        this.api.listHosts(),
        this.api.listCheckins(),
        this.api.listRuns(),
      ])
      this.status = status
      this.settings = settings
      this.hosts = hosts
      this.checkins = checkins
      this.runs = runs
      this.loadError = null
    } catch (err) {
      this.loadError = (err as Error).message
    }
  }

  runById(id: number | null): Run | undefined {
    return id === null ? undefined : this.runs.find((r) => r.id === id)
  }
}

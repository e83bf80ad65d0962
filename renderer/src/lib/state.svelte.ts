import type {
  Host,
  OutputChunk,
  Profile,
  Run,
  RunHeader,
  Settings,
  Status,
  StepDelta,
} from '../../../main/contract/schemas'
import { parseEvent, type Lost, type Transport } from './api'
import { byName, withHost } from './hosts-list'
import { keepNewer } from './run-order'
import { SvelteMap } from 'svelte/reactivity'
import { Notices } from './notices.svelte'

/** A run's event, kept while the run is being fetched. */
type RunEvent =
  | { kind: 'header'; header: RunHeader }
  | { kind: 'step'; delta: StepDelta }
  | { kind: 'output'; chunk: OutputChunk }

/**
 * Everything the screens show, kept current by the core's events. Each event
 * carries one entity or one delta: a host, a run's header, a step's state, a
 * chunk of output. Whole runs are fetched only when a screen shows one, then
 * kept current by those deltas.
 */
export class MidwifeState {
  status = $state<Status | null>(null)
  settings = $state<Settings | null>(null)
  /** The site profile: defaults every host takes unless it sets its own, and the install options. */
  profile = $state<Profile | null>(null)
  hosts = $state<Host[]>([])
  /** Runs a screen opened, by id, with their output. */
  runs = $state<Record<number, Run>>({})
  /**
   * Run headers by id: each host's newest (loaded with the hosts) and every
   * run an event mentioned since. Their step counts drive the progress column.
   */
  headers = $state<Record<number, RunHeader>>({})
  /** The step each running run is in, by run id (from step events). */
  currentStep = $state<Record<number, string>>({})
  /** The bulk approval the screen follows: its runs' ids. */
  batch = $state<{ id: string; runIds: number[] } | null>(null)
  readonly notices: Notices
  /**
   * Runs the operator asked to cancel, with the attempt that was asked to stop: it stops at its
   * next command. A later attempt (Resume) is not cancelling.
   */
  readonly cancelAsked = new SvelteMap<number, number>()
  connected = $state(true)
  lost = $state<Lost | null>(null)
  loadError = $state<string | null>(null)
  // Bookkeeping, never shown: plain collections on purpose.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private fetching = new Set<number>()
  /**
   * What a run's events said while the run was being fetched, in order: applied over the fetched
   * run once it lands. The answer may have been read before some of them happened, and a run not
   * yet cached takes none of them (its header does, but the fetched run would replace that).
   */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private early = new Map<number, RunEvent[]>()

  constructor(readonly transport: Transport) {
    const t = transport
    t.on('site.changed', (s) => {
      this.status = s.status
      this.settings = s.settings
    })
    t.on('host.changed', (h) => this.hostChanged(h))
    t.on('host.removed', ({ id }) => this.hostRemoved(id))
    t.on('run.changed', (r) => this.runHeader(r))
    t.on('run.step', (s) => this.stepDelta(s))
    t.on('run.output', (c) => this.outputChunk(c))
    t.onConnection((up) => {
      this.connected = up
      // Back after it stopped answering: the same Midwife, nothing lost.
      if (up && this.lost === 'unreachable') this.lost = null
    })
    t.onResync(() => void this.load())
    t.onLost((why) => (this.lost = why))
    this.notices = new Notices(this)
  }

  get api() {
    return this.transport.api
  }

  private hostChanged(h: Host): void {
    this.hosts = withHost(this.hosts, h)
    this.refreshSuggesting(h.id)
  }

  private hostRemoved(id: number): void {
    this.hosts = this.hosts.filter((h) => h.id !== id)
    this.refreshSuggesting(id)
  }

  /**
   * What changed while the screens loaded, applied over what they loaded: the snapshot's answers
   * and the event stream travel apart, so a snapshot read before a host's last change can land
   * after that change's event (and the stream may open only after it). Hosts come as they are
   * now; each run's header, its newest.
   */
  private async replaySince(mark: number): Promise<void> {
    const missed = await this.api.eventsSince(mark)
    if (!missed.complete) return
    for (const e of missed.events) {
      if (e.event === 'host.changed') {
        const h = parseEvent('host.changed', e.payload)
        if (h) this.hostChanged(h)
      } else if (e.event === 'host.removed') {
        const r = parseEvent('host.removed', e.payload)
        if (r) this.hostRemoved(r.id)
      } else if (e.event === 'run.changed') {
        const r = parseEvent('run.changed', e.payload)
        if (r) this.runHeader(r)
      }
    }
  }

  async load(): Promise<void> {
    try {
      const mark = await this.api.eventSeq()
      const [status, settings, profile, hosts, latest] = await Promise.all([
        this.api.getStatus(),
        this.api.getSettings(),
        this.api.getProfile(),
        this.allHosts(),
        this.api.latestRuns(),
      ])
      this.status = status
      this.settings = settings
      this.profile = profile
      this.hosts = hosts
      this.headers = Object.fromEntries(latest.map((h) => [h.id, h]))
      void this.findBatch(latest)
      const open = Object.keys(this.runs).map(Number)
      this.runs = {}
      for (const id of open) void this.fetchRun(id)
      await this.replaySince(mark)
      this.loadError = null
    } catch (err) {
      this.loadError = (err as Error).message
    }
  }

  /** Every host, a page at a time (a hall of 10,000 in one answer strained the main process). */
  private async allHosts(): Promise<Host[]> {
    const all: Host[] = []
    for (let afterId = 0; ;) {
      const page = await this.api.listHostsPage({ afterId, limit: 1000 })
      all.push(...page.hosts)
      const last = page.hosts.at(-1)
      if (!page.more || !last) break
      afterId = last.id
    }
    return all.sort(byName)
  }

  /**
   * A discovered server's "Assign to ..." suggestions are the core's: when a
   * host one of them names changes or is deleted, or a definition that may be
   * one of them appears, those servers (only those) are read again, so a
   * suggestion does not wait for a reload.
   */
  private refreshSuggesting(id: number): void {
    // A definition no server is bound to yet may now be what a discovered server is: one with
    // its MAC or serial is read again too (the core decides what it suggests).
    const def = this.hosts.find((h) => h.id === id && h.identity === null)?.definition ?? null
    const mayBe = (d: Host) =>
      def !== null &&
      d.definition === null &&
      d.identity !== null &&
      (d.identity.macs.includes(def.mac) ||
        (def.serial !== null && d.identity.serial === def.serial))
    for (const d of this.hosts) {
      if (d.id === id || !(d.suggestions.some((s) => s.hostId === id) || mayBe(d))) continue
      this.api
        .getHost(d.id)
        .then((fresh) => {
          const now = this.hosts.find((h) => h.id === fresh.id)
          // Gone meanwhile, or an event brought a newer one: keep what is there.
          if (now && now.updatedAt <= fresh.updatedAt) this.put(fresh)
        })
        .catch(() => {
          // Gone meanwhile: its host.removed takes it off the screen.
        })
    }
  }

  /** Whether a cancel was asked for this attempt of the run (it stops at its next command). */
  cancelling(run: { id: number; attempts: number; state: string }): boolean {
    return run.state === 'running' && this.cancelAsked.get(run.id) === run.attempts
  }

  /** Replaces one host with what an action returned (its event may arrive later). */
  put(host: Host): void {
    this.hosts = withHost(this.hosts, host)
  }

  get definitions(): Host[] {
    return this.hosts.filter((h) => h.definition !== null)
  }

  /** A run with its output: from the cache, or fetched once (then kept current by events). */
  run(id: number | null): Run | undefined {
    if (id === null) return undefined
    const cached = this.runs[id]
    if (!cached) void this.fetchRun(id)
    return cached
  }

  async fetchRun(id: number): Promise<void> {
    if (this.fetching.has(id)) return
    this.fetching.add(id)
    this.early.set(id, [])
    try {
      const run = await this.api.getRun(id)
      this.runs = { ...this.runs, [id]: run }
    } catch {
      // A deleted run: nothing to show.
    } finally {
      this.fetching.delete(id)
      const early = this.early.get(id) ?? []
      this.early.delete(id)
      // In the order they came: each step, and the header, ends as its newest event says.
      for (const e of early) {
        if (e.kind === 'header') this.headerIntoRun(e.header)
        else if (e.kind === 'step') this.stepIntoRun(e.delta)
        else this.outputChunk(e.chunk)
      }
    }
  }

  /** After a reload: the newest batch among the hosts' latest runs, followed again. */
  private async findBatch(latest: RunHeader[]): Promise<void> {
    const newest = latest.filter((h) => h.batchId !== null).sort((a, b) => b.id - a.id)[0]
    if (!newest?.batchId || this.batch?.id === newest.batchId) return
    await this.followBatch(newest.batchId)
  }

  /** Follows a batch: every run of it, fetched a page at a time. */
  async followBatch(batchId: string, known: RunHeader[] = []): Promise<void> {
    // The approval's answer and these pages may be older than events already here.
    for (const h of known) keepNewer(this.headers, h)
    const ids = known.map((h) => h.id)
    let beforeId: number | undefined
    for (;;) {
      const page = await this.api.listRuns({ batchId, beforeId, limit: 1000 })
      for (const h of page.runs) {
        keepNewer(this.headers, h)
        if (!ids.includes(h.id)) ids.push(h.id)
      }
      if (!page.more) break
      beforeId = page.runs.at(-1)?.id
    }
    this.batch = { id: batchId, runIds: ids }
  }

  /** The header of a run: the newest known, from the full run when it is open. */
  header(id: number | null): RunHeader | undefined {
    return id === null ? undefined : this.headers[id]
  }

  private runHeader(h: RunHeader): void {
    this.headers[h.id] = h
    if (h.state !== 'running') delete this.currentStep[h.id]
    if (h.state !== 'running' && h.state !== 'queued') this.cancelAsked.delete(h.id)
    if (h.batchId !== null && this.batch?.id === h.batchId && !this.batch.runIds.includes(h.id)) {
      this.batch.runIds.push(h.id)
    }
    this.early.get(h.id)?.push({ kind: 'header', header: h })
    this.headerIntoRun(h)
  }

  private headerIntoRun(h: RunHeader): void {
    const run = this.runs[h.id]
    if (run) this.runs = { ...this.runs, [h.id]: { ...run, ...h } }
  }

  private stepDelta(d: StepDelta): void {
    const header = this.headers[d.runId]
    // Steps run in order: once step n is done or skipped, so are the n - 1 before it.
    if (header && (d.state === 'done' || d.state === 'skipped') && d.seq > header.stepsDone) {
      header.stepsDone = Math.min(d.seq, header.stepsTotal)
    }
    if (d.state === 'running') this.currentStep[d.runId] = d.title
    this.early.get(d.runId)?.push({ kind: 'step', delta: d })
    this.stepIntoRun(d)
  }

  private stepIntoRun(d: StepDelta): void {
    const run = this.runs[d.runId]
    if (!run) return
    const { runId: _r, ...fields } = d
    const steps = run.steps.map((s) => (s.id === d.id ? { ...s, ...fields } : s))
    this.runs = { ...this.runs, [d.runId]: { ...run, steps } }
  }

  private outputChunk(c: OutputChunk): void {
    this.early.get(c.runId)?.push({ kind: 'output', chunk: c })
    const run = this.runs[c.runId]
    if (!run || c.seq <= run.outputSeq) return
    if (c.firstSeq <= run.outputSeq) {
      // Part of it arrived with the fetched run: fetch the rest instead of doubling a line.
      void this.fetchRun(c.runId)
      return
    }
    const steps = run.steps.map((s) =>
      s.id === c.stepId ? { ...s, output: s.output + c.text } : s,
    )
    this.runs = { ...this.runs, [c.runId]: { ...run, steps, outputSeq: c.seq } }
  }

  /**
   * After approving: show the queued run at once, then read it again, since its first events may
   * have come before this answer (a run not yet cached takes none of them).
   */
  putRun(run: Run): void {
    this.runs = { ...this.runs, [run.id]: run }
    void this.fetchRun(run.id)
  }
}

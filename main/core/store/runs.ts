import { z } from 'zod'
import {
  PlanItem,
  RunState,
  StepState,
  type OutputChunk,
  type Run,
  type RunHeader,
  type Step,
  type StepDelta,
} from '../../contract/schemas'
import { lastHeard } from '../clock'
import { now, statements, type Db } from './db'

const HeaderRow = z.object({
  id: z.number().int(),
  checkin_id: z.number().int().nullable(),
  host_id: z.number().int().nullable(),
  host_name: z.string().nullable(),
  target: z.string(),
  state: RunState,
  error: z.string().nullable(),
  attempts: z.number().int(),
  batch_id: z.string().nullable(),
  superseded_at: z.string().nullable(),
  retry_refused: z.string().nullable(),
  steps_total: z.number().int(),
  steps_done: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
})

const StepRow = z.object({
  id: z.number().int(),
  run_id: z.number().int(),
  seq: z.number().int(),
  key: z.string(),
  title: z.string(),
  state: StepState,
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
})

const OutputRow = z.object({
  id: z.number().int(),
  run_id: z.number().int(),
  step_id: z.number().int(),
  text: z.string(),
})

const HEADER = `id, checkin_id, host_id, host_name, target, state, error, attempts, batch_id,
  superseded_at,
  CASE WHEN state = 'failed' THEN
    (SELECT CASE WHEN json_type(e.data, '$.replan') = 'true'
                 THEN COALESCE(json_extract(e.data, '$.error'), '') END
       FROM events e WHERE e.subject = 'run:' || runs.id AND e.type = 'run.step_failed'
       ORDER BY e.id DESC LIMIT 1)
  END AS retry_refused,
  (SELECT COUNT(*) FROM run_steps s WHERE s.run_id = runs.id) AS steps_total,
  (SELECT COUNT(*) FROM run_steps s WHERE s.run_id = runs.id AND s.state IN ('done', 'skipped'))
    AS steps_done,
  created_at, started_at, finished_at`

function toHeader(row: unknown): RunHeader {
  const r = HeaderRow.parse(row)
  return {
    id: r.id,
    checkinId: r.checkin_id,
    hostId: r.host_id,
    hostName: r.host_name,
    target: r.target,
    state: r.state,
    error: r.error,
    attempts: r.attempts,
    batchId: r.batch_id,
    supersededAt: r.superseded_at,
    retryRefused: r.retry_refused,
    stepsTotal: r.steps_total,
    stepsDone: r.steps_done,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }
}

function toDelta(row: unknown): StepDelta {
  const r = StepRow.parse(row)
  return {
    runId: r.run_id,
    id: r.id,
    seq: r.seq,
    key: r.key,
    title: r.title,
    state: r.state,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }
}

export interface NewRun {
  checkinId: number | null
  hostId: number
  hostName: string
  target: string
  /** What was approved (settings and identity, no secrets): the run executes this, nothing else. */
  snapshot: unknown
  /** The root password as it was when approved, still sealed. */
  sealedPassword: Buffer
  /** The plan as the operator saw it when approving. */
  plan: PlanItem[]
  steps: Array<{ key: string; title: string }>
  /** The bulk approval it is part of, if any. */
  batchId?: string | null
}

/** A run interrupted by Midwife stopping, and the step it stopped in. */
export interface InterruptedRun {
  runId: number
  hostId: number | null
  /** The key of the step it stopped in (null: before it started), and that step's title. */
  step: string | null
  stepTitle: string | null
  /** When Midwife was last heard from: it stopped some time after. */
  lastSeen: string
}

/** A step that ends a run early. */
export type EndedStep = 'done' | 'failed' | 'skipped' | 'cancelled'

export class RunsTable {
  private readonly q: ReturnType<typeof statements>

  constructor(private readonly db: Db) {
    this.q = statements(db)
  }

  create(r: NewRun): Run {
    const id = this.db.transaction(() => {
      const info = this.q(
        `INSERT INTO runs (checkin_id, host_id, host_name, target, state, snapshot,
           sealed_password, plan, created_at, batch_id)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
      ).run(
        r.checkinId,
        r.hostId,
        r.hostName,
        r.target,
        JSON.stringify(r.snapshot),
        r.sealedPassword,
        JSON.stringify(r.plan),
        now(),
        r.batchId ?? null,
      )
      const runId = Number(info.lastInsertRowid)
      const addStep = this.q(
        `INSERT INTO run_steps (run_id, seq, key, title, state) VALUES (?, ?, ?, ?, 'pending')`,
      )
      r.steps.forEach((s, i) => addStep.run(runId, i + 1, s.key, s.title))
      return runId
    })()
    return this.get(id) as Run
  }

  /** The settings a run's plan left out (not supported on that host), by key. */
  leftOut(id: number): string[] {
    const row = this.q('SELECT plan FROM runs WHERE id = ?').get(id) as
      { plan: string | null } | undefined
    if (!row?.plan) return []
    return z
      .array(PlanItem)
      .parse(JSON.parse(row.plan))
      .filter((i) => i.status === 'skipped')
      .map((i) => i.key)
  }

  /** The approved snapshot and the sealed password it logs in with. */
  approved(id: number): { snapshot: unknown; sealedPassword: Buffer | null } | undefined {
    const row = this.q('SELECT snapshot, sealed_password FROM runs WHERE id = ?').get(id) as
      { snapshot: string | null; sealed_password: Buffer | null } | undefined
    if (!row) return undefined
    return {
      snapshot: row.snapshot === null ? null : (JSON.parse(row.snapshot) as unknown),
      sealedPassword: row.sealed_password,
    }
  }

  header(id: number): RunHeader | undefined {
    const row = this.q(`SELECT ${HEADER} FROM runs WHERE id = ?`).get(id)
    return row === undefined ? undefined : toHeader(row)
  }

  steps(runId: number): StepDelta[] {
    return this.q('SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq').all(runId).map(toDelta)
  }

  step(stepId: number): StepDelta | undefined {
    const row = this.q('SELECT * FROM run_steps WHERE id = ?').get(stepId)
    return row === undefined ? undefined : toDelta(row)
  }

  /** A whole run: header, plan, steps and each step's output. */
  get(id: number): Run | undefined {
    const header = this.header(id)
    if (!header) return undefined
    const plan = this.q('SELECT plan FROM runs WHERE id = ?').get(id) as { plan: string }
    const text = new Map<number, string>()
    let outputSeq = 0
    for (const c of this.output(id, 0, Number.MAX_SAFE_INTEGER)) {
      text.set(c.stepId, (text.get(c.stepId) ?? '') + c.text)
      outputSeq = c.seq
    }
    const steps: Step[] = this.steps(id).map(({ runId: _r, ...s }) => ({
      ...s,
      output: text.get(s.id) ?? '',
    }))
    return {
      ...header,
      outputSeq,
      plan: z.array(PlanItem).parse(JSON.parse(plan.plan)),
      steps,
    }
  }

  /** Run headers, newest first; `more` says whether older ones exist. */
  list(o: { hostId?: number; batchId?: string; beforeId?: number; limit: number }): {
    runs: RunHeader[]
    more: boolean
  } {
    const rows = this.q(
      `SELECT ${HEADER} FROM runs
       WHERE (? IS NULL OR host_id = ?) AND (? IS NULL OR batch_id = ?) AND (? IS NULL OR id < ?)
       ORDER BY id DESC LIMIT ?`,
    ).all(
      o.hostId ?? null,
      o.hostId ?? null,
      o.batchId ?? null,
      o.batchId ?? null,
      o.beforeId ?? null,
      o.beforeId ?? null,
      o.limit + 1,
    )
    return { runs: rows.slice(0, o.limit).map(toHeader), more: rows.length > o.limit }
  }

  /** Each host's current run, every host (the Servers table's progress column). */
  currentPerHost(): RunHeader[] {
    return this.q(
      `SELECT ${HEADER} FROM runs
       WHERE id IN (SELECT MAX(id) FROM runs
                     WHERE host_id IS NOT NULL AND superseded_at IS NULL GROUP BY host_id)
       ORDER BY id`,
    )
      .all()
      .map(toHeader)
  }

  /** How a batch's runs stand: their count by state. */
  batchStates(batchId: string): Partial<Record<RunHeader['state'], number>> {
    const rows = this.q(
      'SELECT state, COUNT(*) AS n FROM runs WHERE batch_id = ? GROUP BY state',
    ).all(batchId) as Array<{ state: RunHeader['state']; n: number }>
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  }

  /** Every run of a host, oldest first. */
  idsFor(hostId: number): number[] {
    const rows = this.q('SELECT id FROM runs WHERE host_id = ? ORDER BY id').all(hostId)
    return z
      .array(z.object({ id: z.number().int() }))
      .parse(rows)
      .map((r) => r.id)
  }

  /**
   * The host's current run: its latest since it was last re-armed for a
   * reinstall. A run of an earlier installation is history, never current.
   */
  currentFor(hostId: number): number | null {
    const row = this.q(
      'SELECT MAX(id) AS id FROM runs WHERE host_id = ? AND superseded_at IS NULL',
    ).get(hostId) as { id: number | null }
    return row.id
  }

  /** The host was re-armed for a reinstall: its runs so far are history. */
  supersede(hostId: number): void {
    this.q('UPDATE runs SET superseded_at = ? WHERE host_id = ? AND superseded_at IS NULL').run(
      now(),
      hostId,
    )
  }

  /** A run that is queued or running for this host, if any. */
  activeFor(hostId: number): number | undefined {
    const row = this.q(
      `SELECT id FROM runs WHERE host_id = ? AND state IN ('queued', 'running')`,
    ).get(hostId) as { id: number } | undefined
    return row?.id
  }

  /**
   * Hosts a run holds (approved or configuring) with no run queued or running,
   * and their latest run: what a Midwife stopped between a run's end and its
   * host's move left (before the two were one transaction).
   */
  heldWithoutRun(): Array<{ hostId: number; runId: number | null; runState: string | null }> {
    return this.q(
      `SELECT h.id AS hostId, r.id AS runId, r.state AS runState
         FROM hosts h
         LEFT JOIN runs r ON r.id = (SELECT MAX(id) FROM runs
                                      WHERE host_id = h.id AND superseded_at IS NULL)
        WHERE h.state IN ('approved', 'configuring')
          AND NOT EXISTS (SELECT 1 FROM runs q
                           WHERE q.host_id = h.id AND q.state IN ('queued', 'running'))
        ORDER BY h.id`,
    ).all() as Array<{ hostId: number; runId: number | null; runState: string | null }>
  }

  /** Every run queued or running, oldest first: what a stopping Midwife waits for. */
  inProgress(): Array<{ id: number; hostName: string }> {
    return this.q(
      `SELECT id, host_name AS hostName FROM runs WHERE state IN ('queued', 'running') ORDER BY id`,
    ).all() as Array<{ id: number; hostName: string }>
  }

  markRunning(id: number): void {
    this.q(
      `UPDATE runs SET state = 'running', started_at = COALESCE(started_at, ?) WHERE id = ?`,
    ).run(now(), id)
  }

  finish(id: number, state: 'done' | 'failed' | 'cancelled', error: string | null): void {
    this.q('UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(
      state,
      error,
      now(),
      id,
    )
  }

  /**
   * Queues a finished-but-unfinished run again: its steps from the first one
   * not done (and the connection, which a new attempt always opens) go back
   * to pending; done steps keep their state and output.
   */
  requeue(id: number): void {
    this.db.transaction(() => {
      this.q(
        `UPDATE runs SET state = 'queued', error = NULL, finished_at = NULL,
           attempts = attempts + 1 WHERE id = ?`,
      ).run(id)
      this.q(
        `UPDATE run_steps SET state = 'pending', error = NULL, started_at = NULL, finished_at = NULL
         WHERE run_id = ? AND (state <> 'done' OR key = 'connect')`,
      ).run(id)
    })()
  }

  /**
   * Ends a run that stopped without recording its end (its job crashed): the
   * step it was in ends as `state` with `stepError`, the steps it did not reach
   * are skipped (cancelled, for a cancel), and the run ends as `state`.
   */
  endStopped(id: number, state: 'failed' | 'cancelled', error: string, stepError: string): void {
    this.db.transaction(() => {
      const t = now()
      this.q(
        `UPDATE run_steps SET state = ?, error = ?, finished_at = ? WHERE run_id = ? AND state = 'running'`,
      ).run(state, stepError, t, id)
      this.q(
        `UPDATE run_steps SET state = ?, finished_at = ? WHERE run_id = ? AND state = 'pending'`,
      ).run(state === 'cancelled' ? 'cancelled' : 'skipped', t, id)
      this.q('UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(
        state,
        error,
        t,
        id,
      )
    })()
  }

  startStep(stepId: number): void {
    this.q(
      `UPDATE run_steps SET state = 'running', started_at = ?, finished_at = NULL WHERE id = ?`,
    ).run(now(), stepId)
  }

  /** Appends a chunk of a step's output; returns its sequence number. */
  appendOutput(runId: number, stepId: number, text: string): number {
    return Number(
      this.q('INSERT INTO run_output (run_id, step_id, at, text) VALUES (?, ?, ?, ?)').run(
        runId,
        stepId,
        now(),
        text,
      ).lastInsertRowid,
    )
  }

  /** A run's output after `afterSeq`, oldest first. */
  output(runId: number, afterSeq: number, limit: number): OutputChunk[] {
    return this.q(
      'SELECT id, run_id, step_id, text FROM run_output WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?',
    )
      .all(runId, afterSeq, limit)
      .map((row) => {
        const r = OutputRow.parse(row)
        return { runId: r.run_id, stepId: r.step_id, firstSeq: r.id, seq: r.id, text: r.text }
      })
  }

  finishStep(stepId: number, state: EndedStep, error: string | null): void {
    this.q('UPDATE run_steps SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(
      state,
      error,
      now(),
      stepId,
    )
  }

  /**
   * The last moment the runs show Midwife running: the latest time a run, a
   * step of a run in progress or an output chunk was stamped with (a step of a
   * run that ended, ended before it). Every run in progress stopped with the
   * process, some time after this.
   */
  private lastSign(): string | null {
    const row = this.q(
      `SELECT MAX(t) AS t FROM (
         SELECT MAX(created_at, COALESCE(started_at, ''), COALESCE(finished_at, '')) AS t
           FROM runs
         UNION ALL
         SELECT MAX(COALESCE(s.started_at, ''), COALESCE(s.finished_at, ''))
           FROM run_steps s JOIN runs r ON r.id = s.run_id
          WHERE r.state IN ('queued', 'running')
         UNION ALL
         SELECT at FROM (SELECT at FROM run_output ORDER BY id DESC LIMIT 1))`,
    ).get() as { t: string | null }
    return row.t || null
  }

  /**
   * Runs left queued or running by a Midwife that stopped (a crash, kill -9, a
   * power cut): they are marked interrupted, not failed, with the step they
   * stopped in; pending steps stay pending, and every output line is kept.
   * They end when Midwife was last heard from, not when it started again
   * (after a night away the step would seem to have run all night), and their
   * error says it stopped some time after that.
   */
  markInterrupted(): InterruptedRun[] {
    return this.db.transaction(() => {
      const runs = this.q(
        `SELECT id, host_id FROM runs WHERE state IN ('queued', 'running') ORDER BY id`,
      ).all() as Array<{ id: number; host_id: number | null }>
      if (runs.length === 0) return []
      const t = now()
      const lastSeen = this.lastSign() ?? t
      const heard = lastHeard(lastSeen, t)
      return runs.map((r) => {
        const step = this.q(
          `SELECT key, title FROM run_steps WHERE run_id = ? AND state = 'running' ORDER BY seq LIMIT 1`,
        ).get(r.id) as { key: string; title: string } | undefined
        this.q(
          `UPDATE run_steps SET state = 'interrupted', error = ?, finished_at = ?
           WHERE run_id = ? AND state = 'running'`,
        ).run(`Midwife stopped during this step (${heard})`, lastSeen, r.id)
        this.q(
          `UPDATE runs SET state = 'interrupted', error = ?, finished_at = ? WHERE id = ?`,
        ).run(
          step
            ? `Midwife stopped during this run (${heard}, in step "${step.title}")`
            : `Midwife stopped before this run started (${heard})`,
          lastSeen,
          r.id,
        )
        return {
          runId: r.id,
          hostId: r.host_id,
          step: step?.key ?? null,
          stepTitle: step?.title ?? null,
          lastSeen,
        }
      })
    })()
  }
}

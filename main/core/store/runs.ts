import { z } from 'zod'
import { RunState, StepState, type Run, type Step } from '../../contract/schemas'
import { now, type Db } from './db'

const RunRow = z.object({
  id: z.number().int(),
  checkin_id: z.number().int(),
  host_id: z.number().int().nullable(),
  host_name: z.string().nullable(),
  target: z.string(),
  state: RunState,
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
})

const StepRow = z.object({
  id: z.number().int(),
  seq: z.number().int(),
  key: z.string(),
  title: z.string(),
  state: StepState,
  output: z.string(),
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
})

function toStep(row: unknown): Step {
  const r = StepRow.parse(row)
  return {
    id: r.id,
    seq: r.seq,
    key: r.key,
    title: r.title,
    state: r.state,
    output: r.output,
    error: r.error,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }
}

export interface NewRun {
  checkinId: number
  hostId: number | null
  hostName: string | null
  target: string
  steps: Array<{ key: string; title: string }>
}

export class RunsTable {
  constructor(private readonly db: Db) {}

  create(r: NewRun): Run {
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs (checkin_id, host_id, host_name, target, state, created_at)
           VALUES (?, ?, ?, ?, 'queued', ?)`,
        )
        .run(r.checkinId, r.hostId, r.hostName, r.target, now())
      const runId = Number(info.lastInsertRowid)
      const addStep = this.db.prepare(
        `INSERT INTO run_steps (run_id, seq, key, title, state) VALUES (?, ?, ?, ?, 'pending')`,
      )
      r.steps.forEach((s, i) => addStep.run(runId, i + 1, s.key, s.title))
      return runId
    })()
    return this.get(id) as Run
  }

  get(id: number): Run | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id)
    if (row === undefined) return undefined
    const r = RunRow.parse(row)
    const steps = this.db
      .prepare('SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq')
      .all(id)
      .map(toStep)
    return {
      id: r.id,
      checkinId: r.checkin_id,
      hostId: r.host_id,
      hostName: r.host_name,
      target: r.target,
      state: r.state,
      error: r.error,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      steps,
    }
  }

  list(limit = 200): Run[] {
    const ids = this.db.prepare('SELECT id FROM runs ORDER BY id DESC LIMIT ?').pluck().all(limit)
    return z
      .array(z.number())
      .parse(ids)
      .map((id) => this.get(id) as Run)
  }

  /** A run that is queued or running for this check-in, if any. */
  active(checkinId: number): number | undefined {
    const id = this.db
      .prepare(`SELECT id FROM runs WHERE checkin_id = ? AND state IN ('queued', 'running')`)
      .pluck()
      .get(checkinId)
    return id === undefined ? undefined : z.number().parse(id)
  }

  markRunning(id: number): void {
    this.db.prepare(`UPDATE runs SET state = 'running', started_at = ? WHERE id = ?`).run(now(), id)
  }

  finish(id: number, state: 'done' | 'failed', error: string | null): void {
    this.db
      .prepare('UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(state, error, now(), id)
  }

  startStep(stepId: number): void {
    this.db
      .prepare(`UPDATE run_steps SET state = 'running', started_at = ? WHERE id = ?`)
      .run(now(), stepId)
  }

  appendOutput(stepId: number, text: string): void {
    this.db.prepare('UPDATE run_steps SET output = output || ? WHERE id = ?').run(text, stepId)
  }

  finishStep(stepId: number, state: 'done' | 'failed' | 'skipped', error: string | null): void {
    this.db
      .prepare('UPDATE run_steps SET state = ?, error = ?, finished_at = ? WHERE id = ?')
      .run(state, error, now(), stepId)
  }

  /**
   * Runs left queued or running by a Midwife that stopped: they cannot resume
   * mid-command, so they are closed as failed with a reason, keeping their output.
   */
  failInterrupted(reason: string): number[] {
    return this.db.transaction(() => {
      const ids = z
        .array(z.number())
        .parse(
          this.db.prepare(`SELECT id FROM runs WHERE state IN ('queued', 'running')`).pluck().all(),
        )
      const t = now()
      for (const id of ids) {
        this.db
          .prepare(
            `UPDATE run_steps SET state = CASE WHEN state = 'running' THEN 'failed' ELSE 'skipped' END,
               error = CASE WHEN state = 'running' THEN ? ELSE error END, finished_at = ?
             WHERE run_id = ? AND state IN ('pending', 'running')`,
          )
          .run(reason, t, id)
        this.db
          .prepare(`UPDATE runs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?`)
          .run(reason, t, id)
      }
      return ids
    })()
  }
}

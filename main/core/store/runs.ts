import { z } from 'zod'
import { PlanItem, RunState, StepState, type Run, type Step } from '../../contract/schemas'
import { now, statements, type Db } from './db'

const RunRow = z.object({
  id: z.number().int(),
  checkin_id: z.number().int().nullable(),
  host_id: z.number().int().nullable(),
  host_name: z.string().nullable(),
  target: z.string(),
  state: RunState,
  error: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  plan: z.string().transform((s) => z.array(PlanItem).parse(JSON.parse(s))),
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
}

/** A run interrupted by Midwife stopping, and the step it stopped in. */
export interface InterruptedRun {
  runId: number
  hostId: number | null
  step: string | null
}

const RUN_COLUMNS = `id, checkin_id, host_id, host_name, target, state, error, created_at,
  started_at, finished_at, plan`

export class RunsTable {
  private readonly q: ReturnType<typeof statements>

  constructor(private readonly db: Db) {
    this.q = statements(db)
  }

  create(r: NewRun): Run {
    const id = this.db.transaction(() => {
      const info = this.q(
        `INSERT INTO runs (checkin_id, host_id, host_name, target, state, snapshot,
           sealed_password, plan, created_at)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      ).run(
        r.checkinId,
        r.hostId,
        r.hostName,
        r.target,
        JSON.stringify(r.snapshot),
        r.sealedPassword,
        JSON.stringify(r.plan),
        now(),
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

  get(id: number): Run | undefined {
    const row = this.q(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id)
    if (row === undefined) return undefined
    const r = RunRow.parse(row)
    const steps = this.q('SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq')
      .all(id)
      .map(toStep)
    return {
      id: r.id,
      plan: r.plan,
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
    const rows = this.q('SELECT id FROM runs ORDER BY id DESC LIMIT ?').all(limit) as Array<{
      id: number
    }>
    return rows.map((r) => this.get(r.id) as Run)
  }

  /** Every run of a host, oldest first. */
  idsFor(hostId: number): number[] {
    const rows = this.q('SELECT id FROM runs WHERE host_id = ? ORDER BY id').all(hostId)
    return z
      .array(z.object({ id: z.number().int() }))
      .parse(rows)
      .map((r) => r.id)
  }

  /** The host's newest run, if any. */
  latestFor(hostId: number): number | null {
    const row = this.q('SELECT MAX(id) AS id FROM runs WHERE host_id = ?').get(hostId) as {
      id: number | null
    }
    return row.id
  }

  /** A run that is queued or running for this host, if any. */
  activeFor(hostId: number): number | undefined {
    const row = this.q(
      `SELECT id FROM runs WHERE host_id = ? AND state IN ('queued', 'running')`,
    ).get(hostId) as { id: number } | undefined
    return row?.id
  }

  markRunning(id: number): void {
    this.q(`UPDATE runs SET state = 'running', started_at = ? WHERE id = ?`).run(now(), id)
  }

  finish(id: number, state: 'done' | 'failed', error: string | null): void {
    this.q('UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(
      state,
      error,
      now(),
      id,
    )
  }

  startStep(stepId: number): void {
    this.q(`UPDATE run_steps SET state = 'running', started_at = ? WHERE id = ?`).run(now(), stepId)
  }

  appendOutput(stepId: number, text: string): void {
    this.q('UPDATE run_steps SET output = output || ? WHERE id = ?').run(text, stepId)
  }

  finishStep(stepId: number, state: 'done' | 'failed' | 'skipped', error: string | null): void {
    this.q('UPDATE run_steps SET state = ?, error = ?, finished_at = ? WHERE id = ?').run(
      state,
      error,
      now(),
      stepId,
    )
  }

  /**
   * Runs left queued or running by a Midwife that stopped (a crash, kill -9, a
   * power cut): they are marked interrupted, not failed, with the step they
   * stopped in; pending steps stay pending, and every output line is kept.
   */
  markInterrupted(reason: string): InterruptedRun[] {
    return this.db.transaction(() => {
      const runs = this.q(
        `SELECT id, host_id FROM runs WHERE state IN ('queued', 'running') ORDER BY id`,
      ).all() as Array<{ id: number; host_id: number | null }>
      const t = now()
      return runs.map((r) => {
        const step = this.q(
          `SELECT key FROM run_steps WHERE run_id = ? AND state = 'running' ORDER BY seq LIMIT 1`,
        ).get(r.id) as { key: string } | undefined
        this.q(
          `UPDATE run_steps SET state = 'interrupted', error = ?, finished_at = ?
           WHERE run_id = ? AND state = 'running'`,
        ).run(reason, t, r.id)
        this.q(
          `UPDATE runs SET state = 'interrupted', error = ?, finished_at = ? WHERE id = ?`,
        ).run(step ? `${reason} (in step "${step.key}")` : `${reason} (before it started)`, t, r.id)
        return { runId: r.id, hostId: r.host_id, step: step?.key ?? null }
      })
    })()
  }
}

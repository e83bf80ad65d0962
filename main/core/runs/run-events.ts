import type { OutputChunk, RunHeader, StepDelta } from '../../contract/schemas'
import type { EventBus } from '../events'

/**
 * Coalesces what runs emit (after Bruno's tree batcher and Podman's task
 * manager): run headers and step states by latest value, output by step,
 * flushed every `intervalMs` or once `maxBytes` of output is waiting. So a
 * screen receives deltas, never a whole run, and a run's traffic grows with
 * its output, not with the square of it.
 */
export class RunEvents {
  private runs = new Map<number, () => RunHeader>()
  private steps = new Map<number, () => StepDelta>()
  private output = new Map<number, OutputChunk>()
  private bytes = 0
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly bus: EventBus,
    private readonly intervalMs = 150,
    private readonly maxBytes = 32 * 1024,
  ) {}

  run(id: number, header: () => RunHeader): void {
    this.runs.set(id, header)
    this.schedule()
  }

  step(id: number, delta: () => StepDelta): void {
    this.steps.set(id, delta)
    this.schedule()
  }

  /** A chunk of output; consecutive chunks of one step are sent as one. */
  chunk(c: OutputChunk): void {
    const waiting = this.output.get(c.stepId)
    this.output.set(
      c.stepId,
      waiting ? { ...c, firstSeq: waiting.firstSeq, text: waiting.text + c.text } : c,
    )
    this.bytes += c.text.length
    if (this.bytes >= this.maxBytes) this.flush()
    else this.schedule()
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs)
  }

  /** Sends everything waiting: runs first, then steps, then output, so each refers to what came before. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const runs = this.runs
    const steps = this.steps
    const output = this.output
    this.runs = new Map()
    this.steps = new Map()
    this.output = new Map()
    this.bytes = 0
    for (const header of runs.values()) this.bus.emit('run.changed', header)
    for (const delta of steps.values()) this.bus.emit('run.step', delta)
    for (const chunk of [...output.values()].sort((a, b) => a.seq - b.seq)) {
      this.bus.emit('run.output', chunk)
    }
  }
}

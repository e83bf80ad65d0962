/**
 * Runs jobs with at most `concurrency` at once, in the order they arrive.
 * Jobs report their own outcome (runs persist themselves); a throw here is a
 * bug, logged and swallowed so one bad job cannot stall the queue.
 *
 * One job starts per turn of the event loop: 200 runs approved together
 * start over 200 turns, with the check-ins and screens that arrive in
 * between served at each, not after all 200 have opened their connections.
 */
export class JobQueue {
  private readonly waiting: Array<() => Promise<void>> = []
  private active = 0
  private readonly idleWaiters: Array<() => void> = []
  /** A job started in this turn of the event loop; the next waits for the next turn. */
  private startedThisTurn = false
  private scheduled = false

  constructor(
    private concurrency: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Changes how many jobs run at once; waiting jobs start at once if there is room now. */
  setConcurrency(n: number): void {
    this.concurrency = Math.max(1, n)
    this.pump()
  }

  push(job: () => Promise<void>): void {
    this.waiting.push(job)
    this.pump()
  }

  get size(): number {
    return this.waiting.length + this.active
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private hasRoom(): boolean {
    return this.active < this.concurrency && this.waiting.length > 0
  }

  private pump(): void {
    if (!this.hasRoom()) return
    if (this.startedThisTurn) return this.nextTurn()
    const job = this.waiting.shift() as () => Promise<void>
    this.active++
    this.startedThisTurn = true
    this.nextTurn()
    job()
      .catch(this.onError)
      .finally(() => {
        this.active--
        this.pump()
        if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w()
      })
  }

  private nextTurn(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.startedThisTurn = false
      this.pump()
    })
  }
}

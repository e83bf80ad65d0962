// What the listener refused, kept for the operator: a server that "never
// appears" because of a wrong enrollment key or a spent token shows up here
// instead of only in the terminal's log.
import type { RefusedRequest } from '../../contract/schemas'

/**
 * The count since Midwife started and the latest few refusals, newest first.
 * Memory is bounded (a flood only raises the count), and the operator's
 * screens are told at most once per `quietMs`.
 */
export class Refusals {
  private count = 0
  private recent: RefusedRequest[] = []
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly changed: () => void,
    private readonly keep = 10,
    private readonly quietMs = 1_000,
  ) {}

  note(r: Omit<RefusedRequest, 'at'>): void {
    this.count++
    this.recent.unshift({ at: new Date().toISOString(), ...r })
    if (this.recent.length > this.keep) this.recent.length = this.keep
    if (this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.changed()
    }, this.quietMs)
    this.timer.unref()
  }

  snapshot(): { count: number; recent: RefusedRequest[] } {
    return { count: this.count, recent: [...this.recent] }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

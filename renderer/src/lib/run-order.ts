// Which of two copies of a run's header is newer. A header arrives from events (in order) and from
// answers and snapshots (a bulk approval's answer, a page of a batch's runs), which travel on
// other connections and can land after the events of what followed them. A run only moves on:
// each attempt goes queued, running, then ends; a new attempt (Resume, Retry) counts one more; its
// steps only get done; a reinstall supersedes it once.
import type { RunHeader, RunState } from '../../../main/contract/schemas'

const STAGE: Record<RunState, number> = {
  queued: 0,
  running: 1,
  done: 2,
  failed: 2,
  interrupted: 2,
  cancelled: 2,
}

const progress = (h: RunHeader) => [
  h.attempts,
  STAGE[h.state],
  h.stepsDone,
  h.supersededAt === null ? 0 : 1,
]

/** Whether `a` is an older copy of the run than `b` (an equal one is not). */
export function behind(a: RunHeader, b: RunHeader): boolean {
  const pa = progress(a)
  const pb = progress(b)
  for (let i = 0; i < pa.length; i++) {
    const d = (pa[i] as number) - (pb[i] as number)
    if (d !== 0) return d < 0
  }
  return false
}

/** `h` into the headers by id, unless they already hold a newer copy of that run. */
export function keepNewer(headers: Record<number, RunHeader>, h: RunHeader): void {
  const now = headers[h.id]
  if (now === undefined || !behind(h, now)) headers[h.id] = h
}

// A moment in a sentence Midwife writes (a run's error, an audit entry), in
// local time: the operator reads it beside the screens' times, which are local.

const pad = (n: number) => String(n).padStart(2, '0')

const day = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`

/**
 * `23:14:05`, with its day (`23:14:05 on 2026-11-25`) when that is not the day
 * of `reference`: after a night away, a time alone would read as today's.
 */
export function clockTime(iso: string, reference: string = iso): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  const ref = new Date(reference)
  return Number.isNaN(ref.getTime()) || day(ref) === day(d) ? time : `${time} on ${day(d)}`
}

/** When a Midwife that stopped was last known to be running: `last heard from at 23:14:05`. */
export function lastHeard(iso: string, reference?: string): string {
  return `last heard from at ${clockTime(iso, reference)}`
}

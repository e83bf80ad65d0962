const pad = (n: number) => String(n).padStart(2, '0')

/**
 * A moment as `2026-11-26 06:30:15` in local time: the year in full and the
 * fields in one order whatever the locale, so 03/04 is never a puzzle.
 */
export function when(iso: string | null, seconds = true): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`
  return `${day} ${time}`
}

/** How long ago, in the largest whole unit: "just now", "3 min ago", "2 h ago", "5 days ago". */
export function ago(iso: string | null, now: number = Date.now()): string {
  if (!iso) return ''
  const t = new Date(iso).getTime()
  if (Number.isNaN(t)) return ''
  const s = Math.round((now - t) / 1000)
  if (s < 0) return s > -60 ? 'just now' : `in ${span(-s)}`
  if (s < 45) return 'just now'
  return `${span(s)} ago`
}

function span(s: number): string {
  if (s < 90) return '1 min'
  const min = Math.round(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.round(min / 60)
  if (h < 24) return `${h} h`
  const days = Math.round(h / 24)
  if (days < 60) return `${days} ${days === 1 ? 'day' : 'days'}`
  const months = Math.round(days / 30.44)
  if (months < 24) return `${months} months`
  return `${Math.round(days / 365.25)} years`
}

/** Both at once, for a line of text: `2026-11-26 06:30 (3 min ago)`. */
export function whenAgo(iso: string | null, now: number = Date.now()): string {
  if (!iso) return ''
  return `${when(iso, false)} (${ago(iso, now)})`
}

/** How long something took: "0.4 s", "12 s", "3 min 5 s", "1 h 2 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return ''
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min ${s % 60} s`
  return `${Math.floor(min / 60)} h ${min % 60} min`
}

/**
 * Where Midwife logs in over SSH: `root@192.0.2.11:22`. The address is the one
 * the server reported in its check-in; before one, the line says so instead of
 * leaving a gap (`root@:22`).
 */
export function sshTarget(
  user: string,
  port: number | string,
  address: string | null | undefined,
): string {
  return `${user}@${address || '(address from its check-in)'}:${port}`
}

/** Splits "a, b c" into ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Replaces each secret with dots so the screen (and its screenshots) never shows it. */
export function mask(text: string, secrets: string[]): string {
  let out = text
  for (const s of secrets) if (s) out = out.split(s).join('••••••••')
  return out
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

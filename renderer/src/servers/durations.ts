/** How long from start to finish (or to now, while it runs): "850 ms", "12.4 s", "3 min 5 s". */
export function took(
  startedAt: string | null,
  finishedAt: string | null,
  now = Date.now(),
): string {
  if (!startedAt) return ''
  const end = finishedAt ? new Date(finishedAt).getTime() : now
  const ms = Math.max(0, end - new Date(startedAt).getTime())
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${s % 60} s`
}

/**
 * Lines of a failed step's output that say what went wrong, to pin above the rest: from its
 * last command on. An earlier command that failed did not stop the step: a read Midwife copes
 * without (`firewall ruleset list` on a host that has none) is not why it failed.
 */
export function errorLines(output: string): string[] {
  const lines = output.split('\n')
  let last = 0
  lines.forEach((l, i) => {
    if (l.startsWith('$ ')) last = i
  })
  return lines
    .slice(last)
    .filter((l) => /\b(error|failed|cannot|denied|refused|not found)\b/i.test(l))
    .slice(0, 20)
}

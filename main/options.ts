/** "host:port" -> parts; a bare port means loopback. Throws a sentence on nonsense. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(value.trim())
  const port = m ? Number(m[2]) : NaN
  if (!m || port > 65535)
    throw new Error(`--listen wants host:port (like 0.0.0.0:8080), not "${value}"`)
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port }
}

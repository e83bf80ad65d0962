// After %post reports `installed`, the host reboots into the installed ESXi;
// its API answers on 443 once hostd and the reverse proxy are up. This polls
// for a completed TLS handshake (a listening port alone is not enough: the
// proxy accepts before it can answer) until a deadline.
import { connect } from 'node:tls'

export interface WaitOptions {
  address: string
  port?: number
  /** Give up after this long, counted from the call. */
  deadlineMs: number
  /** Pause between attempts. */
  intervalMs?: number
  /** Each attempt's own limit. */
  attemptTimeoutMs?: number
  /** Called after each failed attempt with its number and reason (for step output). */
  onAttempt?: (attempt: number, reason: string) => void | Promise<void>
  signal?: AbortSignal
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

function handshake(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, rejectUnauthorized: false })
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('no answer')))
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)))
    socket.once('secureConnect', () => {
      const fp = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fp)
    })
  })
}

/** Resolves with the certificate fingerprint seen once https://address:port answers. */
export async function waitForHttps(
  o: WaitOptions,
): Promise<{ fingerprint: string; attempts: number }> {
  const port = o.port ?? 443
  const deadline = Date.now() + o.deadlineMs
  const interval = o.intervalMs ?? 5000
  let last = 'no attempt made'
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted)
      throw new WaitTimeoutError(`stopped waiting for https://${o.address}:${port}`)
    const left = deadline - Date.now()
    if (left <= 0) break
    try {
      const fingerprint = await handshake(
        o.address,
        port,
        Math.min(o.attemptTimeoutMs ?? 10_000, left),
      )
      return { fingerprint, attempts: attempt }
    } catch (err) {
      last = (err as Error).message
      await o.onAttempt?.(attempt, last)
    }
    const pause = Math.min(interval, deadline - Date.now())
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause))
  }
  throw new WaitTimeoutError(
    `https://${o.address}:${port} did not answer within ${Math.round(o.deadlineMs / 1000)} s (last: ${last}); check that the host finished installing and rebooted, and that nothing blocks port ${port}.`,
  )
}

// After %post reports `installed`, the host reboots into the installed ESXi.
// Its reverse proxy takes TLS connections on 443 before hostd, the API behind
// it, is up, and answers /sdk with 503 (or a page, not SOAP) meanwhile. So
// this asks /sdk the one question that needs no login, RetrieveServiceContent,
// until it answers with a SOAP envelope, and hands back the client that got
// the answer: its certificate pinned at the first contact (or checked against
// the one expected) and checked on every attempt after it.
import { VsphereClient, VsphereError, type About, type VsphereTarget } from './client'

export interface WaitOptions extends VsphereTarget {
  /** Give up after this long, counted from the call. */
  deadlineMs: number
  /** Pause between attempts. */
  intervalMs?: number
  /** Called after each attempt /sdk did not answer yet, with its number and why (for step output). */
  onAttempt?: (attempt: number, notYet: VsphereError) => void | Promise<void>
  signal?: AbortSignal
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

/**
 * Whether a failed attempt means "not up yet": nothing listens, the connection
 * broke, no answer in time, or something other than SOAP answered. Anything else
 * (a fault, a certificate other than the pinned one) is the host's answer.
 */
export function notYet(err: unknown): err is VsphereError {
  return (
    err instanceof VsphereError &&
    ['connection-refused', 'connection-failed', 'timeout', 'not-soap'].includes(err.code)
  )
}

/** A not-yet in a few words, after the address: "refused the connection", "answered HTTP 503". */
export function notYetWords(err: VsphereError): string {
  switch (err.code) {
    case 'connection-refused':
      return 'refused the connection'
    case 'timeout':
      return 'did not answer in time'
    case 'not-soap':
      return (err.httpStatus ?? 0) >= 500
        ? `answered HTTP ${err.httpStatus}`
        : `answered HTTP ${err.httpStatus ?? '?'}, not SOAP`
    default: {
      const cause = err.cause as NodeJS.ErrnoException | undefined
      return `could not be reached (${cause?.code ?? cause?.message ?? err.message})`
    }
  }
}

/** Resolves once https://address:port/sdk answers RetrieveServiceContent with a SOAP envelope. */
export async function waitForHttps(
  o: WaitOptions,
): Promise<{ client: VsphereClient; about: About; fingerprint: string; attempts: number }> {
  const port = o.port ?? 443
  const where = `https://${o.address}:${port}/sdk`
  const client = new VsphereClient(o)
  const deadline = Date.now() + o.deadlineMs
  const interval = o.intervalMs ?? 5000
  let last: VsphereError | undefined
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw new WaitTimeoutError(`stopped waiting for ${where}`)
    const left = deadline - Date.now()
    if (left <= 0) break
    const full = o.timeoutMs ?? 20_000
    try {
      const about = await client.retrieveServiceContent(Math.min(full, left))
      return { client, about, fingerprint: client.fingerprint as string, attempts: attempt }
    } catch (err) {
      if (!notYet(err)) throw err
      // An attempt the deadline cut short (a timeout, or the reset it causes) says less than
      // the answer before it, such as a 503.
      if (!(left < full && deadline - Date.now() < 10 && last)) last = err
      await o.onAttempt?.(attempt, err)
    }
    const pause = Math.min(interval, deadline - Date.now())
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause))
  }
  const advice =
    last?.code === 'not-soap'
      ? "its proxy answers but hostd behind it does not: look at the host's console"
      : `check that the host finished installing and rebooted, and that nothing blocks port ${port}`
  throw new WaitTimeoutError(
    `${where} did not answer within ${Math.round(o.deadlineMs / 1000)} s (last: ${last ? notYetWords(last) : 'no attempt made'}); ${advice}.`,
  )
}

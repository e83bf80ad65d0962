export interface Rate {
  /** Requests allowed at once, from a full bucket. */
  burst: number
  /** Requests the bucket regains per minute, up to `burst`. */
  perMinute: number
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number; firstRefusal: boolean }

interface Bucket {
  tokens: number
  at: number
  throttled: boolean
}

/**
 * Token buckets by key, holding at most `maxKeys` of them. Past that the
 * least recently used bucket is dropped: it is the one idle longest, so most
 * likely full again, and a full bucket is no different from a missing one. A
 * flood of distinct keys therefore costs bounded memory and can at worst hand
 * a long-quiet key a fresh burst.
 */
export class TokenBuckets {
  // A Map iterates in insertion order; each take re-inserts, so the first key is the least recent.
  private readonly buckets = new Map<string, Bucket>()
  private readonly perMs: number

  constructor(
    private readonly rate: Rate,
    private readonly maxKeys: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = rate.perMinute / 60_000
  }

  get size(): number {
    return this.buckets.size
  }

  take(key: string): Take {
    const t = this.now()
    let b = this.buckets.get(key)
    if (b) {
      this.buckets.delete(key)
      b.tokens = Math.min(this.rate.burst, b.tokens + (t - b.at) * this.perMs)
      b.at = t
    } else {
      b = { tokens: this.rate.burst, at: t, throttled: false }
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next()
        if (!oldest.done) this.buckets.delete(oldest.value)
      }
    }
    this.buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      b.throttled = false
      return { ok: true }
    }
    const firstRefusal = !b.throttled
    b.throttled = true
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)),
      firstRefusal,
    }
  }
}

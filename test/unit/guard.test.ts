import { describe, expect, it } from 'vitest'
import { parseTarget, sourceKey } from '../../main/core/listener/guard'
import { TokenBuckets } from '../../main/core/listener/rate-limit'
import { escapeControl } from '../../main/core/log'
import { seeded } from '../support/hostile'

describe('parseTarget', () => {
  it('takes a plain path and query apart', () => {
    expect(parseTarget('/ks/abc.cfg')).toMatchObject({
      ok: true,
      target: { path: '/ks/abc.cfg', decodedPath: '/ks/abc.cfg' },
    })
    const r = parseTarget('/a%20b/%C3%A9?token=x%41&y')
    expect(r.ok && r.target.path).toBe('/a%20b/%C3%A9')
    expect(r.ok && r.target.decodedPath).toBe('/a b/é')
    expect(r.ok && r.target.query.get('token')).toBe('xA')
    expect(parseTarget('/')).toMatchObject({ ok: true, target: { path: '/' } })
    expect(
      parseTarget('/x').ok &&
        (parseTarget('/x') as { target: { query: URLSearchParams } }).target.query.size,
    ).toBe(0)
    // Dots that are part of a name are not segments of their own.
    for (const fine of ['/a/.../b', '/.well-known/x', '/a/b.', '/a/..b/c', '/ks/x.cfg']) {
      expect(parseTarget(fine)).toMatchObject({ ok: true, target: { decodedPath: fine } })
    }
  })

  it.each([
    ['', 'the request has no target'],
    [undefined, 'the request has no target'],
    ['*', 'must be a path starting with "/"'],
    ['http://:99999/', 'must be a path starting with "/"'],
    ['http://listener/checkin', 'must be a path starting with "/"'],
    ['a:1', 'must be a path starting with "/"'],
    ['//a:-1', 'must not start with "//"'],
    ['//[', 'must not start with "//"'],
    ['//%zz', 'must not start with "//"'],
    ['/%zz', '"%" that is not followed by two hex digits'],
    ['/%', '"%" that is not followed by two hex digits'],
    ['/?q=%2', '"%" that is not followed by two hex digits'],
    ['/%ff', 'does not decode to UTF-8'],
    ['/%e2%82', 'does not decode to UTF-8'],
    ['/%0a', 'decodes to a control character'],
    ['/%00', 'decodes to a control character'],
    ['/%e2%80%a8', 'decodes to a control character'],
    ['/a\nb', 'holds a control character'],
    ['/\u0085', 'holds a control character'],
    ['/x#y', 'holds a "#"'],
    ['/../etc/passwd', '"." or ".." segment'],
    ['/a/./b', '"." or ".." segment'],
    ['/%2e%2e/etc', '"." or ".." segment'],
    ['/a/..%2f..%2fb', '"." or ".." segment'],
    ['/a/..%5c..%5cb', '"." or ".." segment'],
    ['/a\\..\\b', '"." or ".." segment'],
    ['/a/..', '"." or ".." segment'],
    ['/a/.', '"." or ".." segment'],
    ['/.', '"." or ".." segment'],
    ['/a/%2E?x', '"." or ".." segment'],
    [`/${'a'.repeat(2048)}`, 'is 2049 characters long; the limit is 2048'],
  ])('refuses %j: %s', (raw, reason) => {
    const r = parseTarget(raw)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.message).toContain(reason)
  })

  it('never throws, whatever the target', () => {
    const rng = seeded(0x7a67)
    const alphabet = "/%?#.:\\[]@!$&'()*+,;=aZ09-_~ \t\n\u0000\u0085\u2028é"
    for (let i = 0; i < 20_000; i++) {
      const raw = rng.chance(0.2)
        ? rng.bytes(rng.int(40)).toString('latin1')
        : `/${rng.text(rng.int(40), alphabet)}`
      expect(() => parseTarget(raw)).not.toThrow()
    }
  })
})

describe('sourceKey', () => {
  it('counts IPv4 by address, IPv6 by its /64', () => {
    expect(sourceKey('127.0.0.3')).toBe('127.0.0.3')
    expect(sourceKey('::ffff:10.0.0.7')).toBe('10.0.0.7')
    expect(sourceKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(sourceKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64')
    expect(sourceKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64')
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(sourceKey('::1')).toBe('0:0:0:0::/64')
    expect(sourceKey(undefined)).toBe('unknown')
  })
})

describe('TokenBuckets', () => {
  const clock = () => {
    let now = 0
    return { now: () => now, advance: (ms: number) => (now += ms) }
  }

  it('allows a burst, then refuses with the wait until the next token', () => {
    const c = clock()
    const b = new TokenBuckets({ burst: 3, perMinute: 2 }, 100, c.now)
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual(Array(3).fill({ ok: true }))
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 30, firstRefusal: true })
    c.advance(10_000)
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 20, firstRefusal: false })
    // Another key has its own bucket.
    expect(b.take('b')).toEqual({ ok: true })
    c.advance(20_000)
    expect(b.take('a')).toEqual({ ok: true })
    // A success ends the episode: the next refusal is a first one again.
    expect(b.take('a')).toMatchObject({ ok: false, firstRefusal: true })
  })

  it('refills no further than the burst', () => {
    const c = clock()
    const b = new TokenBuckets({ burst: 2, perMinute: 60 }, 100, c.now)
    b.take('a')
    c.advance(3_600_000)
    expect([b.take('a'), b.take('a'), b.take('a')].map((t) => t.ok)).toEqual([true, true, false])
  })

  it('holds at most maxKeys buckets, dropping the least recently used', () => {
    const c = clock()
    const b = new TokenBuckets({ burst: 1, perMinute: 1 }, 100, c.now)
    b.take('drained')
    for (let i = 0; i < 10_000; i++) {
      b.take(`flood-${i}`)
      // The drained key stays in use, so it is never the one dropped.
      if (i % 50 === 0) expect(b.take('drained').ok).toBe(false)
    }
    expect(b.size).toBe(100)
    // A key not seen for 100 others is forgotten: it starts full again.
    expect(b.take('flood-0')).toEqual({ ok: true })
  })
})

describe('escapeControl', () => {
  it('shows every control character as a visible escape, and nothing else changes', () => {
    expect(escapeControl('a\nb\rc\td')).toBe('a\\nb\\rc\\td')
    expect(escapeControl('\u0000\u001b[31m\u007f\u0085\u009f')).toBe(
      '\\x00\\x1b[31m\\x7f\\x85\\x9f',
    )
    expect(escapeControl('\u2028\u2029\u202e\u2066')).toBe('\\u2028\\u2029\\u202e\\u2066')
    expect(escapeControl('plain é ✓ 😀 C:\\data')).toBe('plain é ✓ 😀 C:\\data')
  })

  it('leaves no control character behind, and is idempotent', () => {
    const all = Array.from({ length: 0x2070 }, (_, i) => String.fromCharCode(i)).join('')
    const once = escapeControl(all)
    expect(once).not.toMatch(/[\n\r\u2028\u2029\u0085]/)
    expect(escapeControl(once)).toBe(once)
  })
})

// The check-in listener faces a network Midwife does not control. Whatever
// arrives on it, the process stays up, refuses with a 4xx that says why,
// stores nothing, and keeps answering the servers it is there for.
import { afterEach, describe, expect, it } from 'vitest'
import { consoleLogger } from '../../main/core/log'
import { checkinBody, sshHostKeys } from '../fixtures/esxi-outputs'
import {
  exchange,
  expectFuzzOutcome,
  fuzz,
  httpFrom,
  openIdle,
  probe,
  type IdleSocket,
} from '../support/hostile'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'
import type { AppOptions } from '../../main/core/app'
import { defaultListenerLimits } from '../../main/core/listener/server'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

async function start(opts: Partial<AppOptions> = {}) {
  t = await startTestApp(opts)
  const host = t.app.saveHost({ ...sampleHost, mac: '00:50:56:b3:b9:89' })
  return {
    t,
    port: Number(new URL(t.listenerUrl).port),
    token: hostToken(t.app, host.id),
  }
}

const upgradeTo = (target: string, port: number) =>
  [
    `GET ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    '',
    '',
  ].join('\r\n')

describe('requests that cannot be parsed', () => {
  it('get 400 with the reason, upgrades included, and the listener answers on', async () => {
    const { port } = await start()
    for (const target of ['//a:-1', '//[', '//%zz', 'http://:99999/', '*', '/%ff', '/a/../b']) {
      for (const raw of [
        `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`,
        upgradeTo(target, port),
      ]) {
        const reply = await exchange(port, raw)
        expect(reply.statuses, raw).toEqual([400])
        expect(reply.text).toMatch(/\r\n\r\nthe request (target|path) .+\n$/)
      }
    }
    // A well-formed upgrade is refused too: nothing on the listener speaks WebSocket.
    const ws = await exchange(port, upgradeTo('/', port))
    expect(ws.statuses).toEqual([400])
    expect(ws.text).toContain('does not upgrade connections')
    expect((await exchange(port, 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n')).statuses).toEqual([
      400,
    ])
    expect((await httpFrom('127.0.0.1', `http://127.0.0.1:${port}/`)).status).toBe(200)
  })

  it('answers 500 only when storing fails, never for what a client sent', async () => {
    const { t, token } = await start()
    t.app.store.close()
    const res = await httpFrom('127.0.0.1', `${t.listenerUrl}/checkin`, {
      method: 'POST',
      body: JSON.stringify(checkinBody(token)),
    })
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toEqual({ accepted: false, error: 'internal error; try again' })
  })
})

describe('a fuzz of 10,000 hostile requests', () => {
  it('gets no 5xx, stores nothing, and leaves the listener answering', async () => {
    // Limits raised so every request reaches the parsers instead of a 429.
    const { t, port, token } = await start({
      listenerLimits: {
        sourceBurst: 1_000_000,
        credentialBurst: 1_000_000,
        connectionsPerSource: 512,
      },
    })
    const wrongToken = 'Q'.repeat(43)
    const valid = checkinBody(token)
    const outputs = valid.outputs as Record<string, string>
    const refusedWithRealToken = [
      { ...valid, sshHostKeys: [] },
      { ...valid, sshHostKeys: ['garbage'] },
      { ...valid, sshHostKeys: [`ssh-rsa ${'A'.repeat(40)}`] },
      { ...valid, outputs: { ...outputs, nicList: 'Error: Unknown command or namespace' } },
      { ...valid, outputs: { ...outputs, nicList: 'x'.repeat(20_000) } },
      { ...valid, outputs: 'outputs' },
      { ...valid, outputs: null },
      { ...valid, client: 'c'.repeat(65) },
      { ...valid, sshHostKeys: 'ssh-rsa AAAA' },
      { ...valid, sshHostKeys: Array(9).fill(sshHostKeys.rsa) },
      { ...valid, outputs: { ...outputs, platform: 7 } },
      { ...valid, token: `${token}\u0000` },
    ].map((b) => JSON.stringify(b))
    const seed = 0x5eed1
    const result = await fuzz(port, {
      seed,
      shape: {
        targets: [
          '/',
          ...Array<string>(6).fill('/checkin'),
          '/client/checkin.sh',
          // Not the real token's kickstart: its password crypt costs 50 ms and tests nothing hostile.
          `/c/${token}.sh`,
          `/ks/${token}.sh`,
          `/ks/${wrongToken}.cfg`,
          `/c/${wrongToken}.sh`,
          `/KS/${wrongToken}.cfg`,
          `/ks/${token}.cfg?x=%zz`,
          `/checkin?token=${token}`,
          '/%63heckin',
        ],
        headers: (rng) => [rng.pick(['Host: 127.0.0.1', `Host: 127.0.0.1:${port}`])],
        bodies: [
          JSON.stringify(checkinBody(wrongToken)),
          JSON.stringify(checkinBody('')),
          JSON.stringify({ ...checkinBody(wrongToken), enrollment: 'not-a-key' }),
          `{"__proto__":{"token":"${token}"},${JSON.stringify(checkinBody(wrongToken)).slice(1)}`,
          JSON.stringify({ ...checkinBody(wrongToken), padding: 'x'.repeat(65 * 1024) }),
          ...refusedWithRealToken,
        ],
      },
    })
    expect(t.app.store.checkins.count()).toBe(0)
    // The fuzz reached every layer: Node's parser, the guard, the limits on
    // size, the JSON parser, the token lookup, the check-in checks, each route.
    expectFuzzOutcome(result, seed, [
      '400 not a valid HTTP/1.1 request',
      '400 the request target',
      '400 the request path',
      '413 {"accepted":false,"error":"check-in',
      '400 {"accepted":false,"error":"malformed JSON',
      '401 {"accepted":false,"error":"unknown deployment token',
      '401 {"accepted":false,"error":"missing deployment token',
      '400 {"accepted":false,"error":"sshHostKeys',
      '400 {"accepted":false,"error":"outputs',
      '200 #!/bin/sh',
      '404 not found',
    ])
    // Still alive, still right.
    const res = await httpFrom('127.0.0.1', `${t.listenerUrl}/checkin`, {
      method: 'POST',
      body: JSON.stringify(checkinBody(token)),
    })
    expect(res.status).toBe(201)
    expect(t.app.store.checkins.count()).toBe(1)
    // And every line it logged along the way is one line.
    for (const line of t.logger.lines) expect(line).not.toMatch(/[\n\r\t\u0085\u2028\u2029]/)
  })
})

describe('rate limits', () => {
  it('refuse one source with 429 and Retry-After, and not the next one', async () => {
    const { t } = await start({ listenerLimits: { sourceBurst: 5, sourcePerMinute: 1 } })
    const url = `${t.listenerUrl}/`
    for (let i = 0; i < 5; i++) expect((await httpFrom('127.0.0.2', url)).status).toBe(200)
    for (let i = 0; i < 3; i++) {
      const refused = await httpFrom('127.0.0.2', url)
      expect(refused.status).toBe(429)
      expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/)
      expect(refused.body).toMatch(/^too many requests from this address; try again in \d+ s\n$/)
    }
    expect((await httpFrom('127.0.0.3', url)).status).toBe(200)
    // One line for the episode, not one per refused request.
    expect(t.logger.lines.filter((l) => l.includes('rate limit'))).toEqual([
      'warn rate limit: 127.0.0.2 is refused for now',
    ])
  })

  it('refuse one credential wherever it is presented, and not another', async () => {
    const { t, token } = await start({
      listenerLimits: {
        credentialBurst: 3,
        credentialPerMinute: 1,
        enrollmentBurst: 5,
        enrollmentPerMinute: 1,
      },
    })
    const post = (body: unknown) =>
      httpFrom('127.0.0.1', `${t.listenerUrl}/checkin`, {
        method: 'POST',
        body: JSON.stringify(body),
      })
    // The kickstart, the personal client and a check-in all spend the same token.
    expect((await httpFrom('127.0.0.1', `${t.listenerUrl}/ks/${token}.cfg`)).status).toBe(200)
    expect((await httpFrom('127.0.0.1', `${t.listenerUrl}/c/${token}.sh`)).status).toBe(200)
    expect((await post(checkinBody(token))).status).toBe(201)
    const refused = await post(checkinBody(token))
    expect(refused.status).toBe(429)
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(refused.body).toMatch(/^too many requests with this credential; try again in \d+ s\n$/)
    expect((await httpFrom('127.0.0.1', `${t.listenerUrl}/ks/${token}.cfg`)).status).toBe(429)
    expect(t.app.store.checkins.count()).toBe(1)

    // A wrong token has its own bucket: refused as unknown until it too runs dry.
    const wrong = 'W'.repeat(43)
    for (let i = 0; i < 3; i++) expect((await post(checkinBody(wrong))).status).toBe(401)
    expect((await post(checkinBody(wrong))).status).toBe(429)
    // So does an enrollment key, with its own (a rack's) allowance.
    for (let i = 0; i < 5; i++) expect((await post({ enrollment: 'site-key' })).status).toBe(401)
    expect((await post({ enrollment: 'site-key' })).status).toBe(429)
    expect(t.logger.lines.join('\n')).not.toContain(token)
  })
})

describe('connection caps', () => {
  // Long timeouts, so nothing here ends by the clock.
  const patient = { headersTimeoutMs: 600_000, requestTimeoutMs: 600_000, idleTimeoutMs: 600_000 }

  async function openMany(port: number, from: string, n: number): Promise<IdleSocket[]> {
    const out: IdleSocket[] = []
    for (let i = 0; i < n; i++) out.push(await openIdle(port, from))
    return out
  }

  it('cap one source, so its idle sockets cannot starve a real check-in', async () => {
    // The default cap per source.
    const cap = defaultListenerLimits.connectionsPerSource
    const { t, port, token } = await start({ listenerLimits: patient })
    // As many as the review opened against a limit of 1,024 open files.
    const idle = await openMany(port, '127.0.0.3', 1_100)

    const refusals = await Promise.all(idle.slice(cap).map((s) => s.unasked))
    for (const r of refusals)
      expect(r).toMatch(/^HTTP\/1\.1 429 .*too many connections from 127\.0\.0\.3/s)

    const res = await httpFrom('127.0.0.2', `${t.listenerUrl}/checkin`, {
      method: 'POST',
      body: JSON.stringify(checkinBody(token)),
    })
    expect(res.status).toBe(201)
    // The ones it kept were held open all along, and still answer.
    expect(await Promise.all(idle.slice(0, cap).map((s) => probe(s.socket)))).toEqual(
      Array<number>(cap).fill(200),
    )
    for (const s of idle) s.socket.destroy()
  })

  it('never hold more than the total: the longest idle socket makes room', async () => {
    const { t, port, token } = await start({
      listenerLimits: { ...patient, connectionsPerSource: 4, connectionsTotal: 10 },
    })
    const idle: IdleSocket[] = []
    for (const from of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      idle.push(...(await openMany(port, from, 4)))
    }
    // Twelve idle sockets against a total of ten, then a real check-in: the
    // three longest idle are closed to let the others in.
    const res = await httpFrom('127.0.0.2', `${t.listenerUrl}/checkin`, {
      method: 'POST',
      body: JSON.stringify(checkinBody(token)),
    })
    expect(res.status).toBe(201)
    const outcome = await Promise.all(idle.map((s) => probe(s.socket)))
    expect(outcome).toEqual([null, null, null, ...Array<number>(9).fill(200)])
    for (const s of idle) s.socket.destroy()
  })
})

describe('the log', () => {
  it('cannot be forged by a request path or a check-in field', async () => {
    const written: string[] = []
    const realWrite = process.stderr.write.bind(process.stderr)
    process.stderr.write = (chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      return true
    }
    try {
      const { t, port, token } = await start({ logger: consoleLogger() })
      const forged = (sep: string) => `${sep}2025-01-01T00:00:00.000Z midwife info forged`
      const url = `${t.listenerUrl}/checkin`
      const post = (body: string) => httpFrom('127.0.0.1', url, { method: 'POST', body })

      // A path: percent-encoded, since Node's parser refuses raw control bytes.
      const path = `/ks/${encodeURIComponent(forged('\n'))}`
      expect((await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)).statuses).toEqual([
        400,
      ])
      expect(
        (await exchange(port, `GET /%0d%0a${path} HTTP/1.1\r\nHost: x\r\n\r\n`)).statuses,
      ).toEqual([400])
      // A body that is not JSON: V8's message quotes the body, which the log never repeats.
      for (const sep of ['\n', '\r', '\u2028', '\u0085']) {
        expect((await post(`x${forged(sep)}`)).status).toBe(400)
      }
      // A reported SSH key whose data names a forged line as its type.
      const blob = (s: string) => {
        const b = Buffer.from(s, 'latin1')
        const len = Buffer.alloc(4)
        len.writeUInt32BE(b.length)
        return Buffer.concat([len, b])
      }
      const key = `ssh-rsa ${Buffer.concat([blob(forged('\n')), blob('x')]).toString('base64')}`
      expect(
        (await post(JSON.stringify({ ...checkinBody(token), sshHostKeys: [key] }))).status,
      ).toBe(400)
      // Info lines are written at the end of the event loop's turn.
      await new Promise((r) => setImmediate(r))
      const text = written.join('')
      // The paths and the key reached the log, escaped: the whole forged line from each. The
      // bodies did not: their refusal says why, without quoting them.
      expect(text.match(/midwife(%20| )info(%20| )forged/g)).toHaveLength(3)
      expect(
        text.match(/malformed JSON: unexpected character: the body is not valid JSON/g),
      ).toHaveLength(4)
      for (const shown of ['\\r', '\\u2028', '\\x85']) {
        expect(text).not.toContain(`${shown}2025-01-`)
      }
      // Each write is whole lines; each line has the real shape, and no line break hides inside one.
      const real = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z midwife (info|warn|error) /
      for (const w of written) expect(w).toMatch(/\n$/)
      const lines = text.split('\n').slice(0, -1)
      expect(lines.length).toBeGreaterThanOrEqual(written.length)
      for (const l of lines) {
        expect(l).toMatch(real)
        expect(l).toMatch(/^[^\r\u2028\u2029\u0085]*$/)
      }
      expect(text.split(/\r\n|[\n\r\u2028\u2029\u0085]/).filter((l) => l !== '')).toHaveLength(
        lines.length,
      )
    } finally {
      process.stderr.write = realWrite
    }
  })
})

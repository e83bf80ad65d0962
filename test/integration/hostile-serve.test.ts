// Serve mode listens on loopback only, but any local process and any web page
// the operator has open can reach it. Nothing they send may take it down:
// with it would go the listener and every run in progress.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { methodNames } from '../../main/contract/api'
import { startServe, type RunningServe } from '../../main/serve/server'
import { exchange, expectFuzzOutcome, fuzz } from '../support/hostile'
import { repoRoot, startTestApp, type TestApp } from '../support/app'

let t: TestApp
let serve: RunningServe
let base: string

beforeAll(async () => {
  t = await startTestApp()
  serve = await startServe({
    handlers: t.app,
    events: t.app.events,
    staticDir: join(repoRoot, 'renderer'),
    logger: t.logger,
  })
  base = `http://127.0.0.1:${serve.port}`
})
afterAll(async () => {
  await serve.close()
  await t.close()
})

const auth = () => ({ Authorization: `Bearer ${serve.token}` })

/** Serve mode still does its job: an authorised API call answers. */
async function stillServing() {
  const res = await fetch(`${base}/api/listHosts`, { method: 'POST', headers: auth(), body: '{}' })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ ok: true, result: [] })
}

function openEvents(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/events`, { headers: auth() })
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject))
}

describe('requests that cannot be parsed', () => {
  it('get 400, upgrades included, signed in or not, and serve mode answers on', async () => {
    const port = serve.port
    for (const target of ['//a:-1', '//[', '//%zz', 'http://:99999/', '*', '/%ff', '/..%2f..%2f']) {
      for (const headers of ['', `Authorization: Bearer ${serve.token}\r\n`]) {
        const host = `Host: 127.0.0.1:${port}\r\n${headers}`
        const upgrade =
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
        for (const raw of [
          `GET ${target} HTTP/1.1\r\n${host}\r\n`,
          `POST ${target} HTTP/1.1\r\n${host}Content-Length: 2\r\n\r\n{}`,
          `GET ${target} HTTP/1.1\r\n${host}${upgrade}\r\n`,
        ]) {
          const reply = await exchange(port, raw)
          expect(reply.statuses, raw).toEqual([400])
          expect(reply.text).toMatch(/\r\n\r\nthe request (target|path) .+\n$/)
        }
      }
    }
    await stillServing()
  })

  it('refuses an event stream elsewhere than /events, or unsigned, with a 4xx that says so', async () => {
    const upgrade = (target: string, extra = '') =>
      exchange(
        serve.port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\nConnection: Upgrade\r\n` +
          'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
      )
    const bearer = `Authorization: Bearer ${serve.token}\r\n`
    expect((await upgrade('/api/listHosts', bearer)).statuses).toEqual([404])
    expect((await upgrade('/events')).statuses).toEqual([401])
    expect((await upgrade('/events', `${bearer}Origin: http://evil.example\r\n`)).statuses).toEqual(
      [403],
    )
    // A second key makes the one ws reads invalid.
    expect((await upgrade('/events', `${bearer}Sec-WebSocket-Key: x\r\n`)).statuses).toEqual([400])
    expect((await upgrade('/events', bearer)).statuses).toEqual([101])
    await stillServing()
  })

  it('survives a signed-in event stream that sends what it should not', async () => {
    const ws = await openEvents()
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.on('error', () => undefined)
    ws.send(Buffer.alloc(100 * 1024))
    expect(await closed).toBe(1009)
    await stillServing()
    ;(await openEvents()).close()
  })
})

describe('events', () => {
  it('are serialised only when an event stream is open to hear them', async () => {
    // A serve instance of its own, so no stream from another test is still closing.
    const own = await startTestApp()
    const ownServe = await startServe({
      handlers: own.app,
      events: own.app.events,
      staticDir: join(repoRoot, 'renderer'),
      logger: own.logger,
    })
    try {
      let serialised = 0
      const payload = [{ toJSON: () => (serialised++, { id: 1 }) }]
      const emit = () => own.app.events.emit('host.removed', payload as never)

      emit()
      expect(serialised).toBe(0)

      const ws = new WebSocket(`ws://127.0.0.1:${ownServe.port}/events`, {
        headers: { Authorization: `Bearer ${ownServe.token}` },
      })
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
      const heard = new Promise<unknown>((resolve) =>
        ws.once('message', (m: Buffer) => resolve(JSON.parse(m.toString()))),
      )
      emit()
      expect(await heard).toMatchObject({ event: 'host.removed', payload: [{ id: 1 }] })
      expect(serialised).toBe(1)
      ws.close()
    } finally {
      await ownServe.close()
      await own.close()
    }
  })
})

describe('a fuzz of 10,000 hostile requests', () => {
  it('gets no 5xx and leaves serve mode answering', async () => {
    const port = serve.port
    const hostile = [
      '{"args":[]}',
      '{"args":[1,2,3,4,5,6,7,8,9]}',
      '{"args":[{"hostname":"x\\n2025 midwife info forged"}]}',
      '{"args":[{"__proto__":{"admin":true},"hostname":"a"}]}',
      '{"args":[{"listenerHost":"0.0.0.0","listenerPort":-1}]}',
      '{"args":[{"listenerHost":"127.0.0.1","listenerPort":99999}]}',
      '{"args":["1; rm -rf /"]}',
      '{"args":[1.5]}',
      '{"args":[true]}',
    ]
    const seed = 0x5e7e
    const result = await fuzz(port, {
      seed,
      shape: {
        targets: [
          '/',
          '/',
          `/?token=${serve.token}`,
          '/?token=wrong',
          '/?token=%zz',
          '/?token=',
          ...methodNames.map((m) => `/api/${m}`),
          '/api/__proto__',
          '/api/toString',
          '/api/hasOwnProperty',
          '/api/a/b',
          '/events',
          '/index.html',
          '/src/main.ts',
          '/src/../../package.json',
          '/%2e%2e/package.json',
          '/nope.js',
        ],
        headers: (rng) => {
          const host = rng.chance(0.9)
            ? rng.pick([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
            : rng.pick(['evil.example', `127.0.0.1:${port + 1}`, ''])
          const who = rng.pick([
            `Authorization: Bearer ${serve.token}`,
            `Authorization: Bearer ${serve.token}`,
            `Authorization: Bearer ${serve.token}`,
            `Cookie: midwife_session_${port}=${serve.token}`,
            'Authorization: Bearer wrong',
            'Authorization: Basic YTpi',
            `Cookie: midwife_session_1=${serve.token}`,
            '',
          ])
          return [`Host: ${host}`, ...(who ? [who] : [])]
        },
        bodies: hostile,
      },
    })
    expect(t.app.store.checkins.count()).toBe(0)
    // The fuzz reached every layer: Node's parser, the guard, the Host and
    // session checks, the body and JSON checks, the contract, the static files.
    expectFuzzOutcome(result, seed, [
      '400 not a valid HTTP/1.1 request',
      '400 the request target',
      '400 the request path',
      '421 wrong Host header',
      '401 Midwife: open the URL',
      '400 {"ok":false,"error":{"code":"invalid","message":"malformed JSON',
      '400 {"ok":false,"error":{"code":"invalid","message":"the body must',
      '200 {"ok":false,"error":{"code":"invalid"',
      '200 {"ok":false,"error":{"code":"unknown_method"',
      '200 {"ok":true',
      '200 <!doctype html>',
      '404 not found',
      '405 use POST',
    ])
    await stillServing()
    for (const line of t.logger.lines) expect(line).not.toMatch(/[\n\r\u2028\u2029]/)
  })
})

import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { expect } from 'vitest'

/** mulberry32: a small seeded generator, so a failing fuzz run reproduces from its seed. */
export function seeded(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(list: readonly T[]): T => list[int(list.length)] as T,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
    text: (n: number, alphabet: string) =>
      Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join(''),
  }
}
export type Rng = ReturnType<typeof seeded>

export interface Exchange {
  /** Every status line the server wrote, in order (pipelined requests get several). */
  statuses: number[]
  text: string
}

/**
 * Sends raw bytes on a fresh connection (from `localAddress` if given) and
 * collects everything the server writes until it closes. Our side closes once
 * an answer has begun, or once the server has been quiet for `quietMs` (a
 * request it is still waiting to see the end of). Not at once: on a client's
 * half-close Node drops any answer still being worked out.
 */
export function exchange(
  port: number,
  data: Buffer | string,
  localAddress?: string,
  quietMs = 100,
): Promise<Exchange> {
  return new Promise((resolve) => {
    // An explicit source address costs a bind() that searches the ephemeral
    // ports past every TIME_WAIT socket: seconds over a fuzz run, so only on request.
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) })
    const chunks: Buffer[] = []
    const done = () => socket.end()
    const quiet = setTimeout(done, quietMs)
    socket.once('data', done)
    socket.on('data', (d: Buffer) => chunks.push(d))
    // A reset after the server answered (it closed with our bytes unread) is an ending, not a failure.
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(quiet)
      const text = Buffer.concat(chunks).toString('latin1')
      const statuses = [...text.matchAll(/(?:^|\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) =>
        Number(m[1]),
      )
      resolve({ statuses, text })
    })
    socket.write(data)
  })
}

/** Runs fn(0..count-1) with at most `concurrency` in flight; results in order. */
export async function bounded<T>(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array<T>(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      out[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return out
}

/** An HTTP request from a chosen loopback source address; resolves status, headers and body. */
export function httpFrom(
  localAddress: string,
  url: string,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        localAddress,
        agent: false,
        headers: { Connection: 'close', ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (d: Buffer) => chunks.push(d))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** An idle connection from `localAddress`: connected, never sending a byte until told to. */
export interface IdleSocket {
  socket: Socket
  /** Resolves with the first bytes the server sends unasked (a refusal), or null once it closes without any. */
  unasked: Promise<string | null>
}

export function openIdle(port: number, localAddress: string): Promise<IdleSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    let settle: (v: string | null) => void = () => undefined
    const unasked = new Promise<string | null>((r) => (settle = r))
    socket.once('data', (d: Buffer) => settle(d.toString('latin1')))
    socket.once('close', () => settle(null))
    socket.on('error', () => undefined)
    socket.once('connect', () => resolve({ socket, unasked }))
    socket.once('error', reject)
  })
}

/** Sends one GET on an already open socket; resolves its status, or null if the server had closed it. */
export function probe(socket: Socket): Promise<number | null> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(null)
      return
    }
    let text = ''
    const onData = (d: Buffer) => {
      text += d.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text)
      if (m) {
        socket.off('data', onData)
        resolve(Number(m[1]))
      }
    }
    socket.on('data', onData)
    socket.once('close', () => resolve(null))
    socket.write('GET / HTTP/1.1\r\nHost: probe\r\n\r\n')
  })
}

// ---- hostile requests ---------------------------------------------------------

const ODD_METHODS = [
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'CONNECT',
  'PRI',
  'PROPFIND',
  'M-SEARCH',
  'get',
  'GeT',
  'G ET',
  'POST\u0000',
  'X'.repeat(40),
  '',
]
const ODD_VERSIONS = ['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'http/1.1', 'HTTP/1.10', '']
const NOT_HTTP = [
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003',
  '\r\n\r\n\r\n',
  '',
  'GET\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\n',
]

/** Request targets no server should choke on: the review's findings and their relatives. */
export const HOSTILE_TARGETS = [
  '//a:-1',
  '//[',
  '//%zz',
  'http://:99999/',
  'http://listener/checkin',
  'https://x/',
  '*',
  'a:1',
  '?',
  '/?',
  '/#x',
  '/?%zz',
  '/?a=%',
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2fetc%2fpasswd',
  '/.%2e/',
  '/%5c..%5c..%5cwindows',
  '/a/./b',
  '/a/../../b',
  '/%00',
  '/%0a',
  '/%0d%0a2025-01-01T00:00:00.000Z%20midwife%20info%20forged',
  '/%ff',
  '/%e2%80%a8',
  '/%c0%ae%c0%ae/',
  '/%',
  '/%2',
  '/%g0',
  '/%%30',
  '/%u2028',
  `/${'a'.repeat(3000)}`,
  `/${'b'.repeat(20_000)}`,
  `/?${'x=1&'.repeat(800)}`,
  '/\u0001',
  '/\u007f',
  '/\u00e9',
  '/a b',
  '/a\tb',
  '/\u2028',
  '/\\..\\..\\',
  '/ks/',
  '/c/',
  '/api/',
  '/api/__proto__',
  '/api/constructor',
]

/** JSON (and not quite JSON) bodies: invalid, deep, wrong types, prototype keys, huge numbers. */
export const HOSTILE_JSON = [
  '',
  '{',
  'x\n2025-01-01T00:00:00.000Z midwife info forged',
  '{"token":',
  'null',
  'true',
  '1',
  '"str"',
  '[]',
  '{}',
  '{"token":1}',
  '{"token":["x"]}',
  '{"token":null}',
  '{"token":{}}',
  '{"token":""}',
  '{"token":1e999}',
  '{"token":123456789012345678901234567890}',
  '{"n":-0}',
  'NaN',
  '{"a":Infinity}',
  '{"__proto__":{"token":"x"}}',
  '{"__proto__":{"accepted":true,"args":[1]}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"enrollment":7}',
  '{"enrollment":"k"}',
  '\ufeff{"token":"x"}',
  '{"token":"a","token":"b"}',
  '{"args":null}',
  '{"args":"str"}',
  '{"args":{"0":1,"length":1}}',
  '{"args":[{"__proto__":{"id":1}}]}',
  '{"args":[1e308]}',
  '{"args":[9007199254740993]}',
  `{"args":["' OR 1=1 --"]}`,
  '{"args":[-1]}',
  '{"args":[null]}',
  '{"args":[{}]}',
  '{"args":[[[[[]]]]]}',
  `${'['.repeat(100)}${']'.repeat(100)}`,
  `${'['.repeat(30_000)}${']'.repeat(30_000)}`,
  `${'['.repeat(40_000)}${']'.repeat(40_000)}`,
  `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
  `{"args":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
  'x'.repeat(70_000),
]

/** Headers a well-behaved client might send, in combinations it would not. */
const EXTRA_HEADERS = [
  'Content-Type: application/json',
  'Content-Type: text/plain',
  'Expect: 100-continue',
  'Connection: keep-alive',
  'Connection: close',
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Upgrade: h2c',
  'X-Forwarded-For: 10.9.9.9',
  'Cookie: =;;=',
  'Origin: null',
  'Origin: http://evil.example',
  'Accept-Encoding: gzip',
  'Range: bytes=0-1',
]

/** Headers no parser should accept. */
const BAD_HEADERS = [
  ' folded: continuation',
  'NoColonHeader',
  'Bad Header: x',
  'X: \u0001',
  `X-Long: ${'v'.repeat(17_000)}`,
  'Expect: nonsense',
  'Host: a\r\nHost: b',
  `Host: ${'h'.repeat(5_000)}`,
  'Content-Type: application/json; charset=utf-7',
]

function chunk(body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${body.length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ])
}

/** A body framed well: by its length mostly, sometimes chunked. */
function wellFramed(rng: Rng, body: Buffer): { lines: string[]; payload: Buffer } {
  return rng.chance(0.8)
    ? { lines: [`Content-Length: ${body.length}`], payload: body }
    : { lines: ['Transfer-Encoding: chunked'], payload: chunk(body) }
}

/** A body framed badly: missing, short, long, conflicting or nonsense lengths and codings. */
function badlyFramed(rng: Rng, body: Buffer): { lines: string[]; payload: Buffer } {
  const n = body.length
  const cl = (v: string | number) => ({ lines: [`Content-Length: ${v}`], payload: body })
  switch (rng.int(9)) {
    case 0:
      return { lines: [], payload: body }
    case 1:
      return {
        lines: ['Transfer-Encoding: chunked'],
        payload: Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]),
      }
    case 2:
      return cl(n + 10)
    case 3:
      return cl(Math.max(0, n - 3))
    case 4:
      return cl(rng.pick(['-1', '99999999999999999999', '1e3', 'abc', `${n}, ${n}`, `+${n}`, '']))
    case 5:
      return { lines: [`Content-Length: ${n}`, `Content-Length: ${n + 1}`], payload: body }
    case 6:
      return { lines: [`Content-Length: ${n}`, 'Transfer-Encoding: chunked'], payload: chunk(body) }
    case 7:
      return {
        lines: ['Transfer-Encoding: chunked'],
        payload: Buffer.from(`${'f'.repeat(20)}\r\n`),
      }
    default: {
      const te = rng.pick(['gzip, chunked', 'chunked, gzip', 'xchunked', ' chunked', 'identity'])
      return { lines: [`Transfer-Encoding: ${te}`], payload: chunk(body) }
    }
  }
}

export interface FuzzShape {
  /** Targets this server serves or nearly serves. */
  targets: readonly string[]
  /** Headers this server cares about (Host, credentials), drawn per request. */
  headers: (rng: Rng) => string[]
  /** Bodies this server parses, beside HOSTILE_JSON. */
  bodies: readonly string[]
}

const FLAWS = [
  'target',
  'target',
  'body',
  'body',
  'shape',
  'shape',
  'framing',
  'header',
  'method',
  'version',
] as const

/**
 * One hostile request as raw bytes, drawn from `rng`: well-formed but for one
 * flaw (a target, a body, the framing, a header, the method or the version),
 * so each flaw reaches the layer meant to refuse it instead of the first
 * check in the way. "shape" keeps the request well-formed and sends one of
 * the server's own hostile bodies or targets.
 */
export function hostileRequest(rng: Rng, shape: FuzzShape): Buffer {
  const roll = rng.int(100)
  if (roll < 2) return rng.bytes(rng.int(300))
  if (roll < 4) return Buffer.from(rng.pick(NOT_HTTP), 'latin1')

  const flaw = rng.pick(FLAWS)
  const method =
    flaw === 'method' ? rng.pick(ODD_METHODS) : rng.pick(['GET', 'POST', 'POST', 'HEAD'])
  const target =
    flaw !== 'target'
      ? rng.pick(shape.targets)
      : rng.chance(0.6)
        ? rng.pick(HOSTILE_TARGETS)
        : `/${rng.text(rng.int(60), 'abcKS/%.?#&=-_~09\\zZ')}`
  const version = flaw === 'version' ? rng.pick(ODD_VERSIONS) : 'HTTP/1.1'
  const body =
    flaw !== 'body'
      ? Buffer.from(rng.pick(shape.bodies), 'utf8')
      : rng.chance(0.8)
        ? Buffer.from(rng.pick(HOSTILE_JSON), 'utf8')
        : rng.bytes(rng.int(2000))
  const { lines, payload } = flaw === 'framing' ? badlyFramed(rng, body) : wellFramed(rng, body)
  const extras = Array.from({ length: rng.int(3) }, () => rng.pick(EXTRA_HEADERS))
  if (flaw === 'header') extras.push(rng.pick(BAD_HEADERS))
  const head = [`${method} ${target} ${version}`, ...shape.headers(rng), ...lines, ...extras]
  const pipelined = rng.chance(0.05) ? 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' : ''
  return Buffer.concat([
    Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'),
    payload,
    Buffer.from(pipelined),
  ])
}

export interface FuzzResult {
  /** How many answers had each status. */
  statuses: Map<number, number>
  /** How many answers began with each "<status> <first 80 characters of the body>". */
  answers: Map<string, number>
  /** Every request answered with a 5xx, with its answer. */
  fiveHundreds: Array<{ request: string; reply: string }>
}

/** Fires `count` (10,000) hostile requests, `concurrency` (16) at a time, and tallies the answers. */
export async function fuzz(
  port: number,
  opts: { seed: number; shape: FuzzShape; count?: number; concurrency?: number },
): Promise<FuzzResult> {
  const { count = 10_000, concurrency = 16 } = opts
  const rng = seeded(opts.seed)
  // Drawn up front, in order, so the run is the same whatever order replies come back in.
  const requests = Array.from({ length: count }, () => hostileRequest(rng, opts.shape))
  const result: FuzzResult = { statuses: new Map(), answers: new Map(), fiveHundreds: [] }
  const tally = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1)
  await bounded(count, concurrency, async (i) => {
    const req = requests[i] as Buffer
    const reply = await exchange(port, req)
    for (const s of reply.statuses) tally(result.statuses, s)
    // The status and the start of the body, past a chunk-size line if there is one.
    const first = /^HTTP\/1\.1 (\d{3}) [^]*?\r\n\r\n(?:[0-9a-f]+\r\n)?([^]{0,80})/.exec(reply.text)
    if (first) tally(result.answers, `${first[1]} ${first[2]}`)
    if (reply.statuses.some((s) => s >= 500)) {
      result.fiveHundreds.push({
        request: req.subarray(0, 300).toString('latin1'),
        reply: reply.text.slice(0, 300),
      })
    }
  })
  return result
}

/**
 * No answer was a 5xx (the seed replays a failure), and more than ten answers
 * began with each prefix ("400 malformed JSON"): proof the fuzz reached the
 * layer that writes it rather than stopping at the first check in the way.
 */
export function expectFuzzOutcome(result: FuzzResult, seed: number, reached: string[]): void {
  expect(result.fiveHundreds, `seed ${seed}`).toEqual([])
  for (const prefix of reached) {
    let n = 0
    for (const [k, v] of result.answers) if (k.startsWith(prefix)) n += v
    expect(n, prefix).toBeGreaterThan(10)
  }
}

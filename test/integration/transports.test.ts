// Both transports carry the same contract: the IPC binding (real binding +
// real preload API over an in-process ipcMain stand-in) and serve mode (real
// HTTP + WebSocket on loopback) must expose the same methods, validate the
// same way, and return the same results from the same core.
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createClient, methodNames, type Api, type MethodName } from '../../main/contract/api'
import { bindIpc, forwardEvents, type IpcMainLike } from '../../main/electron/ipc'
import { buildPreloadApi } from '../../main/electron/preload-api'
import { startServe, type RunningServe } from '../../main/serve/server'
import { repoRoot, sampleHost, startTestApp, type TestApp } from '../support/app'

let t: TestApp
let serve: RunningServe
let ipcApi: Api
let preloadKeys: string[]
let httpApi: Api
const ipcEvents: Array<[string, unknown]> = []

beforeAll(async () => {
  t = await startTestApp()

  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>()
  const ipcMain: IpcMainLike = {
    handle: (c, fn) => void handlers.set(c, fn as never),
    removeHandler: (c) => void handlers.delete(c),
  }
  bindIpc(ipcMain, t.app, (url) => url === 'file:///app/index.html')
  forwardEvents(t.app.events, (channel, payload) => ipcEvents.push([channel, payload]))
  const preload = buildPreloadApi({
    invoke: (channel, args) =>
      Promise.resolve(
        handlers.get(channel)?.({ senderFrame: { url: 'file:///app/index.html' } }, args),
      ),
    on: () => undefined,
    removeListener: () => undefined,
  })
  preloadKeys = Object.keys(preload)
  ipcApi = createClient((name, args) => preload[name](...args))

  serve = await startServe({
    handlers: t.app,
    events: t.app.events,
    staticDir: join(repoRoot, 'renderer'),
    logger: t.logger,
  })
  const base = `http://127.0.0.1:${serve.port}`
  httpApi = createClient(async (name, args) => {
    const res = await fetch(`${base}/api/${name}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${serve.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ args }),
    })
    return res.json()
  })
})

afterAll(async () => {
  await serve.close()
  await t.close()
})

async function outcome(p: Promise<unknown>) {
  try {
    return { ok: await p }
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: string }).code }
  }
}

describe('one contract, two transports', () => {
  it('both expose exactly the contract methods', async () => {
    expect(preloadKeys.filter((k) => k !== 'onEvent').sort()).toEqual([...methodNames].sort())
    // Every method has an HTTP route (an unknown one answers unknown_method).
    for (const name of methodNames) {
      const res = await fetch(`http://127.0.0.1:${serve.port}/api/${name}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${serve.token}` },
        body: JSON.stringify({ args: ['not', 'valid', 'args'] }),
      })
      const reply = (await res.json()) as { error?: { code: string } }
      expect(reply.error?.code, name).toBe('invalid')
    }
    const unknown = await fetch(`http://127.0.0.1:${serve.port}/api/dropTables`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${serve.token}` },
      body: '{}',
    })
    expect(await unknown.json()).toEqual({
      ok: false,
      error: { code: 'unknown_method', message: 'unknown method "dropTables"' },
    })
  })

  it('give the same answers and the same errors for the same calls', async () => {
    const host = await ipcApi.saveHost(sampleHost)
    const calls: Array<[MethodName, unknown[]]> = [
      ['listHosts', []],
      ['getSettings', []],
      ['getBootMaterial', [host.id]],
      ['getBootMaterial', [host.id, { kinds: ['iso', 'one-liner'] }]],
      ['getBootMaterial', [host.id, { kinds: ['floppy'] }]],
      ['getBootMaterial', [9999]],
      ['getDiscoveryMaterial', [{ kinds: ['enrollment'] }]],
      ['checkMediaLibrary', []],
      ['exportTftpBundle', [{ hostId: 9999 }]],
      ['saveHost', [{ ...sampleHost, mac: 'nonsense' }]],
      ['saveHost', [sampleHost]],
      ['listCheckins', [host.id]],
      ['approveHost', [host.id]],
      ['approveHost', [host.id, 'no-such-plan']],
      ['planHost', [host.id]],
      ['planHost', [42]],
      ['trustReported', [host.id, { confirm: false }]],
      ['getRun', [1]],
    ]
    for (const [name, args] of calls) {
      const viaIpc = await outcome((ipcApi[name] as (...a: unknown[]) => Promise<unknown>)(...args))
      const viaHttp = await outcome(
        (httpApi[name] as (...a: unknown[]) => Promise<unknown>)(...args),
      )
      if (name === 'getBootMaterial' && 'ok' in viaIpc) {
        // The rootpw hash is salted afresh each time; everything else must match.
        const strip = (m: unknown) => JSON.stringify(m).replace(/\$6\$[^\\" \n]+/g, '$6$…')
        expect(strip(viaHttp.ok), name).toBe(strip(viaIpc.ok))
      } else {
        expect(viaHttp, `${name}(${JSON.stringify(args)})`).toEqual(viaIpc)
      }
    }
    expect(await outcome(ipcApi.saveHost({ ...sampleHost, mac: 'nonsense' }))).toEqual({
      error: 'mac: must be a MAC address like aa:bb:cc:dd:ee:ff',
      code: 'invalid',
    })
    expect(await outcome(httpApi.saveHost(sampleHost))).toEqual({
      error: 'MAC 00:50:56:aa:bb:01 is already used by host esx01',
      code: 'conflict',
    })
  })

  it('deliver the same events', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/events`, {
      headers: { Authorization: `Bearer ${serve.token}` },
    })
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const received = new Promise<unknown>((resolve) =>
      ws.on('message', (m: Buffer) => resolve(JSON.parse(m.toString()))),
    )
    ipcEvents.length = 0
    const host = await httpApi.saveHost({
      ...sampleHost,
      hostname: 'esx02',
      mac: '00:50:56:aa:bb:02',
    })
    const viaWs = (await received) as { event: string; payload: unknown }
    ws.close()
    // One host, not the whole list.
    expect(viaWs.event).toBe('host.changed')
    expect(ipcEvents).toEqual([['event:host.changed', viaWs.payload]])
    expect(viaWs.payload).toMatchObject({ id: host.id, state: 'defined' })
  })
})

describe('serve mode access', () => {
  const url = (path: string) => `http://127.0.0.1:${serve.port}${path}`

  it('refuses API calls without the session token', async () => {
    expect((await fetch(url('/api/listHosts'), { method: 'POST', body: '{}' })).status).toBe(401)
    const wrong = { Authorization: 'Bearer wrong' }
    expect(
      (await fetch(url('/api/listHosts'), { method: 'POST', headers: wrong, body: '{}' })).status,
    ).toBe(401)
  })

  it('sets no cookie: a 127.0.0.1 cookie would reach every other port of 127.0.0.1', async () => {
    // The page is public (no data in it) and reads the token from its own address.
    const page = await fetch(url(`/?token=${serve.token}`), { redirect: 'manual' })
    expect(page.status).toBe(200)
    expect(page.headers.get('set-cookie')).toBeNull()
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(page.headers.get('referrer-policy')).toBe('no-referrer')
    // A cookie holding the token opens nothing.
    const cookie = { Cookie: `midwife_session_${serve.port}=${serve.token}` }
    expect(
      (await fetch(url('/api/listHosts'), { method: 'POST', headers: cookie, body: '{}' })).status,
    ).toBe(401)
  })

  it('refuses a foreign Host header and a cross-origin API call', async () => {
    const auth = { Authorization: `Bearer ${serve.token}` }
    // fetch() will not send a forged Host header; a raw request will, as a rebinding page would.
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = request(
        url('/api/listHosts'),
        { method: 'POST', headers: { ...auth, Host: `evil.example:${serve.port}` } },
        (res) => resolve(res.statusCode ?? 0),
      )
      req.on('error', reject)
      req.end('{}')
    })
    expect(rebinding).toBe(421)
    const cross = await fetch(url('/api/listHosts'), {
      method: 'POST',
      headers: { ...auth, Origin: 'http://evil.example' },
      body: '{}',
    })
    expect(cross.status).toBe(403)
  })

  it('opens the event stream with the token offered as a subprotocol, as a browser page does', async () => {
    const open = (protocols: string[]) =>
      new Promise<string | null>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/events`, protocols)
        ws.once('open', () => {
          resolve(ws.protocol)
          ws.close()
        })
        ws.once('error', () => resolve(null))
      })
    // Answered with the page's protocol: the token is never echoed back.
    expect(await open(['midwife', `midwife.token.${serve.token}`])).toBe('midwife')
    expect(await open(['midwife', 'midwife.token.wrong'])).toBeNull()
    expect(await open([`midwife.token.${serve.token}`])).toBeNull()
  })

  it('refuses an event stream without the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/events`)
    const failed = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(false))
      ws.once('error', () => resolve(true))
    })
    expect(failed).toBe(true)
  })

  it('will not listen beyond loopback', async () => {
    await expect(
      startServe({
        handlers: t.app,
        events: t.app.events,
        staticDir: '.',
        host: '0.0.0.0',
        logger: t.logger,
      }),
    ).rejects.toThrow('serve mode listens on loopback only')
  })
})

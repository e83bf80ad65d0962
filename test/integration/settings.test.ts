// Site settings move the real listener; a move that cannot happen changes nothing.
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../main/contract/api'
import { artifactText, freePort, sampleHost, startTestApp, type TestApp } from '../support/app'

let t: TestApp | undefined
let blocker: Server | undefined

afterEach(async () => {
  blocker?.close()
  await t?.close()
  t = blocker = undefined
})

const base = { listenerHost: '127.0.0.1', advertisedAddress: '', mediaBaseUrl: '' }

describe('site settings', () => {
  it('moves the listener to a new port, and boot material follows', async () => {
    t = await startTestApp({ listenFromSettings: true })
    const port = await freePort()
    await t.app.saveSettings({ ...base, listenerPort: port })
    expect(t.app.getStatus().listener).toMatchObject({
      listening: true,
      address: `127.0.0.1:${port}`,
      advertisedUrl: `http://127.0.0.1:${port}`,
      fixedByCommandLine: false,
    })
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200)

    await t.app.saveSettings({ ...base, listenerPort: port, advertisedAddress: '10.1.2.3' })
    const host = t.app.saveHost(sampleHost)
    const m = t.app.getBootMaterial(host.id)
    expect(m.kickstartUrl).toMatch(new RegExp(`^http://10\\.1\\.2\\.3:${port}/ks/`))
    expect(artifactText(m, 'one-liner')).toContain(`wget -qO- http://10.1.2.3:${port}/c/`)
    expect(artifactText(m, 'iso')).toMatch(new RegExp(`^ks=http://10\\.1\\.2\\.3:${port}/ks/`))
    // 10.1.2.3 is not this machine's: the linter says so, and how to fix it.
    expect(m.findings.map((f) => f.code)).toContain('advertised-not-local')
  })

  it('says network boot needs an IP literal when the listener is advertised by name', async () => {
    t = await startTestApp({ listenFromSettings: true })
    const port = t.app.getSettings().listenerPort
    await t.app.saveSettings({
      ...base,
      listenerPort: port,
      advertisedAddress: 'midwife.lab.local',
    })
    const host = t.app.saveHost(sampleHost)
    const m = t.app.getBootMaterial(host.id)
    expect(m.findings).toEqual([
      {
        code: 'advertised-name',
        severity: 'error',
        where: null,
        message: expect.stringContaining('the installer may have no DNS') as unknown,
      },
    ])
    expect(m.kinds).toEqual([])
    // The kickstart still works, without the install callbacks it cannot address.
    const ks = artifactText(m, 'kickstart')
    expect(ks).toContain('# No install callbacks: the listener is advertised by name')
    expect(ks).not.toMatch(/^%pre/m)
    const res = await fetch(`http://127.0.0.1:${port}/boot/boot.cfg`)
    expect(res.status).toBe(404)
    expect(await res.text()).toContain('the installer may have no DNS')
  })

  it('refuses a port that is taken, keeping the running listener and the saved settings', async () => {
    t = await startTestApp({ listenFromSettings: true })
    const port = await freePort()
    await t.app.saveSettings({ ...base, listenerPort: port })
    const taken = await freePort()
    blocker = createServer().listen(taken, '127.0.0.1')
    await new Promise((r) => blocker?.once('listening', r))

    const reply = await dispatch(t.app, 'saveSettings', [{ ...base, listenerPort: taken }])
    expect(reply).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message: expect.stringMatching(
          `^cannot listen on 127.0.0.1:${taken}: .*EADDRINUSE`,
        ) as unknown,
      },
    })
    expect(t.app.getSettings().listenerPort).toBe(port)
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200)
  })

  it('keeps what a save leaves out: the boot settings and the run concurrency', async () => {
    t = await startTestApp()
    const port = t.app.getSettings().listenerPort
    await t.app.saveSettings({
      ...t.app.getSettings(),
      runConcurrency: 7,
      boot: { ...t.app.getSettings().boot, tftpBootDir: 'esxi-lab' },
    })
    // The Site screen sends only what it shows.
    const saved = await t.app.saveSettings({ ...base, listenerPort: port, autoMatch: true })
    expect(saved).toMatchObject({ runConcurrency: 7, autoMatch: true })
    expect(saved.boot.tftpBootDir).toBe('esxi-lab')
    expect(t.app.getSettings().runConcurrency).toBe(7)
  })

  it('refuses malformed addresses with a message per field', async () => {
    t = await startTestApp()
    const reply = await dispatch(t.app, 'saveSettings', [
      {
        listenerHost: 'not an address',
        listenerPort: 0,
        advertisedAddress: 'http://10.0.0.5',
        mediaBaseUrl: 'pxe/esxi',
      },
    ])
    expect(reply.ok).toBe(false)
    const message = reply.ok ? '' : reply.error.message
    expect(message).toContain(
      'listenerHost: must be an IPv4 address of this machine, 0.0.0.0, or a host name',
    )
    expect(message).toContain('listenerPort: must be a port from 1 to 65535')
    expect(message).toContain('advertisedAddress: must be host or host:port')
    expect(message).toContain('mediaBaseUrl: must be an http:// or https:// URL')
  })

  it('keeps a --listen address for the run, and says so', async () => {
    t = await startTestApp()
    const address = t.app.getStatus().listener.address
    await t.app.saveSettings({ ...base, listenerPort: 9 })
    expect(t.app.getStatus().listener).toMatchObject({ address, fixedByCommandLine: true })
    expect(t.app.getSettings().listenerPort).toBe(9)
  })
})

describe('site profile impact', () => {
  it('names the defined hosts a profile change reaches, not a retired one', async () => {
    t = await startTestApp()
    const kept = t.app.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
    const retired = t.app.saveHost({
      ...sampleHost,
      hostname: 'esx02',
      mac: '00:50:56:aa:bb:02',
    })
    t.app.retireHost(retired.id)
    const impact = t.app.previewProfile({ spec: { dnsSearch: ['lab.local'] } })
    expect(impact.changes.map((c) => [c.hostId, c.keys])).toEqual([[kept.id, ['dnsSearch']]])
    expect(t.app.saveProfile({ spec: { dnsSearch: ['lab.local'] } }).changes).toHaveLength(1)
  })
})

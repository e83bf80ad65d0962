// crypt() is slow on purpose (5,000 rounds of SHA-512): a rack fetching its
// kickstarts together must not pay it once per request.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type * as unixcrypt from 'unixcrypt'
import { encrypt } from 'unixcrypt'
import { hostToken, sampleHost, startTestApp, type TestApp } from '../support/app'

vi.mock('unixcrypt', async (original) => {
  const real = await original<typeof unixcrypt>()
  return { ...real, encrypt: vi.fn(real.encrypt) }
})

const cleanup: TestApp[] = []
afterEach(async () => {
  for (const t of cleanup.splice(0)) await t.close()
  vi.mocked(encrypt).mockClear()
})

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url)
  expect(res.status, url).toBe(200)
  return res.text()
}

describe('the kickstart password hash', () => {
  it('is computed once per password, not per request', async () => {
    const t = await startTestApp()
    cleanup.push(t)
    vi.mocked(encrypt).mockClear()
    // The boot-material screen (which hostToken reads) and every kickstart request share it.
    const host = t.app.saveHost(sampleHost)
    const url = `${t.listenerUrl}/ks/${hostToken(t.app, host.id)}.cfg`
    const first = await fetchText(url)
    const again = await Promise.all([fetchText(url), fetchText(url), fetchText(url)])
    expect(again).toEqual([first, first, first])
    expect(encrypt).toHaveBeenCalledTimes(1)
    // The cache holds the hash, never the password: a new password gets a new hash.
    t.app.saveHost({ ...sampleHost, id: host.id, rootPassword: 'An0ther!password' })
    const rotated = await fetchText(url)
    expect(rotated).not.toEqual(first)
    expect(encrypt).toHaveBeenCalledTimes(2)
  })

  it('of the generic kickstart too', async () => {
    const t = await startTestApp()
    cleanup.push(t)
    vi.mocked(encrypt).mockClear()
    await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw' })
    const url = t.app.getDiscoveryMaterial().kickstartUrl
    const first = await fetchText(url)
    expect(await fetchText(url)).toBe(first)
    expect(t.app.getDiscoveryMaterial().kickstart).toBe(first)
    expect(encrypt).toHaveBeenCalledTimes(1)
  })
})

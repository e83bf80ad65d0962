// secret.key lost (or the database copied without it): Midwife makes a new key at start, says
// at once how many stored secrets it cannot open and what to do, names the secret wherever one
// is needed, and answers a server's request for a file that needs one with 503, not 500.
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { App } from '../../main/core/app'
import { keychainSecretBox } from '../../main/electron/secret-box'
import {
  hostToken,
  memoryLogger,
  repoRoot,
  sampleHost,
  startTestApp,
  tempDir,
} from '../support/app'

const started: App[] = []
const dirs: { remove: () => void }[] = []
afterEach(async () => {
  for (const app of started.splice(0)) await app.stop()
  for (const d of dirs.splice(0)) d.remove()
})

async function restart(dataDir: string) {
  const logger = memoryLogger()
  const app = await App.start({
    dataDir,
    resourcesDir: join(repoRoot, 'resources'),
    version: 'test',
    logger,
    listen: { host: '127.0.0.1', port: 0 },
  })
  started.push(app)
  return { app, logger }
}

/** A site with a discovery password and one host, stopped; its folder is kept. */
async function definedSite() {
  const t = await startTestApp()
  expect(t.app.getStatus().secretWarning).toBeNull()
  await t.app.saveSettings({ ...t.app.getSettings(), discoveryRootPassword: 'Disc0very!pw-123' })
  t.app.saveProfile({ spec: { licence: 'AB12C-3DE45-F6G7H-8JK9L-0MN1P' } })
  const host = t.app.saveHost({
    ...sampleHost,
    mac: '00:50:56:aa:bb:01',
    spec: { ...sampleHost.spec, licence: 'ZZ12C-3DE45-F6G7H-8JK9L-0MN1P' },
  })
  const token = hostToken(t.app, host.id)
  await t.app.stop()
  const keep = tempDir('old-key')
  dirs.push(keep, { remove: () => rmSync(t.dataDir, { recursive: true, force: true }) })
  copyFileSync(join(t.dataDir, 'secret.key'), join(keep.path, 'secret.key'))
  rmSync(join(t.dataDir, 'secret.key'))
  return { dataDir: t.dataDir, hostId: host.id, token, oldKey: join(keep.path, 'secret.key') }
}

it('says at start how many secrets the new key cannot open, and what to do', async () => {
  const site = await definedSite()
  const { app, logger } = await restart(site.dataDir)
  // The root password, the token, the enrollment key, the discovery password, and the licence
  // keys of the host and of the profile.
  const warning = app.getStatus().secretWarning
  expect(warning).toContain(
    `secret.key was missing from ${site.dataDir}, so Midwife made a new one, but 6 stored secrets were sealed with the old key`,
  )
  expect(warning).toContain('under Profile, enter the licence key again if it has one')
  expect(warning).toContain('its own licence key if it has one')
  expect(warning).toContain('put the old secret.key back in its place and start Midwife again')
  expect(logger.lines).toContain(`warn ${warning}`)
})

it('names the secret it cannot open, and answers a server 503 with Retry-After, not 500', async () => {
  const site = await definedSite()
  const { app, logger } = await restart(site.dataDir)
  expect(() => app.getBootMaterial(site.hostId)).toThrow(
    /^the deployment token of esx01\.lab\.local cannot be opened: it was sealed with another key than this data folder’s .*secret\.key\. Put the secret\.key it was sealed with back in its place and restart Midwife, or use Reinstall on the Hosts step to give the host a new token$/,
  )
  const url = app.listenerUrl()
  for (const path of [`/ks/${site.token}.cfg`, '/boot/01-00-50-56-aa-bb-01/boot.cfg']) {
    const r = await fetch(url + path)
    expect(r.status, path).toBe(503)
    expect(r.headers.get('retry-after')).toBe('60')
    const body = await r.text()
    expect(body).toContain('Midwife cannot open a stored secret this answer needs')
    expect(body).not.toContain(site.token)
  }
  const errors = logger.lines.filter((l) => l.startsWith('error '))
  expect(errors).toHaveLength(2)
  expect(errors[0]).toMatch(
    /^error \/ks\/\*\*\*\.cfg from 127\.0\.0\.1: the root password of esx01\.lab\.local cannot be opened/,
  )
  expect(errors[1]).toMatch(/the deployment token of esx01\.lab\.local cannot be opened/)
  expect(logger.lines.join('\n')).not.toContain(site.token)
})

it('works again, nothing lost, once the old secret.key is back', async () => {
  const site = await definedSite()
  const first = await restart(site.dataDir)
  await first.app.stop()
  started.splice(0)
  // The key made meanwhile sealed nothing the old one needs: put back, all opens again.
  copyFileSync(site.oldKey, join(site.dataDir, 'secret.key'))
  const { app, logger } = await restart(site.dataDir)
  expect(app.getStatus().secretWarning).toBeNull()
  expect(hostToken(app, site.hostId)).toBe(site.token)
  const r = await fetch(`${app.listenerUrl()}/ks/${site.token}.cfg`)
  expect(r.status).toBe(200)
  expect(logger.lines.filter((l) => l.startsWith('warn ') || l.startsWith('error '))).toEqual([])
})

it('works again with the secrets entered again, a new enrollment key and a new token', async () => {
  const site = await definedSite()
  const { app } = await restart(site.dataDir)
  // What the warning says to do, in its order. A new enrollment key is made and shown, with the
  // discovery password that cannot be opened said beside it, not in place of it.
  const rotated = app.rotateEnrollmentKey()
  expect(rotated.kickstart).toBeNull()
  expect(rotated.warnings).toContainEqual(
    expect.stringMatching(
      /^the site’s discovery root password cannot be opened: .* or enter it again under Site\. Until then the generic kickstart is not served\.$/,
    ),
  )
  await app.saveSettings({ ...app.getSettings(), discoveryRootPassword: 'Disc0very!pw-456' })
  app.saveHost({ ...sampleHost, id: site.hostId, rootPassword: 'N3w-Secr3t!pw-2345' })
  app.reinstallHost(site.hostId)
  const token = hostToken(app, site.hostId)
  expect(token).not.toBe(site.token)
  const ks = await fetch(`${app.listenerUrl()}/ks/${token}.cfg`)
  expect(ks.status).toBe(200)
  expect(await ks.text()).toMatch(/rootpw --iscrypted \$6\$/)
  // The old token is retired: 410, as after any Reinstall.
  expect((await fetch(`${app.listenerUrl()}/ks/${site.token}.cfg`)).status).toBe(410)
  const discovery = app.getDiscoveryMaterial()
  expect(discovery.kickstart).toMatch(/rootpw --iscrypted \$6\$/)
})

it('blames a missing secret.key only for what it sealed, not for what a keychain sealed', async () => {
  // The desktop app's box, over a stand-in for Electron's safeStorage (the Electron boundary).
  const keychain = (opens: boolean) => (dataDir: string) =>
    keychainSecretBox(
      {
        isEncryptionAvailable: () => true,
        getSelectedStorageBackend: () => 'gnome_libsecret',
        encryptString: (s: string) => Buffer.from(s).map((b) => b ^ 0x5a),
        decryptString: (b: Buffer) => {
          if (!opens) throw new Error('Error while decrypting the ciphertext')
          return Buffer.from(b.map((x) => x ^ 0x5a)).toString()
        },
      } as never,
      join(dataDir, 'secret.key'),
    )
  const t = await startTestApp({ secrets: keychain(true) })
  t.app.saveProfile({ spec: { licence: 'AB12C-3DE45-F6G7H-8JK9L-0MN1P' } })
  const host = t.app.saveHost({
    ...sampleHost,
    mac: '00:50:56:aa:bb:01',
    spec: { ...sampleHost.spec, licence: 'ZZ12C-3DE45-F6G7H-8JK9L-0MN1P' },
  })
  await t.app.stop()
  dirs.push({ remove: () => rmSync(t.dataDir, { recursive: true, force: true }) })
  rmSync(join(t.dataDir, 'secret.key'))
  // Another machine's keychain: nothing here was the key file's, so it is not named.
  const app = await App.start({
    dataDir: t.dataDir,
    resourcesDir: join(repoRoot, 'resources'),
    version: 'test',
    logger: memoryLogger(),
    listen: { host: '127.0.0.1', port: 0 },
    secrets: keychain(false),
  })
  started.push(app)
  expect(app.getStatus().secretWarning).toBeNull()
  expect(() => app.getBootMaterial(host.id)).toThrow(
    /cannot be opened: the OS keychain cannot open it: it was sealed by another user’s or machine’s keychain/,
  )
})

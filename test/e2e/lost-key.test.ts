// A data folder whose secret.key went missing (the database copied without it): the real
// `midwife serve` started on it again, in Debian's Chromium. The Site step says what cannot be
// opened and what to do; Boot material names the secret it needs; a new enrollment key is
// made and shown there, with what still cannot be opened beside it.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
const data = tempDir('e2e-lost-key')
const DISCOVERY = 'Disc0very!pw-123'

beforeAll(async () => {
  const first = await startServeProcess(data.path, ['--port', String(await freePort())])
  await first.api.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
  await first.api.saveSettings({
    ...(await first.api.getSettings()),
    discoveryRootPassword: DISCOVERY,
  })
  first.child.kill('SIGTERM')
  expect(await first.exited).toBe(0)
  rmSync(join(data.path, 'secret.key'))
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  data.remove()
})

const secrets = () => [serve.token, sampleHost.rootPassword, DISCOVERY]

it('says on the Site step, and in the log, what the new key cannot open and what to do', async () => {
  const warning = page.getByTestId('secret-warning')
  await expect.poll(() => warning.count(), { timeout: 15_000 }).toBe(1)
  const text = await warning.innerText()
  expect(text).toMatch(
    /^secret\.key was missing from .*, so Midwife made a new one, but 4 stored secrets were sealed with the old key/,
  )
  expect(text).toContain('make a new enrollment key and enter the discovery root password again')
  expect(await warning.getAttribute('role')).toBe('alert')
  expect(serve.output()).toContain(text)
  // The enrollment key cannot be shown: why, where it would be; the password is stored, unopened.
  const site = page.getByRole('form', { name: 'Site settings' })
  await expect
    .poll(() => site.getByRole('alert').filter({ hasText: 'enrollment key' }).count())
    .toBe(1)
  expect(await site.getByRole('alert').filter({ hasText: 'enrollment key' }).innerText()).toMatch(
    /^the site’s enrollment key cannot be opened: .* or make a new key under Site/,
  )
  // Not "not set": whether one is stored is not known until the material can be read.
  expect(await site.getByLabel('Discovery root password').getAttribute('placeholder')).toBe('…')
  await browser.screenshot('lost-key-0-site', secrets())
})

it('names the token Boot material needs, and shows a new enrollment key once made', async () => {
  await page
    .getByRole('navigation', { name: 'Steps' })
    .getByRole('button', { name: /Boot material/ })
    .click()
  const host = page.getByRole('combobox', { name: 'Host' })
  await expect.poll(() => host.count(), { timeout: 10_000 }).toBe(1)
  await host.selectOption({ label: 'esx01.lab.local' })
  const banner = page.getByRole('alert').filter({ hasText: 'cannot be opened' })
  await expect.poll(() => banner.count(), { timeout: 10_000 }).toBe(1)
  expect(await banner.innerText()).toMatch(
    /the (site’s enrollment key|deployment token of esx01\.lab\.local) cannot be opened: it was sealed with another key/,
  )
  await browser.screenshot('lost-key-1-boot', secrets())

  // Site: a new enrollment key; the discovery password that cannot be opened is said, not thrown.
  await page
    .getByRole('navigation', { name: 'Steps' })
    .getByRole('button', { name: /Site/ })
    .click()
  page.once('dialog', (d) => void d.accept())
  await page.getByRole('button', { name: 'Make a new key…' }).click()
  await expect
    .poll(() => page.getByTestId('enrollment-key').innerText(), { timeout: 10_000 })
    .toMatch(/PBHOST=/)
  expect((await serve.api.getDiscoveryMaterial()).warnings.join('\n')).toContain(
    'the site’s discovery root password cannot be opened',
  )
  const site = page.getByRole('form', { name: 'Site settings' })
  expect(await site.getByRole('alert').filter({ hasText: 'enrollment key' }).count()).toBe(0)
  await expect
    .poll(() => site.getByLabel('Discovery root password').getAttribute('placeholder'))
    .toBe('stored, cannot be opened: enter it again')
  await browser.screenshot('lost-key-2-new-enrollment-key', secrets())
})

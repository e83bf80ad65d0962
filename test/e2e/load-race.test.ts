// The screens' first load races the event stream: the snapshot of the hosts is read, a host
// changes (its event reaches the page at once), and only then does the snapshot land. Held back
// here on purpose, in Debian's Chromium against the real `midwife serve`: the page must end up
// showing the host as it is now, not as the late snapshot had it, without a reload.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Host } from '../../main/contract/schemas'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, type Browser } from '../support/browser'
import { watchEventFrames } from '../support/event-frames'
import { holdAnswer } from '../support/hold-answer'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
let host: Host
const data = tempDir('e2e-load-race')

beforeAll(async () => {
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  host = await serve.api.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  data.remove()
})

it('shows a host as it is now when its change lands before the snapshot read before it', async () => {
  const snapshot = await holdAnswer(page, 'listHostsPage')
  // The change's event, seen arriving on the page's event stream.
  const frames = watchEventFrames(page)
  await page.goto(serve.url)
  await snapshot.read
  const { rootPassword: _pw, ...kept } = sampleHost
  await serve.api.saveHost({ ...kept, id: host.id, hostname: 'esx99', mac: '00:50:56:aa:bb:01' })
  await frames.seen('esx99')
  await snapshot.release()

  await page
    .getByRole('navigation', { name: 'Steps' })
    .getByRole('button', { name: /Hosts/ })
    .click()
  const names = page.locator('[data-host-row] td:first-child')
  await expect.poll(() => names.allInnerTexts(), { timeout: 10_000 }).toEqual(['esx99.lab.local'])
  expect(await page.evaluate('performance.getEntriesByType("navigation").length')).toBe(1)
})

// The Site step's Backup panel in Debian's Chromium against the real `midwife serve`: a relative
// path is refused beside the field, a folder that holds files is refused, and a new folder gets
// the database and secret.key, with what was written and how to restore said.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort, sampleHost, tempDir } from '../support/app'
import { openBrowser, shotsDir, type Browser } from '../support/browser'
import { startServeProcess, type ServeProcess } from '../support/serve-process'

let serve: ServeProcess
let browser: Browser
let page: Page
const data = tempDir('e2e-backup-data')
const out = tempDir('e2e-backup-out')

beforeAll(async () => {
  serve = await startServeProcess(data.path, ['--port', String(await freePort())])
  await serve.api.saveHost({ ...sampleHost, mac: '00:50:56:aa:bb:01' })
  browser = await openBrowser(new URL(serve.url).origin)
  page = browser.page
  await page.goto(serve.url)
})

afterAll(async () => {
  await browser?.close()
  serve?.child.kill('SIGTERM')
  data.remove()
  out.remove()
})

it('refuses a relative path and a folder holding files, then backs up into a new folder', async () => {
  const panel = page.getByRole('form', { name: 'Backup' })
  const folder = panel.getByLabel('Backup folder')
  await expect.poll(() => folder.count(), { timeout: 15_000 }).toBe(1)
  const error = panel.getByRole('alert')

  await folder.fill('midwife-backup')
  await panel.getByRole('button', { name: 'Back up now' }).click()
  await expect.poll(() => error.count(), { timeout: 10_000 }).toBe(1)
  expect(await error.innerText()).toContain('give the full path of the folder')
  expect(await folder.getAttribute('aria-invalid')).toBe('true')

  const busy = join(out.path, 'busy')
  mkdirSync(busy)
  writeFileSync(join(busy, 'notes.txt'), 'mine\n')
  await folder.fill(busy)
  await panel.getByRole('button', { name: 'Back up now' }).click()
  await expect
    .poll(() => error.innerText(), { timeout: 10_000 })
    .toContain('already holds files, and a backup never overwrites one')
  expect(readdirSync(busy)).toEqual(['notes.txt'])

  const fresh = join(out.path, 'midwife-backup')
  await folder.fill(fresh)
  await panel.getByRole('button', { name: 'Back up now' }).click()
  const result = panel.getByTestId('backup-result')
  await expect.poll(() => result.count(), { timeout: 15_000 }).toBe(1)
  const text = await result.innerText()
  expect(text).toContain(`Backed up ${join(data.path, 'midwife.db')}`)
  expect(text).toContain('To restore: stop Midwife')
  expect(await error.count()).toBe(0)
  expect(readdirSync(fresh).sort()).toEqual(['midwife.db', 'secret.key'])
  await browser.screenshot('backup-1-done', [serve.token, sampleHost.rootPassword])
  await panel.screenshot({ path: join(shotsDir, 'backup-1-panel.png') })
})

it('offers no folder dialog in serve mode, where the page may be on another machine', async () => {
  const panel = page.getByRole('form', { name: 'Backup' })
  expect(await panel.getByRole('button', { name: 'Back up now' }).count()).toBe(1)
  expect(await panel.getByRole('button', { name: 'Choose…' }).count()).toBe(0)
  await expect(serve.api.chooseBackupFolder()).rejects.toThrow(
    'serve mode has no folder dialog: type the full path of the backup folder',
  )
})

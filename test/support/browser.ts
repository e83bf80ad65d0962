import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { repoRoot, tempDir } from './app'
import { axe } from './axe'

export const shotsDir = join(repoRoot, 'test-results', 'e2e')

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  context: BrowserContext
  page: Page
  /**
   * Saves a full-page PNG after checking that no secret is visible on the page
   * and that axe-core finds no serious or critical violation in it: every
   * state worth a screenshot is a state an operator sees.
   */
  screenshot(name: string, secrets: string[]): Promise<void>
  close(): Promise<void>
}

/** Debian's Chromium, headless, on a fresh profile. */
export async function openBrowser(origin: string): Promise<Browser> {
  mkdirSync(shotsDir, { recursive: true })
  const profile = tempDir('chromium')
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    async screenshot(name, secrets) {
      const text = await page.locator('body').innerText()
      for (const s of secrets) expect(text, `${name} shows a secret`).not.toContain(s)
      expect(await axe(page, name), `${name}: accessibility violations`).toEqual([])
      await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true })
    },
    async close() {
      await context.close()
      profile.remove()
    },
  }
}
